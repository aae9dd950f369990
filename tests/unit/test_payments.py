"""Top-ups and withdrawals through the layer, without HTTP: pricing, creation, replays, every decision and
the workflow's steps, each checked by the money it moved, the request's history and what rode with it.

Step Functions is a recording stand-in here (the real workflow runs in test_approval_workflow and over
HTTP): what payments asks of it, and how it copes when the workflow cannot start or take a decision."""

import json
import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from local.aws import EmbeddedAws
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import (
    account_lifecycle,
    approval,
    audit_store,
    catalog,
    ledger,
    ledger_store,
    limits,
    outbox_store,
    payments,
    requests_store,
)
from wallet.auth import Caller
from wallet.aws import dynamodb
from wallet.config import settings
from wallet.errors import BusinessRuleViolation, Conflict, Forbidden, InvalidInput, NotFound
from wallet.ledger import AccountFrozen, SystemAccount, WrongState
from wallet.models.catalog import CommissionRule, NewBank, NewCurrency, NewIssuer, OperationType
from wallet.models.limits import LimitRule, WindowLimit
from wallet.models.requests import MoneyRequest, RequestKind, RequestStatus
from wallet.models.requests_api import BankTopUp, BankWithdrawal, MoneyCalculationRequest, RequestListRequest
from wallet.models.roles import Role

TOP_UP, WITHDRAWAL = RequestKind.TOP_UP, RequestKind.WITHDRAWAL
PENDING, ACCEPTED, DECLINED = RequestStatus.PENDING, RequestStatus.ACCEPTED, RequestStatus.DECLINED


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "operation")


