"""Money in and out over the API: top-ups and withdrawals priced, created, decided by staff, reversed and read (one
request, or the queues of them by status).

Their changes of state, with the money each moves, are applied exactly once by `approval`, which the approval
workflow's own steps use too."""

import json
from decimal import Decimal
from typing import NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from wallet import (
    approval,
    audit,
    catalog,
    catalog_store,
    clock,
    ledger,
    ledger_store,
    limits,
    limits_store,
    requests_store,
)
from wallet.auth import Caller
from wallet.aws import stepfunctions
from wallet.commission import Quote, quote
from wallet.config import settings
from wallet.dynamo import condition_failed
from wallet.errors import BusinessRuleViolation, Conflict, Forbidden
from wallet.idempotency import fingerprint, operation_id
from wallet.ledger import Bucket, Leg, Posting, WrongState
from wallet.ledger_store import AccountState
from wallet.models.actors import Actor
from wallet.models.base import Page
from wallet.models.catalog import Calculation, OperationType
from wallet.models.events import EventType
from wallet.models.requests import (
    HistoryStep,
    MoneyRequest,
    PaymentMethod,
    RequestKind,
    RequestStatus,
    ScreeningSubject,
)
from wallet.models.requests_api import (
    BankTopUp,
    BankWithdrawal,
    MoneyCalculationRequest,
    RequestAnswer,
    RequestListRequest,
)
from wallet.models.roles import STAFF_ROLES
from wallet.money import check_precision
from wallet.observability import logger

OPERATIONS = {
    (RequestKind.TOP_UP, PaymentMethod.BANK): OperationType.BANK_TOP_UP,
    (RequestKind.TOP_UP, PaymentMethod.CARD): OperationType.CARD_TOP_UP,
    (RequestKind.WITHDRAWAL, PaymentMethod.BANK): OperationType.BANK_WITHDRAWAL,
    (RequestKind.WITHDRAWAL, PaymentMethod.CARD): OperationType.CARD_WITHDRAWAL,
}
WORKFLOW_NOT_STARTED = "The approval workflow could not start"  # the reason of a request declined as it was made


class Priced(NamedTuple):
    account: AccountState
    quote: Quote
    kind: RequestKind

    @property
    def total(self) -> Decimal:
        """What the account receives (a top-up) or what leaves it (a withdrawal)."""
        return self.quote.total(commission_is_added=self.kind == RequestKind.WITHDRAWAL)


def price(caller: Caller, kind: RequestKind, method: PaymentMethod, coin_serial: str, amount: Decimal) -> Priced:
    key = ledger.customer_account(coin_serial)
    account = ledger_store.read_accounts([key]).get(key)
    if account is None or not caller.may_see(account.item["organizationId"]):
        raise ledger.no_account("coinSerial")
    ledger.check_open(account)
    digits = int(account.item["fractionalDigits"])
    amount = check_precision(amount, digits)
    rule = catalog_store.get_commission_rule(OPERATIONS[(kind, method)], account.item["issuerId"])
    priced = Priced(account, quote(amount, rule, digits), kind)
    if priced.total <= 0:
        raise BusinessRuleViolation("The commission takes the whole amount", code="AMOUNT_BELOW_COMMISSION")
    return priced


def calculate(caller: Caller, kind: RequestKind, request: MoneyCalculationRequest) -> Calculation:
    priced = price(caller, kind, request.payment_method, request.coin_serial, request.amount)
    return Calculation(amount=priced.quote.amount, commission=priced.quote.commission, total_amount=priced.total)


# --- creating requests ---


def top_up_at_once(caller: Caller, body: BankTopUp, idempotency_key: str | None) -> RequestAnswer:
    """A bank transfer already received: the request is born accepted, with its credit."""
    digest = fingerprint("top-up", body.model_dump(mode="json"))
    if replayed := _replay(caller, RequestKind.TOP_UP, idempotency_key, digest):
        return replayed
    caller.require(*STAFF_ROLES)
    catalog.existing_bank(body.bank_id)
    priced = price(caller, RequestKind.TOP_UP, body.payment_method, body.coin_serial, body.amount)
    request = _new_request(caller, priced, body.payment_method, body.bank_id, idempotency_key, RequestStatus.ACCEPTED)
    request.reference = body.reference
    posting = approval.posting(
        request,
        RequestStatus.ACCEPTED,
        guard=requests_store.creation(request, digest),
        companions=(
            *approval.request_event(request, EventType.TOP_UP_CREDITED),
            audit.by(caller, "TOP_UP_CREDITED", request.request_identifier, {"coinSerial": request.coin_serial}),
        ),
        actor=caller.actor,
    )
    posted = ledger.post(posting, accounts={priced.account.key: priced.account})
    if posted.replayed:
        return _answer(_same_request(request.request_identifier, digest))
    return _answer(request)


