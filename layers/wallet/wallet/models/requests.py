"""Money in and out: top-up and withdrawal requests as recorded, their states and history, and the approval
workflow's contract (screening, its steps, its executions' end). Apart from the API's requests and answers
(wallet.models.requests_api): the workflow and screening steps build only these."""

from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from wallet.models.base import CamelModel
from wallet.models.enums import CaseInsensitiveEnum
from wallet.models.operations import Actor
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


class ScreeningResult(CamelModel):
    cleared: bool
    reason: str | None = None


class WorkflowStep(CaseInsensitiveEnum):
    AWAIT_DECISION = "AWAIT_DECISION"
    DECLINE_BY_SCREENING = "DECLINE_BY_SCREENING"
    EXPIRE = "EXPIRE"
    FAIL_SAFE = "FAIL_SAFE"


class WorkflowTask(CamelModel):
    step: WorkflowStep
    request_identifier: str
    task_token: str | None = None
    # A screening function's answer exactly as it came: the workflow declines on anything but a clear pass.
    verdict: Any = None
    failure: dict[str, str] | None = None


class ExecutionStatusChange(CamelModel):
    """The detail of Step Functions' "Execution Status Change" event; executions are named after their request."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: str


class ExecutionEnded(CamelModel):
    """The approval workflow's execution ended FAILED, TIMED_OUT or ABORTED (the template's rule): the
    EventBridge event's parts the workflow reads. Not Powertools' EventBridgeModel: importing its parser package
    costs about as much as pydantic itself at each cold start of every function that imports these models."""

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusChange
