"""The money-in-and-out API's requests and answers: bodies, decisions, lists. Apart from the requests' records
(wallet.models.requests) and the workflow's contract (wallet.models.workflow): only the functions serving these
routes build them."""

from typing import Annotated

from pydantic import Field

from wallet.models.base import CamelModel, CoinSerial, Identifier, Instant, ListFilter, ListRequest
from wallet.models.requests import PaymentMethod, RequestStatus
from wallet.money import Amount, Money

Reason = Annotated[str, Field(max_length=500)]


class MoneyCalculationRequest(CamelModel):
    coin_serial: CoinSerial
    amount: Amount
    payment_method: PaymentMethod = PaymentMethod.BANK


class BankTopUp(CamelModel):
    coin_serial: CoinSerial
    amount: Amount
    bank_id: Identifier
    reference: Annotated[str, Field(max_length=200)] | None = None
    payment_method: PaymentMethod = PaymentMethod.BANK


class BankWithdrawal(CamelModel):
    coin_serial: CoinSerial
    amount: Amount
    bank_id: Identifier
    account_number: Annotated[str, Field(min_length=4, max_length=34, pattern=r"^[A-Za-z0-9 ]+$")]
    recipient_name: Annotated[str, Field(min_length=1, max_length=200)]
    payment_method: PaymentMethod = PaymentMethod.BANK


class Decision(CamelModel):
    reason: Reason | None = None


class Reversal(CamelModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RequestFilter(ListFilter):
    status: RequestStatus | None = None
    payment_method: PaymentMethod | None = None
    coin_serial: CoinSerial | None = None
    from_: Instant | None = Field(None, alias="from")
    to: Instant | None = None


class RequestListRequest(ListRequest):
    filter: RequestFilter = RequestFilter.model_validate({})


class RequestAnswer(CamelModel):
    request_identifier: str
    status: RequestStatus
    amount: Money
    commission: Money
    total_amount: Money
