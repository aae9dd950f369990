"""Set-up: currencies, issuers, banks and commission rules, and an operation priced by its rule."""

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from wallet.models.base import CamelModel, Identifier
from wallet.models.enums import CaseInsensitiveEnum
from wallet.money import Fee, Money, Percent

# Three letters (ISO 4217 style), accepted in any case and kept in upper case.
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)]
BankCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{4}[A-Za-z]{2}[A-Za-z0-9]{2}([A-Za-z0-9]{3})?$"), AfterValidator(str.upper)
]
CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(str.upper)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


def _not_a_boolean_or_text(value: Any) -> Any:
    """`true` is not 1 and "2" is not 2: a count of digits is a JSON integer."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


class OperationType(CaseInsensitiveEnum):
    BANK_TOP_UP = "BANK_TOP_UP"
    BANK_WITHDRAWAL = "BANK_WITHDRAWAL"
    CARD_TOP_UP = "CARD_TOP_UP"
    CARD_WITHDRAWAL = "CARD_WITHDRAWAL"
    TRANSFER = "TRANSFER"


class NewCurrency(CamelModel):
    code: CurrencyCode
    name: Text
    fractional_digits: Annotated[int, BeforeValidator(_not_a_boolean_or_text)] = Field(ge=0, le=8)
    symbol: Annotated[str, Field(min_length=1, max_length=8)] | None = None
    # Amounts above it in this currency are declined by the AML step; none: no amount rule.
    aml_threshold: Fee | None = None


class Currency(NewCurrency):
    created_at: str


class NewIssuer(CamelModel):
    currency_code: CurrencyCode
    name: Text
    description: Annotated[str, Field(max_length=1000)] | None = None


class Issuer(NewIssuer):
    id: str
    created_at: str


class NewBank(CamelModel):
    name: Text
    bic: BankCode
    swift: BankCode
    country: CountryCode
    address: Annotated[str, Field(max_length=500)] | None = None


class Bank(NewBank):
    bank_id: str
    created_at: str


class CommissionRule(CamelModel):
    operation_type: OperationType
    issuer_id: Identifier
    percent: Percent
    fixed: Fee
    min: Fee | None = None
    max: Fee | None = None

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "CommissionRule":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be above max")
        return self


class StoredCommissionRule(CommissionRule):
    updated_at: str


# An operation priced by its commission rule before it is made: its amount, the commission, what it moves in all.
class Calculation(CamelModel):
    amount: Money
    commission: Money
    total_amount: Money


class Records[T](CamelModel):
    records: list[T]
