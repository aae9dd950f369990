"""What every model shares: camelCase JSON, identifiers (an account's serial among them) and pages."""

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
# An account's serial, as every domain that names an account takes it.
CoinSerial = Identifier
PageSize = Annotated[int, Field(ge=1, le=100)]


def _iso_instant(value: str) -> str:
    """A real date or date-time ("2026-13-45" is not one), kept as written: entries are keyed by ISO text."""
    datetime.fromisoformat(value)
    return value


# Published as a date-time (RFC 3339, which the API reads); a plain date such as 2026-01-31 is taken too.
Instant = Annotated[str, Field(max_length=40, json_schema_extra={"format": "date-time"}), AfterValidator(_iso_instant)]


def given(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON Schema clause: the field is there and not null (a null counts as not given), and fits `schema`."""
    return {"required": [name], "properties": {name: schema or {"not": {"type": "null"}}}}


# Cached: every model's class creation converts each of its fields' names, and the names repeat across models.
_camel = cache(to_camel)


class CamelModel(BaseModel):
    # Deferred: a model's validator is built on its first use, not at every cold start for every model a
    # function imports (most requests use a few of them).
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, defer_build=True)


class ListFilter(CamelModel):
    """A list request's filter, whose default is an instance: built with its class (a few milliseconds for
    them all), as writing the contract serialises that default, which a deferred model cannot be."""

    model_config = ConfigDict(defer_build=False)


class ListRequest(CamelModel):
    page_size: PageSize = 20
    page_token: str | None = Field(None, max_length=2048)


class Page[T](CamelModel):
    records: list[T]
    next_page_token: str | None = None