def create_top_up_request(caller: Caller, body: BankTopUp, idempotency_key: str | None) -> RequestAnswer:
    digest = fingerprint("top-up-request", body.model_dump(mode="json"))
    if replayed := _replay(caller, RequestKind.TOP_UP, idempotency_key, digest):
        return replayed
    catalog.existing_bank(body.bank_id)
    priced = price(caller, RequestKind.TOP_UP, body.payment_method, body.coin_serial, body.amount)
    request = _new_request(caller, priced, body.payment_method, body.bank_id, idempotency_key, RequestStatus.SCREENING)
    try:
        requests_store.write(requests_store.creation(request, digest), *approval.request_event(request))
    except ClientError as error:
        if not condition_failed(error, 0):
            raise
        return _answer(_same_request(request.request_identifier, digest))
    return _answer(_start_workflow(request, priced.account.item["ownerName"]))


def create_withdrawal(caller: Caller, body: BankWithdrawal, idempotency_key: str | None) -> RequestAnswer:
    """Holds amount and commission at once (insufficient: 422), then the workflow decides."""
    digest = fingerprint("withdrawal", body.model_dump(mode="json"))
    if replayed := _replay(caller, RequestKind.WITHDRAWAL, idempotency_key, digest):
        return replayed
    catalog.existing_bank(body.bank_id)
    priced = price(caller, RequestKind.WITHDRAWAL, body.payment_method, body.coin_serial, body.amount)
    if priced.account.item["organizationId"] != caller.organization_id:
        raise Forbidden("Only the account's owner withdraws from it")
    request = _new_request(caller, priced, body.payment_method, body.bank_id, idempotency_key, RequestStatus.SCREENING)
    request.recipient_name, request.account_number = body.recipient_name, body.account_number
    account = priced.account.key
    hold = (Leg(account, -priced.total, Bucket.AVAILABLE), Leg(account, priced.total, Bucket.HELD))
    operation = OPERATIONS[(RequestKind.WITHDRAWAL, body.payment_method)].value
    rule = limits.rule_for(operation, request.currency, caller.role.value, request.coin_serial)
    used = limits.uses(rule, request.coin_serial, request.amount, clock.now())
    posting = Posting(
        approval.hold_id(request),
        "WITHDRAWAL_HOLD",
        request.currency,
        hold,
        {**approval.details(request, caller.actor), limits_store.LIMIT_USE: limits.recorded(used)},
        guard=requests_store.creation(request, digest),
        companions=(*limits.companions(used), *approval.request_event(request)),
    )
    if ledger.post(posting, accounts={account: priced.account}).replayed:
        return _answer(_same_request(request.request_identifier, digest))
    return _answer(_start_workflow(request, priced.account.item["ownerName"]))


def _new_request(
    caller: Caller,
    priced: Priced,
    method: PaymentMethod,
    bank_id: str,
    idempotency_key: str | None,
    status: RequestStatus,
) -> MoneyRequest:
    request_id = operation_id(caller.organization_id, priced.kind.value, idempotency_key)
    now = clock.iso(clock.now())
    return MoneyRequest(
        request_identifier=request_id,
        kind=priced.kind,
        payment_method=method,
        status=status,
        coin_serial=priced.account.item["coinSerial"],
        currency=priced.account.currency,
        amount=priced.quote.amount,
        commission=priced.quote.commission,
        total_amount=priced.total,
        bank_id=bank_id,
        organization_id=priced.account.item["organizationId"],
        issuer_id=priced.account.item["issuerId"],
        created_at=now,
        updated_at=now,
        history=[HistoryStep(status=status, at=now, actor=Actor.model_validate(caller.actor))],
        fractional_digits=int(priced.account.item["fractionalDigits"]),
    )


def _replay(caller: Caller, kind: RequestKind, idempotency_key: str | None, digest: str) -> RequestAnswer | None:
    """A retry answers what the first call answered, before any check: the world may have changed since."""
    if idempotency_key is None:
        return None
    request_id = operation_id(caller.organization_id, kind.value, idempotency_key)
    if requests_store.get(request_id) is None:
        return None
    request = _same_request(request_id, digest)
    if request.status == RequestStatus.SCREENING:
        # The first call may have died before its workflow started (or before a failed start was declined):
        # starting it again is harmless, as the execution is named after the request. A start that fails here
        # declines nothing: the first call's execution may be running.
        request = _start_workflow(request, _owner_name(request), decline_if_not_started=False)
    return _first_answer(request)


def _first_answer(request: MoneyRequest) -> RequestAnswer:
    """The answer of the call that created the request: its figures and the status it was born with, or
    DECLINED when that call's workflow could not start."""
    declined_at_once = any(step.reason == WORKFLOW_NOT_STARTED for step in request.history)
    status = RequestStatus.DECLINED if declined_at_once else request.history[0].status
    return _answer(request).model_copy(update={"status": status})


