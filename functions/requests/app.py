"""Money in and out: top-ups and withdrawals by bank or card, their decisions, and the requests."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import payments
from wallet.api import IdempotencyKey, caller, create_app
from wallet.models.base import Page
from wallet.models.catalog import Calculation
from wallet.models.requests import MoneyRequest, RequestKind
from wallet.models.requests_api import (
    BankTopUp,
    BankWithdrawal,
    Decision,
    MoneyCalculationRequest,
    RequestAnswer,
    RequestListRequest,
    Reversal,
)
from wallet.observability import logger, metrics

app = create_app()
RequestId = Annotated[str, Path(alias="requestIdentifier", max_length=64)]


@app.post("/bank-top-ups/calculate", summary="Commission of a top-up; totalAmount is what the account receives")
def calculate_top_up(request: MoneyCalculationRequest) -> Calculation:
    return payments.calculate(caller(app), RequestKind.TOP_UP, request)


@app.post("/bank-top-ups/with-bank", status_code=201, summary="Credit a bank transfer already received (staff)")
def top_up_with_bank(body: BankTopUp, idempotency_key: IdempotencyKey = None) -> RequestAnswer:
    return payments.top_up_at_once(caller(app), body, idempotency_key)


@app.post("/bank-top-ups/create-request/with-bank", status_code=201, summary="Request a top-up: the workflow decides")
def create_top_up_request(body: BankTopUp, idempotency_key: IdempotencyKey = None) -> RequestAnswer:
    return payments.create_top_up_request(caller(app), body, idempotency_key)


@app.post("/bank-top-ups/<requestIdentifier>/accept", summary="Accept a pending top-up: the account is credited")
def accept_top_up(request_id: RequestId, decision: Decision = Decision()) -> RequestAnswer:
    return payments.decide(caller(app), RequestKind.TOP_UP, request_id, True, decision.reason)


@app.post("/bank-top-ups/<requestIdentifier>/decline", summary="Decline a pending top-up")
def decline_top_up(request_id: RequestId, decision: Decision = Decision()) -> RequestAnswer:
    return payments.decide(caller(app), RequestKind.TOP_UP, request_id, False, decision.reason)


@app.post(
    "/bank-top-ups/<requestIdentifier>/reverse", summary="Take back a credited top-up with its commission (staff)"
)
def reverse_top_up(request_id: RequestId, reversal: Reversal) -> RequestAnswer:
    return payments.reverse_top_up(caller(app), request_id, reversal.reason)


@app.post("/bank-withdrawals/calculate", summary="Commission of a withdrawal; totalAmount is what leaves the account")
def calculate_withdrawal(request: MoneyCalculationRequest) -> Calculation:
    return payments.calculate(caller(app), RequestKind.WITHDRAWAL, request)


@app.post("/bank-withdrawals/with-bank", status_code=201, summary="Withdraw to a bank account: held now, then decided")
def withdraw(body: BankWithdrawal, idempotency_key: IdempotencyKey = None) -> RequestAnswer:
    return payments.create_withdrawal(caller(app), body, idempotency_key)


@app.post("/bank-withdrawals/<requestIdentifier>/accept", summary="Accept a withdrawal: the hold is settled")
def accept_withdrawal(request_id: RequestId, decision: Decision = Decision()) -> RequestAnswer:
    return payments.decide(caller(app), RequestKind.WITHDRAWAL, request_id, True, decision.reason)


@app.post("/bank-withdrawals/<requestIdentifier>/decline", summary="Decline a withdrawal: the hold is released")
def decline_withdrawal(request_id: RequestId, decision: Decision = Decision()) -> RequestAnswer:
    return payments.decide(caller(app), RequestKind.WITHDRAWAL, request_id, False, decision.reason)


@app.post("/bank-top-ups/view", summary="Top-up requests, newest first: staff's queues by status, a customer's own")
def view_top_ups(view: RequestListRequest = RequestListRequest()) -> Page[MoneyRequest]:
    return payments.requests_of(caller(app), RequestKind.TOP_UP, view)


@app.post("/bank-withdrawals/view", summary="Withdrawals, newest first: staff's queues by status, a customer's own")
def view_withdrawals(view: RequestListRequest = RequestListRequest()) -> Page[MoneyRequest]:
    return payments.requests_of(caller(app), RequestKind.WITHDRAWAL, view)


@app.get("/requests/<requestIdentifier>", summary="A request, its status and its history")
def get_request(request_id: RequestId) -> MoneyRequest:
    return payments.get_request(caller(app), request_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