class Workflow:
    """Step Functions as payments sees it: the executions asked for, the decisions sent."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.told: list[tuple[str, dict[str, Any]]] = []
        self.start_fails: Exception | None = None
        self.tell_fails: Exception | None = None

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: A002 - boto3's name
        if self.start_fails:
            raise self.start_fails
        self.started.append({"arn": stateMachineArn, "name": name, "input": json.loads(input)})
        return {}

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        if self.tell_fails:
            raise self.tell_fails
        self.told.append((taskToken, json.loads(output)))
        return {}


class Desk:
    """A bank, funded euro accounts of alice and bob, and the stand-in workflow."""

    def __init__(self, world: LedgerWorld, workflow: Workflow):
        self.world, self.workflow = world, workflow
        self.bank = catalog.add_bank(NewBank(name="B", bic="DEUTDEFF", swift="DEUTDEFFXXX", country="DE"), STAFF)
        self.coins = {name: world.open_account(name) for name in ("alice", "bob")}
        for serial in self.coins.values():
            world.credit(serial, "100.00")

    def fee(self, operation: OperationType, percent: str, fixed: str = "0") -> None:
        issuer = self.world.issuers["EUR"].id
        rule = {"operationType": operation, "issuerId": issuer, "percent": percent, "fixed": fixed}
        catalog.set_commission_rule(CommissionRule.model_validate(rule), STAFF)

    def top_up_body(self, owner: str, amount: str, **extra: Any) -> BankTopUp:
        body = {"coinSerial": self.coins[owner], "amount": amount, "bankId": self.bank.bank_id, **extra}
        return BankTopUp.model_validate(body)

    def withdrawal_body(self, owner: str, amount: str, **extra: Any) -> BankWithdrawal:
        body = {
            "coinSerial": self.coins[owner],
            "amount": amount,
            "bankId": self.bank.bank_id,
            "accountNumber": "DE89 3704 0044",
            "recipientName": "Alice Liddell",
            **extra,
        }
        return BankWithdrawal.model_validate(body)

    def ask_top_up(self, owner: str, amount: str, key: str | None = None) -> str:
        answer = payments.create_top_up_request(self.customer(owner), self.top_up_body(owner, amount), key)
        return answer.request_identifier

    def withdraw(self, owner: str, amount: str, key: str | None = None) -> str:
        answer = payments.create_withdrawal(self.customer(owner), self.withdrawal_body(owner, amount), key)
        return answer.request_identifier

    def pending(self, request_id: str, token: str = "token-1") -> None:
        assert approval.await_decision(request_id, token) == PENDING

    def customer(self, owner: str) -> Caller:
        return self.world.customer(owner)

    def balance(self, owner: str) -> tuple[Decimal, Decimal]:
        return self.world.balance(self.coins[owner])

    def system(self, kind: SystemAccount) -> Decimal:
        return self.world.system_balance("EUR", kind)


@pytest.fixture
def desk(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Desk:
    workflow = Workflow()
    monkeypatch.setattr(payments, "stepfunctions", lambda: workflow)
    return Desk(build_world(), workflow)


def _stored(request_id: str) -> tuple[MoneyRequest, dict[str, Any]]:
    found = requests_store.get(request_id)
    assert found is not None
    return found


def _events(change: str) -> list[dict[str, Any]]:
    items = dynamodb().scan(TableName=settings().outbox_table)["Items"]
    return [item for item in items if item["pk"].startswith("EVENT#") and change in str(item["data"])]


def _audit(target: str) -> list[dict[str, Any]]:
    items, _ = audit_store.page(
        actor_user_id=None, target_id=target, action=None, since=None, until=None, page_size=50, page_token=None
    )
    return sorted(items, key=lambda item: item["at"])


# --- pricing ---


@pytest.mark.parametrize(
    ("kind", "method", "total"),
    [
        (TOP_UP, "BANK", "9.90"),  # the commission comes off what arrives
        (TOP_UP, "CARD", "9.80"),
        (WITHDRAWAL, "BANK", "10.30"),  # the commission is added to what leaves
        (WITHDRAWAL, "CARD", "10.40"),
    ],
)
def test_each_kind_and_method_is_priced_by_its_own_rule(desk: Desk, kind: RequestKind, method: str, total: str) -> None:
    for operation, percent in (
        (OperationType.BANK_TOP_UP, "1"),
        (OperationType.CARD_TOP_UP, "2"),
        (OperationType.BANK_WITHDRAWAL, "3"),
        (OperationType.CARD_WITHDRAWAL, "4"),
    ):
        desk.fee(operation, percent)
    asked = MoneyCalculationRequest.model_validate(
        {"coinSerial": desk.coins["alice"], "amount": "10", "paymentMethod": method}
    )
    shown = payments.calculate(desk.customer("alice"), kind, asked)
    commission = abs(Decimal(total) - 10)
    assert (shown.amount, shown.commission, shown.total_amount) == (Decimal("10.00"), commission, Decimal(total))
    assert str(shown.amount) == "10.00"


def test_a_price_is_refused_naming_what_is_wrong(desk: Desk) -> None:
    alice = desk.customer("alice")

    def asked(serial: str, amount: str) -> MoneyCalculationRequest:
        return MoneyCalculationRequest.model_validate({"coinSerial": serial, "amount": amount})

    for serial in (desk.coins["bob"], "C-000000000000"):  # bob's account is as unknown to alice as none
        with pytest.raises(NotFound) as hidden:
            payments.calculate(alice, TOP_UP, asked(serial, "1"))
        assert hidden.value.body()["message"] == "No such account"
        assert hidden.value.details == [{"field": "coinSerial", "issue": "not found"}]
    assert payments.calculate(STAFF, TOP_UP, asked(desk.coins["bob"], "1")).amount == 1  # staff see every account
    with pytest.raises(InvalidInput, match="2 fractional digits"):
        payments.calculate(alice, TOP_UP, asked(desk.coins["alice"], "1.001"))
    desk.fee(OperationType.BANK_TOP_UP, "0", "1.00")
    for amount in ("1.00", "0.50"):  # the fee takes all of it, or more
        with pytest.raises(BusinessRuleViolation) as taken:
            payments.calculate(alice, TOP_UP, asked(desk.coins["alice"], amount))
        assert taken.value.body()["code"] == "AMOUNT_BELOW_COMMISSION"
        assert taken.value.message == "The commission takes the whole amount"
    assert payments.calculate(alice, TOP_UP, asked(desk.coins["alice"], "1.01")).total_amount == Decimal("0.01")
    assert payments.calculate(alice, WITHDRAWAL, asked(desk.coins["alice"], "0.01")).total_amount == Decimal("0.01")


# --- a staff top-up, credited at once ---


def test_a_staff_top_up_credits_at_once_with_its_commission_event_and_audit(desk: Desk) -> None:
    desk.fee(OperationType.BANK_TOP_UP, "10")
    body = desk.top_up_body("alice", "20", reference="invoice 7")
    answer = payments.top_up_at_once(STAFF, body, "key-1")
    assert (answer.status, answer.amount, answer.commission, answer.total_amount) == (
        ACCEPTED,
        Decimal("20.00"),
        Decimal("2.00"),
        Decimal("18.00"),
    )
    assert desk.balance("alice") == (Decimal("118.00"), Decimal(0))
    assert desk.system(SystemAccount.COMMISSION) == Decimal("2.00")
    assert desk.system(SystemAccount.EMISSION) == Decimal("-220.00")  # the two test credits and this one
    request, item = _stored(answer.request_identifier)
    assert (request.status, request.reference, request.kind, request.bank_id) == (
        ACCEPTED,
        "invoice 7",
        TOP_UP,
        desk.bank.bank_id,
    )
    assert (request.organization_id, request.issuer_id, request.currency) == (
        "org-alice",
        desk.world.issuers["EUR"].id,
        "EUR",
    )
    assert [(step.status, step.actor.user_id if step.actor else None) for step in request.history] == [
        (ACCEPTED, "staff")
    ]
    assert item["fingerprint"]
    [event] = _events(answer.request_identifier)
    assert (event["type"], event["data"]["status"], event["data"]["totalAmount"]) == (
        "top_up.credited",
        "ACCEPTED",
        "18.00",
    )
    [entry] = _audit(answer.request_identifier)
    assert (entry["action"], entry["details"]["coinSerial"]) == ("TOP_UP_CREDITED", desk.coins["alice"])
    assert payments.top_up_at_once(STAFF, body, "key-1") == answer  # a retry: credited once
    assert desk.balance("alice") == (Decimal("118.00"), Decimal(0))
    with pytest.raises(Conflict) as reused:
        payments.top_up_at_once(STAFF, desk.top_up_body("alice", "21"), "key-1")
    assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert reused.value.message == "This Idempotency-Key was used for another request"


def test_a_card_top_up_comes_from_transit_and_only_staff_credit_at_once(desk: Desk) -> None:
    payments.top_up_at_once(STAFF, desk.top_up_body("alice", "5", paymentMethod="CARD"), None)
    assert desk.balance("alice") == (Decimal("105.00"), Decimal(0))
    assert desk.system(SystemAccount.TRANSIT) == Decimal("-5.00")
    assert desk.system(SystemAccount.COMMISSION) == 0  # no fee: no commission leg
    with pytest.raises(Forbidden):
        payments.top_up_at_once(desk.customer("alice"), desk.top_up_body("alice", "5"), None)
    with pytest.raises(NotFound):
        payments.top_up_at_once(STAFF, desk.top_up_body("alice", "5", bankId="no-such-bank"), None)
    assert desk.balance("alice") == (Decimal("105.00"), Decimal(0))


# --- requests and their workflow ---


def test_a_top_up_request_waits_for_its_workflow_with_what_screening_needs(desk: Desk) -> None:
    catalog.add_currency(NewCurrency(code="CHF", name="Franc", fractional_digits=2, aml_threshold=Decimal(1000)), STAFF)
    issuer = catalog.add_issuer(NewIssuer(currency_code="CHF", name="Issuer CHF"), STAFF)
    desk.world.issuers["CHF"] = issuer
    francs = desk.world.open_account("alice", "CHF")
    body = BankTopUp.model_validate({"coinSerial": francs, "amount": "7.5", "bankId": desk.bank.bank_id})
    answer = payments.create_top_up_request(desk.customer("alice"), body, "key-1")
    assert (answer.status, answer.amount, answer.total_amount) == (
        RequestStatus.SCREENING,
        Decimal("7.50"),
        Decimal("7.50"),
    )
    [started] = desk.workflow.started
    assert started["arn"] == settings().approval_workflow_arn
    assert started["name"] == answer.request_identifier
    assert started["input"] == {
        "requestIdentifier": answer.request_identifier,
        "kind": "TOP_UP",
        "paymentMethod": "BANK",
        "amount": "7.50",
        "currency": "CHF",
        "amlThreshold": "1000",
        "names": ["alice@example.com"],
    }
    request, item = _stored(answer.request_identifier)
    assert (request.status, request.coin_serial) == (RequestStatus.SCREENING, francs)
    assert desk.world.balance(francs) == (Decimal(0), Decimal(0))  # nothing moves before a decision
    [event] = _events(answer.request_identifier)
    assert event["type"] == "top_up_request.created"
    assert "reason" not in event["data"]  # no reason yet
    # A retry answers the first answer and starts the workflow again (the first start may have been lost).
    assert payments.create_top_up_request(desk.customer("alice"), body, "key-1") == answer
    assert [start["name"] for start in desk.workflow.started] == [answer.request_identifier] * 2
    assert desk.workflow.started[1]["input"] == started["input"]  # the owner screened again, by name
    assert item["fingerprint"] == _stored(answer.request_identifier)[1]["fingerprint"]


def test_a_withdrawal_holds_amount_and_commission_and_names_its_recipient(desk: Desk) -> None:
    desk.fee(OperationType.BANK_WITHDRAWAL, "1")
    request_id = desk.withdraw("alice", "50", "key-1")
    assert desk.balance("alice") == (Decimal("49.50"), Decimal("50.50"))
    request, _ = _stored(request_id)
    assert (request.recipient_name, request.account_number, request.total_amount) == (
        "Alice Liddell",
        "DE89 3704 0044",
        Decimal("50.50"),
    )
    [started] = desk.workflow.started
    assert started["input"]["names"] == ["alice@example.com", "Alice Liddell"]
    assert started["input"]["amlThreshold"] is None
    [event] = _events(request_id)
    assert event["type"] == "withdrawal.held"
    assert "accountNumber" not in event["data"]
    assert "history" not in event["data"]
    assert "updatedAt" not in event["data"]
    assert desk.withdraw("alice", "50", "key-1") == request_id  # a retry holds once
    assert desk.balance("alice") == (Decimal("49.50"), Decimal("50.50"))
    with pytest.raises(Conflict):
        desk.withdraw("alice", "51", "key-1")
    # staff see the account, but only its owner withdraws
    with pytest.raises(Forbidden, match=r"^Only the account's owner withdraws from it$"):
        payments.create_withdrawal(STAFF, desk.withdrawal_body("alice", "1"), None)
    with pytest.raises(NotFound):
        payments.create_withdrawal(desk.customer("bob"), desk.withdrawal_body("alice", "1"), None)


@pytest.mark.parametrize(
    "error", [_client_error("ServiceUnavailable"), EndpointConnectionError(endpoint_url="https://states")]
)
def test_a_workflow_that_cannot_start_declines_the_request_and_releases_the_hold(desk: Desk, error: Exception) -> None:
    desk.workflow.start_fails = error
    answer = payments.create_withdrawal(desk.customer("alice"), desk.withdrawal_body("alice", "30"), "key-1")
    assert answer.status == DECLINED
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    request, _ = _stored(answer.request_identifier)
    assert [(step.status, step.reason) for step in request.history] == [
        (RequestStatus.SCREENING, None),
        (DECLINED, payments.WORKFLOW_NOT_STARTED),
    ]
    desk.workflow.start_fails = None
    replayed = payments.create_withdrawal(desk.customer("alice"), desk.withdrawal_body("alice", "30"), "key-1")
    assert replayed == answer  # declined as it was made, and nothing started since
    assert desk.workflow.started == []


def test_a_workflow_already_started_or_unreachable_on_a_retry_leaves_the_request_screening(desk: Desk) -> None:
    desk.workflow.start_fails = _client_error("ExecutionAlreadyExists")
    first = desk.ask_top_up("alice", "5", "key-1")
    assert _stored(first)[0].status == RequestStatus.SCREENING
    desk.workflow.start_fails = None
    second = desk.ask_top_up("alice", "6", "key-2")
    desk.workflow.start_fails = _client_error("ServiceUnavailable")
    answer = payments.create_top_up_request(desk.customer("alice"), desk.top_up_body("alice", "6"), "key-2")
    assert answer.status == RequestStatus.SCREENING  # the first call's execution may be running
    assert _stored(second)[0].status == RequestStatus.SCREENING


def test_a_replay_answers_the_status_the_request_was_born_with(desk: Desk) -> None:
    request_id = desk.ask_top_up("alice", "5", "key-1")
    desk.pending(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=True, reason=None)
    again = payments.create_top_up_request(desk.customer("alice"), desk.top_up_body("alice", "5"), "key-1")
    assert (again.request_identifier, again.status) == (request_id, RequestStatus.SCREENING)
    assert len(desk.workflow.started) == 1  # decided: nothing to start
    with pytest.raises(Conflict):
        payments.create_top_up_request(desk.customer("alice"), desk.top_up_body("alice", "5.01"), "key-1")
    assert desk.ask_top_up("bob", "5", "key-1") != request_id  # another organisation's key


# --- decisions ---


def test_an_accepted_top_up_is_credited_once_and_the_workflow_told(desk: Desk) -> None:
    desk.fee(OperationType.BANK_TOP_UP, "10")
    request_id = desk.ask_top_up("alice", "10", "key-1")
    desk.pending(request_id, "token-9")
    decided = payments.decide(STAFF, TOP_UP, request_id, accept=True, reason="paid in")
    assert (decided.status, decided.total_amount) == (ACCEPTED, Decimal("9.00"))
    assert desk.balance("alice") == (Decimal("109.00"), Decimal(0))
    assert desk.system(SystemAccount.COMMISSION) == Decimal("1.00")
    assert desk.workflow.told == [("token-9", {"status": "ACCEPTED"})]
    request, _ = _stored(request_id)
    last = request.history[-1]
    assert (last.status, last.reason, last.actor.user_id if last.actor else None) == (ACCEPTED, "paid in", "staff")
    assert request.updated_at == last.at
    [decision] = [entry for entry in _audit(request_id) if entry["action"] == "TOP_UP_ACCEPTED"]
    assert decision["details"] == {"from": "PENDING", "reason": "paid in"}
    assert decision["actor"]["userId"] == "staff"
    [event] = [event for event in _events(request_id) if event["type"] == "top_up_request.accepted"]
    assert event["data"]["reason"] == "paid in"
    with pytest.raises(WrongState, match=r"^The request is ACCEPTED, not PENDING$"):
        payments.decide(STAFF, TOP_UP, request_id, accept=False, reason=None)
    assert desk.balance("alice") == (Decimal("109.00"), Decimal(0))


def test_a_declined_top_up_moves_nothing_and_only_staff_decide(desk: Desk) -> None:
    request_id = desk.ask_top_up("alice", "10")
    with pytest.raises(WrongState, match=r"^The request is SCREENING, not PENDING$"):
        payments.decide(STAFF, TOP_UP, request_id, accept=False, reason=None)
    desk.pending(request_id)
    with pytest.raises(Forbidden):
        payments.decide(desk.customer("alice"), TOP_UP, request_id, accept=True, reason=None)
    with pytest.raises(NotFound) as wrong_kind:
        payments.decide(STAFF, WITHDRAWAL, request_id, accept=True, reason=None)
    assert wrong_kind.value.details == [{"field": "requestIdentifier", "issue": "not found"}]
    assert wrong_kind.value.message == "No such request"
    desk.workflow.tell_fails = _client_error("TaskTimedOut")  # the workflow gave up: the decision stands
    assert payments.decide(STAFF, TOP_UP, request_id, accept=False, reason="no money").status == DECLINED
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    request, _ = _stored(request_id)
    assert (request.status, request.history[-1].reason) == (DECLINED, "no money")
    assert [event["type"] for event in _events(request_id) if "declined" in event["type"]] == [
        "top_up_request.declined"
    ]


def test_a_withdrawal_accepted_pays_out_and_declined_gives_back(desk: Desk) -> None:
    desk.fee(OperationType.BANK_WITHDRAWAL, "10")
    paid, kept = desk.withdraw("alice", "20"), desk.withdraw("alice", "30")
    assert desk.balance("alice") == (Decimal("45.00"), Decimal("55.00"))
    desk.pending(paid)
    desk.pending(kept)
    payments.decide(STAFF, WITHDRAWAL, paid, accept=True, reason=None)
    assert desk.balance("alice") == (Decimal("45.00"), Decimal("33.00"))
    assert desk.system(SystemAccount.TRANSIT) == Decimal("20.00")
    assert desk.system(SystemAccount.COMMISSION) == Decimal("2.00")
    payments.decide(STAFF, WITHDRAWAL, kept, accept=False, reason=None)
    assert desk.balance("alice") == (Decimal("78.00"), Decimal(0))
    assert desk.system(SystemAccount.TRANSIT) == Decimal("20.00")
    assert [entry["action"] for entry in _audit(kept)] == ["WITHDRAWAL_DECLINED"]
    # the hold is gone: a stale decision is refused
    with pytest.raises(WrongState, match=r"^The request is no longer PENDING$"):
        approval.apply(_stored(kept)[0].model_copy(update={"status": PENDING}), PENDING, ACCEPTED, None, STAFF)
    assert desk.balance("alice") == (Decimal("78.00"), Decimal(0))


def test_a_top_up_decided_from_a_stale_copy_is_refused(desk: Desk) -> None:
    request_id = desk.ask_top_up("alice", "10")
    desk.pending(request_id)
    stale, _ = _stored(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=False, reason=None)
    with pytest.raises(WrongState, match="no longer in the state"):  # the request-state condition refuses it
        approval.apply(stale, PENDING, ACCEPTED, None, STAFF)
    stale_again, _ = _stored(desk.ask_top_up("alice", "4"))
    desk.pending(stale_again.request_identifier)
    stale_again, _ = _stored(stale_again.request_identifier)
    payments.decide(STAFF, TOP_UP, stale_again.request_identifier, accept=True, reason=None)
    # a decline moves no money: the request's write refuses it
    with pytest.raises(WrongState, match=r"^The request is no longer PENDING$"):
        approval.apply(stale_again, PENDING, DECLINED, None, STAFF)
    assert desk.balance("alice") == (Decimal("104.00"), Decimal(0))


def test_a_reversal_takes_back_the_credit_and_its_commission_once(desk: Desk) -> None:
    desk.fee(OperationType.BANK_TOP_UP, "10")
    credited = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "10"), None).request_identifier
    assert desk.system(SystemAccount.COMMISSION) == Decimal("1.00")
    with pytest.raises(Forbidden):
        payments.reverse_top_up(desk.customer("alice"), credited, "mistake")
    reversed_ = payments.reverse_top_up(STAFF, credited, "mistake")
    assert (reversed_.status, reversed_.total_amount) == (RequestStatus.REVERSED, Decimal("9.00"))
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    assert desk.system(SystemAccount.COMMISSION) == 0  # from the very shard it went to
    assert desk.system(SystemAccount.EMISSION) == Decimal("-200.00")
    assert payments.reverse_top_up(STAFF, credited, "again") == reversed_  # asked again: the reversal made
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    assert _stored(credited)[0].history[-1].reason == "mistake"
    assert sorted(event["type"] for event in _events(credited)) == ["top_up.credited", "top_up.reversed"]
    waiting = desk.ask_top_up("alice", "3")
    with pytest.raises(WrongState, match=r"^The request is SCREENING, not ACCEPTED$"):
        payments.reverse_top_up(STAFF, waiting, "no")
    withdrawal = desk.withdraw("alice", "1")
    with pytest.raises(NotFound):
        payments.reverse_top_up(STAFF, withdrawal, "no")


def test_a_card_top_up_reversed_returns_to_transit(desk: Desk) -> None:
    credited = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "10", paymentMethod="CARD"), None)
    payments.reverse_top_up(STAFF, credited.request_identifier, "chargeback")
    assert desk.system(SystemAccount.TRANSIT) == 0
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))


# --- the workflow's steps ---


def test_await_decision_waits_on_the_latest_token_until_decided(desk: Desk) -> None:
    request_id = desk.ask_top_up("alice", "10")
    assert approval.await_decision(request_id, "token-1") == PENDING
    request, item = _stored(request_id)
    assert (request.status, item["taskToken"]) == (PENDING, "token-1")
    assert [step.status for step in request.history] == [RequestStatus.SCREENING, PENDING]
    assert _events(request_id)[0]["type"] == "top_up_request.created"  # waiting is no event of its own
    assert len(_events(request_id)) == 1
    assert approval.await_decision(request_id, "token-2") == PENDING  # a retried step: only the token moves
    request, item = _stored(request_id)
    assert (len(request.history), item["taskToken"]) == (2, "token-2")
    payments.decide(STAFF, TOP_UP, request_id, accept=True, reason=None)
    assert desk.workflow.told == [("token-2", {"status": "ACCEPTED"})]


def test_await_decision_after_a_decision_answers_the_decision(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = desk.ask_top_up("alice", "10")
    desk.pending(request_id)
    stale = requests_store.get(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=False, reason=None)
    reads = iter([stale])  # the step read the request just before the decision
    monkeypatch.setattr(requests_store, "get", lambda found: next(reads, None) or _real_get(found))
    assert approval.await_decision(request_id, "token-2") == DECLINED
    assert _stored(request_id)[1]["taskToken"] == "token-1"


_real_get = requests_store.get


def test_screening_declines_and_releases_and_expiry_ends_an_undecided_request(desk: Desk) -> None:
    screened = desk.withdraw("alice", "10")
    assert approval.decline_by_screening(screened, "on a sanctions list") == DECLINED
    request, _ = _stored(screened)
    assert [(step.status, step.reason) for step in request.history][-1] == (DECLINED, "on a sanctions list")
    assert request.history[-1].actor is not None
    assert request.history[-1].actor.user_id == approval.WORKFLOW_ACTOR["userId"]
    waiting = desk.withdraw("alice", "20")
    desk.pending(waiting)
    assert approval.expire(waiting) == RequestStatus.EXPIRED
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    assert _stored(waiting)[0].history[-1].reason == "No decision in time"
    assert [event["type"] for event in _events(waiting) if event["type"] != "withdrawal.held"] == ["withdrawal.expired"]
    [expiry] = _audit(waiting)
    assert (expiry["action"], expiry["actor"]["userId"]) == ("WITHDRAWAL_EXPIRED", "approval-workflow")
    decided = desk.ask_top_up("alice", "5")
    desk.pending(decided)
    payments.decide(STAFF, TOP_UP, decided, accept=True, reason=None)
    assert approval.expire(decided) == ACCEPTED  # the decision won the race: it stands
    assert desk.balance("alice") == (Decimal("105.00"), Decimal(0))


def test_fail_safe_declines_whatever_is_unfinished_and_leaves_the_finished(desk: Desk) -> None:
    screening, waiting = desk.withdraw("alice", "10"), desk.withdraw("alice", "20")
    desk.pending(waiting)
    assert approval.fail_safe(screening, "a step failed") == DECLINED
    assert approval.fail_safe(waiting, "a step failed") == DECLINED
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))
    assert _stored(waiting)[0].history[-1].reason == "a step failed"
    assert approval.fail_safe(waiting, "again") == DECLINED  # final: left as it is
    assert len(_stored(waiting)[0].history) == 3
    accepted = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "1"), None).request_identifier
    assert approval.fail_safe(accepted, "late") == ACCEPTED


def test_fail_safe_tries_again_when_a_decision_raced_it(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    request_id = desk.ask_top_up("alice", "10")
    desk.pending(request_id)
    stale = requests_store.get(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=True, reason=None)
    reads = iter([stale, stale, stale])
    monkeypatch.setattr(requests_store, "get", lambda found: next(reads, None) or _real_get(found))
    assert approval.fail_safe(request_id, "a step failed") == ACCEPTED  # three stale tries, then the truth
    assert desk.balance("alice") == (Decimal("110.00"), Decimal(0))


# --- reading ---


def test_a_request_is_seen_by_its_organisation_and_staff_only(desk: Desk) -> None:
    request_id = desk.ask_top_up("alice", "10")
    assert payments.get_request(desk.customer("alice"), request_id).request_identifier == request_id
    assert payments.get_request(STAFF, request_id).status == RequestStatus.SCREENING
    for caller, wanted in ((desk.customer("bob"), request_id), (STAFF, "no-such-request")):
        with pytest.raises(NotFound) as hidden:
            payments.get_request(caller, wanted)
        assert hidden.value.details == [{"field": "requestIdentifier", "issue": "not found"}]
        assert hidden.value.message == "No such request"


def test_request_queues_filter_by_owner_status_method_coin_and_time(desk: Desk) -> None:
    alice, bob = desk.customer("alice"), desk.customer("bob")
    first = desk.ask_top_up("alice", "1")
    by_card = payments.create_top_up_request(alice, desk.top_up_body("alice", "2", paymentMethod="CARD"), None)
    waiting = desk.ask_top_up("bob", "3")
    desk.pending(waiting)
    desk.withdraw("alice", "4")

    def ids(caller: Caller, kind: RequestKind = TOP_UP, **view: Any) -> list[str]:
        page = payments.requests_of(caller, kind, RequestListRequest.model_validate(view))
        return [request.request_identifier for request in page.records]

    assert ids(alice) == [by_card.request_identifier, first]  # newest first, only alice's
    assert ids(bob) == [waiting]
    assert ids(STAFF) == [waiting, by_card.request_identifier, first]
    assert ids(STAFF, filter={"status": "PENDING"}) == [waiting]
    assert ids(STAFF, filter={"status": "SCREENING"}) == [by_card.request_identifier, first]
    assert ids(alice, filter={"status": "SCREENING"}) == [by_card.request_identifier, first]
    assert ids(alice, filter={"status": "PENDING"}) == []
    assert ids(STAFF, filter={"paymentMethod": "CARD"}) == [by_card.request_identifier]
    assert ids(STAFF, filter={"coinSerial": desk.coins["bob"]}) == [waiting]
    assert len(ids(alice, WITHDRAWAL)) == 1
    created = _stored(first)[0].created_at
    assert first in ids(STAFF, filter={"from": created, "to": created})
    assert ids(STAFF, filter={"from": "2999-01-01T00:00:00Z"}) == []
    assert ids(STAFF, filter={"to": "2000-01-01T00:00:00Z"}) == []
    page = payments.requests_of(STAFF, TOP_UP, RequestListRequest.model_validate({"pageSize": 2}))
    assert len(page.records) == 2
    assert page.next_page_token
    rest = payments.requests_of(
        STAFF, TOP_UP, RequestListRequest.model_validate({"pageSize": 2, "pageToken": page.next_page_token})
    )
    assert [request.request_identifier for request in rest.records] == [first]


# --- what rides with a decision, and where the money goes ---


def _warnings(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    warned = [(record.getMessage(), getattr(record, "requestIdentifier", "")) for record in caplog.records]
    caplog.clear()
    return warned


def test_a_workflow_that_did_not_start_or_take_a_decision_is_logged(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    desk.workflow.start_fails = _client_error("ServiceUnavailable")
    declined = desk.ask_top_up("alice", "5")
    assert _warnings(caplog) == [("The approval workflow did not start", declined)]
    desk.workflow.start_fails = None
    waiting = desk.ask_top_up("alice", "6")
    desk.pending(waiting)
    desk.workflow.tell_fails = _client_error("TaskTimedOut")
    payments.decide(STAFF, TOP_UP, waiting, accept=True, reason=None)
    assert _warnings(caplog) == [("The workflow did not take the decision", waiting)]


def test_a_decision_records_its_figures_and_who_made_it_on_the_posting(desk: Desk) -> None:
    desk.fee(OperationType.BANK_TOP_UP, "10")
    request_id = desk.ask_top_up("alice", "10")
    desk.pending(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=True, reason=None)
    record = ledger_store.get_process(f"{request_id}:ACCEPTED")
    assert record is not None
    assert (record["type"], record["requestIdentifier"], record["organizationId"]) == (
        "TOP_UP_ACCEPTED",
        request_id,
        "org-alice",
    )
    assert (record["amount"], record["commission"], record["actor"]) == (10, 1, STAFF.actor)
    shard = ledger.shard_for(f"{request_id}:ACCEPTED")
    commission = ledger.system_account(desk.world.issuers["EUR"].id, SystemAccount.COMMISSION, shard)
    emission = ledger.system_account(desk.world.issuers["EUR"].id, SystemAccount.EMISSION, shard)
    assert {(leg["account"], leg["amount"]) for leg in record["legs"]} == {
        (emission, -10),
        (ledger.customer_account(desk.coins["alice"]), 9),
        (commission, 1),
    }
    hold = ledger_store.get_process(f"{desk.withdraw('alice', '5')}:HOLD")
    assert hold is not None
    assert (hold["type"], hold["actor"], hold["limitUse"]) == ("WITHDRAWAL_HOLD", desk.customer("alice").actor, [])


def test_a_reversal_takes_the_commission_back_from_the_shard_it_went_to(desk: Desk) -> None:
    desk.fee(OperationType.BANK_TOP_UP, "10")
    for amount in ("10", "20", "30", "40"):  # several requests: their shards differ
        credited = payments.top_up_at_once(STAFF, desk.top_up_body("alice", amount), None).request_identifier
        shard = ledger.shard_for(f"{credited}:ACCEPTED")
        account = ledger.system_account(desk.world.issuers["EUR"].id, SystemAccount.COMMISSION, shard)
        before = sum(ledger.balance_of([account]), Decimal(0))
        payments.reverse_top_up(STAFF, credited, "mistake")
        assert sum(ledger.balance_of([account]), Decimal(0)) == before - Decimal(amount) / 10


def test_a_frozen_account_is_given_back_its_hold_but_is_paid_nothing(desk: Desk) -> None:
    kept, paid = desk.withdraw("alice", "10"), desk.withdraw("alice", "20")
    top_up = desk.ask_top_up("alice", "5")
    for request_id in (kept, paid, top_up):
        desk.pending(request_id)
    credited = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "1"), None).request_identifier
    account_lifecycle.freeze(STAFF, desk.coins["alice"])
    with pytest.raises(AccountFrozen):
        payments.decide(STAFF, WITHDRAWAL, paid, accept=True, reason=None)
    with pytest.raises(AccountFrozen):
        payments.decide(STAFF, TOP_UP, top_up, accept=True, reason=None)
    with pytest.raises(AccountFrozen):  # no new money either
        payments.calculate(
            STAFF, TOP_UP, MoneyCalculationRequest.model_validate({"coinSerial": desk.coins["alice"], "amount": "1"})
        )
    assert payments.decide(STAFF, WITHDRAWAL, kept, accept=False, reason=None).status == DECLINED
    assert approval.expire(paid) == RequestStatus.EXPIRED
    assert payments.reverse_top_up(STAFF, credited, "fraud").status == RequestStatus.REVERSED
    assert desk.balance("alice") == (Decimal("100.00"), Decimal(0))


def test_a_withdrawal_declined_gives_back_the_limit_it_used(desk: Desk) -> None:
    limits.set_rule(
        LimitRule(
            operation_type=OperationType.BANK_WITHDRAWAL,
            currency_code="EUR",
            role=Role.INDIVIDUAL,
            daily=WindowLimit(amount=Decimal(30)),
        ),
        STAFF,
    )
    first = desk.withdraw("alice", "20")
    with pytest.raises(limits.LimitExceeded):
        desk.withdraw("alice", "20")
    desk.pending(first)
    payments.decide(STAFF, WITHDRAWAL, first, accept=False, reason=None)
    second = desk.withdraw("alice", "20")  # the declined 20 no longer counts
    hold = ledger_store.get_process(f"{second}:HOLD")
    assert hold is not None
    assert [use["delta"] for use in hold["limitUse"]] == [20]
    assert approval.decline_by_screening(second, "listed") == DECLINED
    desk.withdraw("alice", "30")
    assert desk.balance("alice") == (Decimal("70.00"), Decimal("30.00"))


def test_fail_safe_gives_up_after_three_lost_races_answering_what_it_reads(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = desk.ask_top_up("alice", "10")
    desk.pending(request_id)
    stale = requests_store.get(request_id)
    payments.decide(STAFF, TOP_UP, request_id, accept=True, reason=None)
    reads = iter([stale] * 4)
    monkeypatch.setattr(requests_store, "get", lambda found: next(reads, None) or _real_get(found))
    assert approval.fail_safe(request_id, "a step failed") == PENDING  # three tries, then the fourth read
    assert approval.fail_safe(request_id, "a step failed") == ACCEPTED


def test_a_creation_that_lost_the_race_for_its_key_answers_the_winner_or_a_conflict(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both calls checked the key before either wrote: the loser's conditional write finds the winner's."""
    unseen = iter([None, None])  # the loser's replay check ran before the winner wrote
    monkeypatch.setattr(requests_store, "get", lambda found: next(unseen, _real_get(found)))
    top_up = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "5"), "k-1")
    unseen = iter([None])
    assert payments.top_up_at_once(STAFF, desk.top_up_body("alice", "5"), "k-1") == top_up
    unseen = iter([None])
    with pytest.raises(Conflict):
        payments.top_up_at_once(STAFF, desk.top_up_body("alice", "6"), "k-1")
    asked = desk.ask_top_up("alice", "7", "k-2")
    unseen = iter([None])
    assert desk.ask_top_up("alice", "7", "k-2") == asked
    unseen = iter([None])
    with pytest.raises(Conflict):
        desk.ask_top_up("alice", "8", "k-2")
    held = desk.withdraw("alice", "9", "k-3")
    unseen = iter([None])
    assert desk.withdraw("alice", "9", "k-3") == held
    unseen = iter([None])
    with pytest.raises(Conflict):
        desk.withdraw("alice", "10", "k-3")
    assert desk.balance("alice") == (Decimal("96.00"), Decimal("9.00"))


