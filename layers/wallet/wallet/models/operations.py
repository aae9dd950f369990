"""One operation of the ledger as the back office and its parties see it."""

from wallet.models.actors import Actor
from wallet.models.base import CamelModel
from wallet.money import Money


class OperationLeg(CamelModel):
    coin_serial: str | None = None  # a customer's account
    account: str | None = None  # a system account (shown to staff only)
    bucket: str
    amount: Money


class Operation(CamelModel):
    business_process_id: str
    type: str
    status: str
    currency: str
    amount: Money | None = None
    commission: Money | None = None
    created_at: str
    actor: Actor | None = None
    request_identifier: str | None = None
    legs: list[OperationLeg]
    refunded_total: Money | None = None
