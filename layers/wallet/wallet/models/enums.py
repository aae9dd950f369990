"""The enumerations' base, free of pydantic like everything a token check needs (wallet.models.roles)."""

from enum import StrEnum
from typing import Any


class CaseInsensitiveEnum(StrEnum):
    """Accepted in any letter case, answered in upper case."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None
