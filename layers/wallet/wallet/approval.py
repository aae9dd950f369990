"""The approval of money requests: each change of state applied exactly once, with the money it moves.

`apply` is the one place that turns a change of state into money, for staff deciding through `payments` and
for the approval workflow's own steps below. A change of state is a conditional write on the state it
expects, made in the same transaction as its money, event and audit entry: a decision applies once,
whatever retries, races or expiry. Apart from payments' API side, so the workflow's cold start imports only
this path (no pricing, catalog, limit rules or tokens)."""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from wallet import audit, clock, events, ledger, ledger_store, limits_store, requests_store
from wallet.dynamo import condition_failed
from wallet.errors import NotFound
from wallet.ledger import Bucket, InsufficientFunds, Leg, Posting, SystemAccount, WrongState
from wallet.models.account_status import AccountStatus
from wallet.models.actors import Actor
from wallet.models.events import EventType
from wallet.models.requests import FINAL_STATUSES, HistoryStep, MoneyRequest, PaymentMethod, RequestKind, RequestStatus

if TYPE_CHECKING:
    from wallet.auth import Caller

# Decisions the approval workflow takes on its own (screening, expiry, a failed step).
WORKFLOW_ACTOR = {"userId": "approval-workflow", "role": "WORKFLOW", "organizationId": "SYSTEM"}
# The event each state of a request announces (a request born ACCEPTED is a top_up.credited instead).
REQUEST_EVENTS = {
    (RequestKind.TOP_UP, RequestStatus.SCREENING): EventType.TOP_UP_REQUEST_CREATED,
    (RequestKind.TOP_UP, RequestStatus.ACCEPTED): EventType.TOP_UP_REQUEST_ACCEPTED,
    (RequestKind.TOP_UP, RequestStatus.DECLINED): EventType.TOP_UP_REQUEST_DECLINED,
    (RequestKind.TOP_UP, RequestStatus.EXPIRED): EventType.TOP_UP_REQUEST_EXPIRED,
    (RequestKind.TOP_UP, RequestStatus.REVERSED): EventType.TOP_UP_REVERSED,
    (RequestKind.WITHDRAWAL, RequestStatus.SCREENING): EventType.WITHDRAWAL_HELD,
    (RequestKind.WITHDRAWAL, RequestStatus.ACCEPTED): EventType.WITHDRAWAL_ACCEPTED,
    (RequestKind.WITHDRAWAL, RequestStatus.DECLINED): EventType.WITHDRAWAL_DECLINED,
    (RequestKind.WITHDRAWAL, RequestStatus.EXPIRED): EventType.WITHDRAWAL_EXPIRED,
}


def apply(
    request: MoneyRequest,
    expected: RequestStatus,
    new: RequestStatus,
    reason: str | None,
    by: "Caller | None" = None,
) -> MoneyRequest:
    """The one place that turns a change of state into money: applied once, or WrongState. `by` is the
    staff member deciding (None: the workflow); the decision's event and audit entry ride with it."""
    actor = by.actor if by else WORKFLOW_ACTOR
    now = clock.iso(clock.now())
    step = HistoryStep(status=new, at=now, reason=reason, actor=Actor.model_validate(actor))
    decided = request.model_copy(update={"status": new, "updated_at": now, "history": [*request.history, step]})
    guard = requests_store.transition(request, expected, new, now, reason, actor)
    recorded = audit.entry(
        actor,
        f"{request.kind.value}_{new.value}",
        request.request_identifier,
        source_ip=by.source_ip if by else None,
        details={"from": expected.value, "reason": reason},
    )
    announced = (*request_event(decided), recorded)
    decision = posting(request, new, guard=guard, companions=announced, actor=actor)
    if decision.legs and new in (RequestStatus.DECLINED, RequestStatus.EXPIRED):
        # A released hold gives back the limits it used, in the same transaction.
        released = limits_store.releases(ledger_store.get_process(hold_id(request)))
        decision = replace(decision, companions=(*announced, *released))
    if decision.legs:
        try:
            ledger.post(decision)
        except InsufficientFunds:
            # A hold already settled or released means another decision got there first.
            if existing(request.request_identifier)[0].status != expected:
                raise WrongState(f"The request is no longer {expected.value}") from None
            raise
    else:
        try:
            requests_store.write(guard, *announced)
        except ClientError as error:
            if condition_failed(error, 0):
                raise WrongState(f"The request is no longer {expected.value}") from error
            raise
    return decided


def request_event(request: MoneyRequest, event_type: EventType | None = None) -> tuple[dict[str, Any], ...]:
    """The request's event in its current state, as a write for the same transaction."""
    event_type = event_type or REQUEST_EVENTS.get((request.kind, request.status))
    if event_type is None:  # SCREENING -> PENDING is internal to the workflow
        return ()
    data = request.model_dump(mode="json", by_alias=True, exclude={"history", "account_number", "updated_at"})
    data["reason"] = request.history[-1].reason
    return (
        events.outbox_write(
            event_type,
            f"{request.request_identifier}:{request.status.value}",
            data,
            ordering_key=request.coin_serial,
            organization_ids=[request.organization_id],
        ),
    )


