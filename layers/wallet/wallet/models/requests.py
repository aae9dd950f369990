"""Money in and out: top-up and withdrawal requests as recorded, their states and history, and what the approval
workflow starts with (the subject it screens). Apart from the API's requests and answers (wallet.models.requests_api)
and from the workflow steps' own contract (wallet.models.workflow), which the function starting it never builds."""

from decimal import Decimal

from pydantic import Field, model_validator

from wallet.models.actors import Actor
from wallet.models.base import CamelModel
from wallet.models.enums import CaseInsensitiveEnum
from wallet.money import Money, in_digits


class PaymentMethod(CaseInsensitiveEnum):
    BANK = "BANK"
    CARD = "CARD"


class RequestKind(CaseInsensitiveEnum):
    TOP_UP = "TOP_UP"
    WITHDRAWAL = "WITHDRAWAL"


class RequestStatus(CaseInsensitiveEnum):
    SCREENING = "SCREENING"
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    REVERSED = "REVERSED"  # a credited top-up taken back (a mistaken credit)


FINAL_STATUSES = (RequestStatus.ACCEPTED, RequestStatus.DECLINED, RequestStatus.EXPIRED, RequestStatus.REVERSED)


class HistoryStep(CamelModel):
    status: RequestStatus
    at: str
    reason: str | None = None
    actor: Actor | None = None


class RequestCore(CamelModel):
    """What every view of a top-up or withdrawal request shows: the request as an API answer and as an event."""

    request_identifier: str
    kind: RequestKind
    payment_method: PaymentMethod
    status: RequestStatus
    coin_serial: str
    currency: str
    amount: Money
    commission: Money
    total_amount: Money
    bank_id: str
    organization_id: str
    issuer_id: str
    created_at: str
    recipient_name: str | None = None
    reference: str | None = None


class MoneyRequest(RequestCore):
    updated_at: str
    history: list[HistoryStep]
    account_number: str | None = None
    # Kept with the request, not shown: DynamoDB gives figures back trimmed ("10.00" as 10).
    fractional_digits: int = Field(exclude=True)

    @model_validator(mode="after")
    def _figures_in_currency_digits(self) -> "MoneyRequest":
        self.amount = in_digits(self.amount, self.fractional_digits)
        self.commission = in_digits(self.commission, self.fractional_digits)
        self.total_amount = in_digits(self.total_amount, self.fractional_digits)
        return self


class ScreeningSubject(CamelModel):
    """What the workflow starts with, and what a screening function is given."""

    request_identifier: str
    kind: RequestKind
    payment_method: PaymentMethod
    amount: Decimal
    currency: str
    # The currency's own AML amount threshold (none: no amount rule).
    aml_threshold: Decimal | None = None
    names: list[str]