def _owner_name(request: MoneyRequest) -> str:
    key = ledger.customer_account(request.coin_serial)
    return str(ledger_store.read_accounts([key])[key].item["ownerName"])


def _same_request(request_id: str, digest: str) -> MoneyRequest:
    """A replayed creation: the first request again, if it was for the same body."""
    found = requests_store.get(request_id)
    if found is None or found[1].get("fingerprint") != digest:
        raise Conflict("This Idempotency-Key was used for another request", code="IDEMPOTENCY_KEY_REUSED")
    return found[0]


def _start_workflow(request: MoneyRequest, owner_name: str, *, decline_if_not_started: bool = True) -> MoneyRequest:
    """One execution per request, named after it; if it cannot start, nothing stays held. Answers the request
    as it now stands."""
    subject = ScreeningSubject(
        request_identifier=request.request_identifier,
        kind=request.kind,
        payment_method=request.payment_method,
        amount=request.amount,
        currency=request.currency,
        aml_threshold=catalog.existing_currency(request.currency).aml_threshold,
        names=[name for name in (owner_name, request.recipient_name) if name],
    )
    try:
        stepfunctions().start_execution(
            stateMachineArn=settings().approval_workflow_arn,
            name=request.request_identifier,
            input=subject.model_dump_json(by_alias=True),
        )
    except (ClientError, BotoCoreError) as error:
        if not decline_if_not_started or (
            isinstance(error, ClientError) and error.response["Error"]["Code"] == "ExecutionAlreadyExists"
        ):
            return request
        # The hold is committed, so the caller gets the request as it now stands, never a 5xx: declined, its
        # hold released in one transaction, with its event and audit entry like any decline. Declining is
        # safe even if the execution did start (a timeout after AWS took it): the workflow then finds the
        # request no longer SCREENING and changes nothing. If the decline cannot be written either, the error
        # stands (5xx), the request stays SCREENING, and a retry with the same key starts the workflow again.
        logger.warning("The approval workflow did not start", extra={"requestIdentifier": request.request_identifier})
        approval.fail_safe(request.request_identifier, WORKFLOW_NOT_STARTED)
        return approval.existing(request.request_identifier)[0]
    return request


# --- decisions ---


def decide(caller: Caller, kind: RequestKind, request_id: str, accept: bool, reason: str | None) -> RequestAnswer:
    caller.require(*STAFF_ROLES)
    request, item = approval.existing(request_id, kind)
    if request.status != RequestStatus.PENDING:
        raise WrongState(f"The request is {request.status.value}, not PENDING")
    new = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
    decided = approval.apply(request, RequestStatus.PENDING, new, reason, caller)
    if token := item.get("taskToken"):
        _tell_workflow(str(token), decided)
    return _answer(decided)


def reverse_top_up(caller: Caller, request_id: str, reason: str) -> RequestAnswer:
    """Takes back a credited top-up with its commission; asked again, it answers the reversal made."""
    caller.require(*STAFF_ROLES)
    request, _ = approval.existing(request_id, RequestKind.TOP_UP)
    if request.status == RequestStatus.REVERSED:
        return _answer(request)
    if request.status != RequestStatus.ACCEPTED:
        raise WrongState(f"The request is {request.status.value}, not ACCEPTED")
    return _answer(approval.apply(request, RequestStatus.ACCEPTED, RequestStatus.REVERSED, reason, caller))


def _tell_workflow(token: str, request: MoneyRequest) -> None:
    """The decision and its event are written already; the workflow only ends."""
    try:
        stepfunctions().send_task_success(taskToken=token, output=json.dumps({"status": request.status.value}))
    except ClientError:
        logger.warning(
            "The workflow did not take the decision", extra={"requestIdentifier": request.request_identifier}
        )


# --- reading ---


def requests_of(caller: Caller, kind: RequestKind, view: RequestListRequest) -> Page[MoneyRequest]:
    """Staff see every request (the PENDING queue is one indexed query); customers their own."""
    records, token = requests_store.page(
        kind,
        view.filter,
        organization_id=None if caller.is_staff else caller.organization_id,
        page_size=view.page_size,
        page_token=view.page_token,
    )
    return Page[MoneyRequest](records=records, next_page_token=token)


def get_request(caller: Caller, request_id: str) -> MoneyRequest:
    """Someone else's request answers exactly as an unknown one: its existence is not revealed."""
    request, _ = approval.existing(request_id)
    if not caller.may_see(request.organization_id):
        raise approval.no_such_request()
    return request


def _answer(request: MoneyRequest) -> RequestAnswer:
    return RequestAnswer(
        request_identifier=request.request_identifier,
        status=request.status,
        amount=request.amount,
        commission=request.commission,
        total_amount=request.total_amount,
    )