def test_staff_credits_decisions_and_reversals_are_recorded_as_theirs_with_where_they_came_from(desk: Desk) -> None:
    staff = replace(STAFF, source_ip="203.0.113.9")
    credited = payments.top_up_at_once(staff, desk.top_up_body("alice", "10"), None).request_identifier
    record = ledger_store.get_process(f"{credited}:ACCEPTED")
    assert record is not None
    assert record["actor"] == STAFF.actor
    reversal = ledger_store.get_process(f"{credited}:REVERSED")
    assert reversal is None
    payments.reverse_top_up(staff, credited, "chargeback")
    reversal = ledger_store.get_process(f"{credited}:REVERSED")
    assert reversal is not None
    assert reversal["actor"] == STAFF.actor
    request, _ = _stored(credited)
    assert [(step.status, step.actor.user_id if step.actor else None) for step in request.history] == [
        (ACCEPTED, "staff"),
        (RequestStatus.REVERSED, "staff"),
    ]
    decided = desk.ask_top_up("alice", "5")
    desk.pending(decided)
    payments.decide(staff, TOP_UP, decided, accept=True, reason=None)
    screened = desk.withdraw("alice", "5")
    approval.decline_by_screening(screened, "listed")
    trail = [(entry["action"], entry["actor"]["userId"], entry.get("sourceIp")) for entry in _audit(credited)]
    trail += [(entry["action"], entry["actor"]["userId"], entry.get("sourceIp")) for entry in _audit(decided)]
    trail += [(entry["action"], entry["actor"]["userId"], entry.get("sourceIp")) for entry in _audit(screened)]
    assert trail == [
        ("TOP_UP_CREDITED", "staff", "203.0.113.9"),
        ("TOP_UP_REVERSED", "staff", "203.0.113.9"),
        ("TOP_UP_ACCEPTED", "staff", "203.0.113.9"),
        ("WITHDRAWAL_DECLINED", "approval-workflow", None),  # the workflow comes from nowhere
    ]


