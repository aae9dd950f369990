"""An account's status, free of pydantic: the ledger checks it on every posting, and a function that only
moves money (the approval workflow's steps) imports no account model for it."""

from wallet.models.enums import CaseInsensitiveEnum


class AccountStatus(CaseInsensitiveEnum):
    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"  # by staff: it neither sends nor receives until unfrozen
    CLOSED = "CLOSED"  # by its owner or an administrator, at zero balance; final
