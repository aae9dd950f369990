"""Limits on what an account may spend: per operation, per UTC day and per UTC month."""

from typing import Annotated

from pydantic import ConfigDict, Field, WithJsonSchema, model_validator

from wallet.models.base import CamelModel, CoinSerial, given
from wallet.models.catalog import CurrencyCode, OperationType
from wallet.models.identity import CustomerRole
from wallet.models.roles import Role
from wallet.money import Amount, Money

# The operations that take money out of an account: the ones limits apply to.
LIMITED_OPERATIONS = (OperationType.TRANSFER, OperationType.BANK_WITHDRAWAL, OperationType.CARD_WITHDRAWAL)
LimitedOperation = Annotated[
    OperationType, WithJsonSchema({"type": "string", "enum": [operation.value for operation in LIMITED_OPERATIONS]})
]
Count = Annotated[int, Field(ge=1, le=1_000_000)]


class WindowLimit(CamelModel):
    model_config = ConfigDict(json_schema_extra={"anyOf": [given("amount"), given("count")]})

    amount: Amount | None = None
    count: Count | None = None

    @model_validator(mode="after")
    def _something(self) -> "WindowLimit":
        if self.amount is None and self.count is None:
            raise ValueError("give amount, count or both")
        return self


class LimitRule(CamelModel):
    # The contract states the subject (one of two) and the limit (one of three) the validator enforces.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [given("role"), given("coinSerial")],
            "anyOf": [given("perOperation"), given("daily"), given("monthly")],
        }
    )

    operation_type: LimitedOperation
    currency_code: CurrencyCode
    role: CustomerRole | None = None
    coin_serial: CoinSerial | None = None
    per_operation: Amount | None = None
    daily: WindowLimit | None = None
    monthly: WindowLimit | None = None

    @model_validator(mode="after")
    def _one_subject_and_a_limit(self) -> "LimitRule":
        if (self.role is None) == (self.coin_serial is None):
            raise ValueError("give either role or coinSerial")
        if self.role is not None and self.role not in (Role.INDIVIDUAL, Role.MERCHANT):
            raise ValueError("limits apply to customers' roles: INDIVIDUAL or MERCHANT")
        if self.operation_type not in LIMITED_OPERATIONS:
            raise ValueError("limits apply to " + ", ".join(LIMITED_OPERATIONS))
        if self.per_operation is None and self.daily is None and self.monthly is None:
            raise ValueError("give perOperation, daily or monthly")
        return self


class LimitRules(CamelModel):
    records: list[LimitRule]


class Remaining(CamelModel):
    """What is left in a window: None where the rule sets no such limit."""

    amount: Money | None = None
    count: int | None = None


class CoinLimit(CamelModel):
    operation_type: OperationType
    rule: LimitRule
    today: Remaining | None = None
    this_month: Remaining | None = None


class CoinLimits(CamelModel):
    coin_serial: str
    limits: list[CoinLimit]