def test_money_moves_on_the_read_that_priced_it(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    """A staff top-up and a withdrawal read the customer's account once: the posting is guarded by the version
    that priced it (a change since fails the write's condition and is read then), not by a second read."""
    reads: list[list[str]] = []
    read_accounts = ledger_store.read_accounts
    monkeypatch.setattr(ledger_store, "read_accounts", lambda keys: reads.append(keys) or read_accounts(keys))
    payments.top_up_at_once(STAFF, desk.top_up_body("alice", "5"), None)
    desk.withdraw("alice", "5")
    assert reads == [[ledger.customer_account(desk.coins["alice"])]] * 2
    assert desk.balance("alice") == (Decimal("100.00"), Decimal("5.00"))


def test_a_withdrawal_paid_out_keeps_the_limit_it_used_and_an_expired_one_gives_it_back(desk: Desk) -> None:
    rule = {"operationType": "BANK_WITHDRAWAL", "currencyCode": "EUR", "role": "INDIVIDUAL", "daily": {"amount": "30"}}
    limits.set_rule(LimitRule.model_validate(rule), STAFF)
    paid, waiting = desk.withdraw("alice", "20"), desk.withdraw("alice", "10")
    for request_id in (paid, waiting):
        desk.pending(request_id)
    payments.decide(STAFF, WITHDRAWAL, paid, accept=True, reason=None)
    assert approval.expire(waiting) == RequestStatus.EXPIRED
    with pytest.raises(limits.LimitExceeded):  # the 20 paid out still counts today; the expired 10 does not
        desk.withdraw("alice", "10.01")
    desk.withdraw("alice", "10")
    assert desk.balance("alice") == (Decimal("70.00"), Decimal("10.00"))


def test_a_requests_events_are_ordered_on_its_account_and_concern_its_organisation(desk: Desk) -> None:
    asked, held = desk.ask_top_up("alice", "5"), desk.withdraw("alice", "6")
    desk.pending(asked)
    payments.decide(STAFF, TOP_UP, asked, accept=True, reason=None)
    credited = payments.top_up_at_once(STAFF, desk.top_up_body("alice", "7"), None).request_identifier
    events = [event for request_id in (asked, held, credited) for event in _events(request_id)]
    assert sorted(event["type"] for event in events) == [
        "top_up.credited",
        "top_up_request.accepted",
        "top_up_request.created",
        "withdrawal.held",
    ]
    for event in events:
        assert outbox_store.accounts_of(event) >= {desk.coins["alice"]}
        assert event["pk"] == f"EVENT#{desk.coins['alice']}"
        assert event["organizationIds"] == ["org-alice"]


def test_one_key_names_one_request_of_each_kind(desk: Desk) -> None:
    """A customer's Idempotency-Key is scoped to the kind of request: a top-up request and a withdrawal sent with
    the same key are two requests, and each retry answers its own."""
    asked, held = desk.ask_top_up("alice", "5", "key-1"), desk.withdraw("alice", "6", "key-1")
    assert asked != held
    assert (_stored(asked)[0].kind, _stored(held)[0].kind) == (TOP_UP, WITHDRAWAL)
    assert (desk.ask_top_up("alice", "5", "key-1"), desk.withdraw("alice", "6", "key-1")) == (asked, held)
    assert desk.balance("alice") == (Decimal("94.00"), Decimal("6.00"))


def test_each_change_of_a_request_is_an_event_of_its_own_id(desk: Desk) -> None:
    """Receivers dedupe events by id: two requests, or two changes of one, never share one."""
    first, second = desk.ask_top_up("alice", "5"), desk.ask_top_up("alice", "6")
    desk.pending(first)
    payments.decide(STAFF, TOP_UP, first, accept=True, reason=None)
    ids = [event["id"] for request_id in (first, second) for event in _events(request_id)]
    assert len(ids) == len(set(ids)) == 3


def test_withdrawal_limits_count_per_account_and_an_accounts_own_rule_wins(desk: Desk) -> None:
    def rule(subject: dict[str, str], amount: str) -> LimitRule:
        limit = {"operationType": "BANK_WITHDRAWAL", "currencyCode": "EUR", "daily": {"amount": amount}}
        return LimitRule.model_validate(limit | subject)

    limits.set_rule(rule({"role": "INDIVIDUAL"}, "30"), STAFF)
    limits.set_rule(rule({"coinSerial": desk.coins["bob"]}, "10"), STAFF)
    desk.withdraw("alice", "30")
    desk.withdraw("bob", "10")  # alice's 30 is not bob's: his own counter, under his own rule
    with pytest.raises(limits.LimitExceeded):
        desk.withdraw("bob", "0.01")
    with pytest.raises(limits.LimitExceeded):
        desk.withdraw("alice", "0.01")
    assert (desk.balance("alice"), desk.balance("bob")) == (
        (Decimal("70.00"), Decimal("30.00")),
        (Decimal("90.00"), Decimal("10.00")),
    )