def posting(
    request: MoneyRequest,
    new: RequestStatus,
    guard: dict[str, Any],
    companions: tuple[dict[str, Any], ...],
    actor: dict[str, str],
) -> Posting:
    """The money of the request's move to `new` (no legs where none moves), with its guard and companions."""
    account = ledger.customer_account(request.coin_serial)
    process_id = f"{request.request_identifier}:{new.value}"
    # A reversal takes the commission back from the shard its credit went to.
    credited = new if new != RequestStatus.REVERSED else RequestStatus.ACCEPTED
    shard = ledger.shard_for(f"{request.request_identifier}:{credited.value}")

    def system(kind: SystemAccount) -> str:
        return ledger.system_account(request.issuer_id, kind, shard)

    legs: list[Leg] = []
    if request.kind == RequestKind.TOP_UP and new in (RequestStatus.ACCEPTED, RequestStatus.REVERSED):
        source = SystemAccount.TRANSIT if request.payment_method == PaymentMethod.CARD else SystemAccount.EMISSION
        sign = 1 if new == RequestStatus.ACCEPTED else -1  # a reversal posts the credit's legs negated
        legs = [
            Leg(system(source), -sign * request.amount),
            Leg(account, sign * request.total_amount),
            Leg(system(SystemAccount.COMMISSION), sign * request.commission),
        ]
    elif request.kind == RequestKind.WITHDRAWAL and new == RequestStatus.ACCEPTED:
        legs = [
            Leg(account, -request.total_amount, Bucket.HELD),
            Leg(system(SystemAccount.TRANSIT), request.amount),
            Leg(system(SystemAccount.COMMISSION), request.commission),
        ]
    elif request.kind == RequestKind.WITHDRAWAL and new in (RequestStatus.DECLINED, RequestStatus.EXPIRED):
        legs = [Leg(account, -request.total_amount, Bucket.HELD), Leg(account, request.total_amount, Bucket.AVAILABLE)]
    operation = f"{request.kind.value}_{new.value}"
    legs = [leg for leg in legs if leg.amount]
    corrective = new in (RequestStatus.DECLINED, RequestStatus.EXPIRED, RequestStatus.REVERSED)
    open_to = (AccountStatus.ACTIVE, AccountStatus.FROZEN) if corrective else (AccountStatus.ACTIVE,)
    return Posting(
        process_id,
        operation,
        request.currency,
        tuple(legs),
        details(request, actor),
        guard,
        open_to=open_to,
        companions=companions,
    )


def details(request: MoneyRequest, actor: dict[str, str]) -> dict[str, Any]:
    """What a request's posting records besides its legs: the request, its figures, who caused it."""
    return {
        "requestIdentifier": request.request_identifier,
        "organizationId": request.organization_id,
        "amount": request.amount,
        "commission": request.commission,
        "actor": actor,
    }


def hold_id(request: MoneyRequest) -> str:
    """The posting that holds a withdrawal's money until it is decided."""
    return f"{request.request_identifier}:HOLD"


# --- the workflow's steps ---


def await_decision(request_id: str, task_token: str) -> RequestStatus:
    """Screening passed: the request waits for a decision, the workflow on this token. Idempotent: a retried
    step (Lambda throttled, say) finds the request PENDING already and only replaces the token it waits on."""
    request, _ = existing(request_id)
    if request.status == RequestStatus.PENDING:
        try:
            requests_store.write(requests_store.new_task_token(request_id, task_token))
            return RequestStatus.PENDING
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            return existing(request_id)[0].status  # decided meanwhile: the decision stands
    now = clock.iso(clock.now())
    guard = requests_store.transition(
        request, RequestStatus.SCREENING, RequestStatus.PENDING, now, taskToken=task_token
    )
    requests_store.write(guard)
    return RequestStatus.PENDING


def decline_by_screening(request_id: str, reason: str) -> RequestStatus:
    request, _ = existing(request_id)
    return apply(request, RequestStatus.SCREENING, RequestStatus.DECLINED, reason, None).status


def expire(request_id: str) -> RequestStatus:
    """No decision in time; a decision that won the race stands."""
    request, _ = existing(request_id)
    try:
        expired = apply(request, RequestStatus.PENDING, RequestStatus.EXPIRED, "No decision in time", None)
        return expired.status
    except WrongState:
        return existing(request_id)[0].status


def fail_safe(request_id: str, reason: str) -> RequestStatus:
    """A step failed for good: the request ends declined, anything held released, never stuck."""
    for _ in range(3):
        request, _ = existing(request_id)
        if request.status in FINAL_STATUSES:
            return request.status
        try:
            return apply(request, request.status, RequestStatus.DECLINED, reason, None).status
        except WrongState:
            continue
    return existing(request_id)[0].status


# --- reading ---


def existing(request_id: str, kind: RequestKind | None = None) -> tuple[MoneyRequest, dict[str, object]]:
    """The request and its stored item; NotFound if there is none (of this kind)."""
    found = requests_store.get(request_id)
    if found is None or kind not in (None, found[0].kind):
        raise no_such_request()
    return found


def no_such_request() -> NotFound:
    return NotFound("No such request", details=[{"field": "requestIdentifier", "issue": "not found"}])
