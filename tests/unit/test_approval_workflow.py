"""The approval workflow through every branch, on moto's Step Functions with our real handlers."""

import json
import threading
import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from local.lambdas import LocalLambdas
from tests.unit.ledger_world import LedgerWorld, build_world
from wallet import approval, catalog, payments, reconciliation, requests_store
from wallet.auth import Caller
from wallet.ledger import WrongState
from wallet.models.catalog import NewBank
from wallet.models.requests import RequestKind, RequestStatus
from wallet.models.requests_api import BankTopUp, BankWithdrawal
from wallet.models.roles import OrganizationType, Role

STAFF = Caller("staff", "ops@wallet.test", "system", OrganizationType.SYSTEM, Role.SERVICE)


SHORT_DECISION_TIME = {"DecisionTimeoutSeconds": "2", "RetryIntervalSeconds": "1"}


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {"DecisionTimeoutSeconds": "60", "RetryIntervalSeconds": "1"}


class Requests:
    def __init__(self, world: LedgerWorld, lambdas: LocalLambdas):
        self.world = world
        self.lambdas = lambdas
        self.bank = catalog.add_bank(
            NewBank(name="B", bic="DEUTDEFF", swift="DEUTDEFFXXX", country="DE"), STAFF
        ).bank_id
        self.owner = world.customer("alice")
        self.coin = world.open_account("alice")
        world.credit(self.coin, "100.00")

    def withdraw(self, amount: str, method: str = "BANK") -> str:
        body = BankWithdrawal.model_validate(
            {
                "coinSerial": self.coin,
                "amount": amount,
                "bankId": self.bank,
                "accountNumber": "DE8937040044",
                "recipientName": "Alice",
                "paymentMethod": method,
            }
        )
        return payments.create_withdrawal(self.owner, body, None).request_identifier

    def top_up(self, amount: str, method: str = "BANK") -> str:
        body = BankTopUp.model_validate(
            {"coinSerial": self.coin, "amount": amount, "bankId": self.bank, "paymentMethod": method}
        )
        return payments.create_top_up_request(self.owner, body, None).request_identifier

    def status(self, request_id: str, *, leaving: tuple[RequestStatus, ...], seconds: float = 30) -> RequestStatus:
        deadline = time.monotonic() + seconds
        while True:
            with self.lambdas.lock:  # moto is not thread-safe: no read while a workflow step writes
                found = requests_store.get(request_id)
            assert found
            if found[0].status not in leaving or time.monotonic() > deadline:
                return found[0].status
            time.sleep(0.05)

    def history(self, request_id: str) -> list[tuple[str, str | None]]:
        found = requests_store.get(request_id)
        assert found
        return [(step.status.value, step.reason) for step in found[0].history]


@pytest.fixture
def flows(lambdas: LocalLambdas) -> Requests:
    return Requests(build_world(), lambdas)


@pytest.mark.parametrize("world_parameters", [SHORT_DECISION_TIME])
def test_no_decision_in_time_expires_and_releases_the_hold(flows: Requests) -> None:
    request_id = flows.withdraw("30")
    assert flows.world.balance(flows.coin) == (Decimal(70), Decimal(30))
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING, RequestStatus.PENDING)) == RequestStatus.EXPIRED
    assert flows.world.balance(flows.coin) == (Decimal(100), 0)
    assert flows.history(request_id)[-1] == ("EXPIRED", "No decision in time")
    assert reconciliation.reconcile().clean


def test_a_decision_racing_the_expiry_applies_once(flows: Requests) -> None:
    request_id = flows.withdraw("30")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.PENDING
    payments.decide(STAFF, RequestKind.WITHDRAWAL, request_id, True, None)
    assert approval.expire(request_id) == RequestStatus.ACCEPTED  # the timeout fires late: nothing happens
    assert flows.world.balance(flows.coin) == (Decimal(70), 0)
    assert flows.world.balance(flows.coin) == (Decimal(70), 0)
    with pytest.raises(WrongState):
        payments.decide(STAFF, RequestKind.WITHDRAWAL, request_id, False, None)
    assert reconciliation.reconcile().clean


def test_accept_and_decline_read_at_once_apply_once(flows: Requests) -> None:
    request_id = flows.withdraw("30")
    flows.status(request_id, leaving=(RequestStatus.SCREENING,))
    request, _ = requests_store.get(request_id) or (None, None)
    assert request
    approval.apply(request, RequestStatus.PENDING, RequestStatus.ACCEPTED, None)
    with pytest.raises(WrongState):  # the decline read PENDING too, before the accept landed
        approval.apply(request, RequestStatus.PENDING, RequestStatus.DECLINED, None)
    assert flows.world.balance(flows.coin) == (Decimal(70), 0)
    assert reconciliation.reconcile().clean


def test_a_provider_that_keeps_failing_ends_declined_with_the_hold_released(
    flows: Requests, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def unavailable(subject: object) -> object:
        calls.append("provider")
        raise ConnectionError("provider unavailable")

    monkeypatch.setattr(lambdas.layer_module("CardProviderFunction", "wallet.screening"), "card_provider", unavailable)
    # The backoff's 1 + 2 + 4 s pass in a hundredth of the time: what is held is the number of tries and the end.
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=lambda seconds: time.sleep(seconds / 100)))
    request_id = flows.withdraw("30", method="CARD")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.DECLINED
    assert len(calls) == 4  # the first try and three retries with backoff
    assert flows.history(request_id)[-1] == ("DECLINED", "A step of the approval failed (ConnectionError)")
    assert flows.world.balance(flows.coin) == (Decimal(100), 0)
    assert reconciliation.reconcile().clean


def test_a_step_that_fails_once_is_retried_and_the_flow_goes_on(
    flows: Requests, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    aml_screening = lambdas.layer_module("AmlCheckFunction", "wallet.screening")
    real_check = aml_screening.aml_check
    failures = iter([TimeoutError("AML service timed out")])

    def flaky(subject: object) -> object:
        if error := next(failures, None):
            raise error
        return real_check(subject)  # type: ignore[arg-type]

    monkeypatch.setattr(aml_screening, "aml_check", flaky)
    request_id = flows.top_up("20", method="CARD")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.PENDING
    payments.decide(STAFF, RequestKind.TOP_UP, request_id, True, None)
    assert flows.world.balance(flows.coin) == (Decimal(120), 0)
    assert [status for status, _ in flows.history(request_id)] == ["SCREENING", "PENDING", "ACCEPTED"]


class _Answer:
    """A screening function's answer exactly as given, whatever its shape."""

    def __init__(self, answer: dict[str, object]):
        self.answer = answer

    def model_dump(self, **_: object) -> dict[str, object]:
        return self.answer


@pytest.mark.parametrize(
    "answer", [{"cleared": "false"}, {"cleared": "true"}, {"reason": "no verdict"}, {"cleared": None}, {"cleared": 1}]
)
def test_a_screening_answer_that_is_not_a_boolean_true_declines_and_releases_the_hold(
    flows: Requests, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch, answer: dict[str, object]
) -> None:
    aml_screening = lambdas.layer_module("AmlCheckFunction", "wallet.screening")
    monkeypatch.setattr(aml_screening, "aml_check", lambda subject: _Answer(answer))
    request_id = flows.withdraw("30")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.DECLINED
    expected_reason = answer.get("reason", "Declined by screening: no clear answer")
    assert flows.history(request_id)[-1] == ("DECLINED", expected_reason)
    assert flows.world.balance(flows.coin) == (Decimal(100), 0)
    assert reconciliation.reconcile().clean


def _ended(request_id: str, status: str) -> dict[str, Any]:
    """Step Functions' status-change event as the template's rule delivers it."""
    return {
        "version": "0",
        "id": "1",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"executionArn": "x", "stateMachineArn": "y", "name": request_id, "status": status},
    }


def _stop_execution(request_id: str) -> None:
    client = boto3.client("stepfunctions")
    [machine] = client.list_state_machines()["stateMachines"]
    arn = machine["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{request_id}"
    client.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")


def test_an_execution_that_ends_unfinished_declines_its_request_and_releases_the_hold_once(
    flows: Requests, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def unavailable_once(subject: object) -> object:
        calls.append("aml")
        if len(calls) == 1:
            raise ConnectionError("AML service unavailable")
        return _Answer({"cleared": True})  # had the stop not been seen, the request would go on to PENDING

    monkeypatch.setattr(lambdas.layer_module("AmlCheckFunction", "wallet.screening"), "aml_check", unavailable_once)
    retrying, released = threading.Event(), threading.Event()

    def hold_the_retry(context: dict[str, Any], **_: Any) -> None:
        """The workflow's second AML attempt waits here (outside the one-at-a-time lock) until the test has
        stopped the execution: a signal, not a race against the retries' clock."""
        if "AmlCheckFunction" in str(context["local_invocation"]["FunctionName"]) and calls:
            retrying.set()
            released.wait(timeout=60)

    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register_first("before-call.lambda.Invoke", hold_the_retry)
    try:
        request_id = flows.withdraw("30")
        assert retrying.wait(timeout=60)
        # Stopped while an attempt is under way (moto cannot stop an execution waiting on a task token); the
        # interpreter sees the stop once that attempt ends, before any further attempt or the Catch: ABORTED,
        # and the template's rule on ended executions runs the fail-safe.
        _stop_execution(request_id)
        released.set()
        assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.DECLINED
        assert flows.history(request_id)[-1] == ("DECLINED", "The approval workflow ended ABORTED")
        # EventBridge delivers at least once: the same event again changes nothing.
        assert lambdas.invoke("WorkflowFunction", _ended(request_id, "FAILED")) == {"status": "DECLINED"}
        assert [status for status, _ in flows.history(request_id)] == ["SCREENING", "DECLINED"]
        assert flows.world.balance(flows.coin) == (Decimal(100), 0)
        assert reconciliation.reconcile().clean
    finally:
        events.unregister("before-call.lambda.Invoke", hold_the_retry)
        released.set()


@pytest.mark.parametrize("left_in", [RequestStatus.SCREENING, RequestStatus.PENDING])
@pytest.mark.parametrize("ended", ["FAILED", "TIMED_OUT", "ABORTED"])
def test_any_unfinished_end_declines_a_request_left_in_any_state_and_releases_the_hold_once(
    flows: Requests, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch, ended: str, left_in: RequestStatus
) -> None:
    if left_in == RequestStatus.SCREENING:  # an execution that died before screening answered
        monkeypatch.setattr(payments, "_start_workflow", lambda request, owner_name: request)
    request_id = flows.withdraw("30")
    waited = 0 if left_in == RequestStatus.SCREENING else 30
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,), seconds=waited) == left_in
    assert flows.world.balance(flows.coin) == (Decimal(70), Decimal(30))
    for _ in range(2):  # EventBridge delivers at least once
        assert lambdas.invoke("WorkflowFunction", _ended(request_id, ended)) == {"status": "DECLINED"}
    steps = [status for status, _ in flows.history(request_id)]
    assert steps == [*dict.fromkeys(["SCREENING", left_in.value]), "DECLINED"]  # declined once
    assert flows.history(request_id)[-1] == ("DECLINED", f"The approval workflow ended {ended}")
    assert flows.world.balance(flows.coin) == (Decimal(100), 0)
    assert reconciliation.reconcile().clean


def test_the_safety_net_leaves_a_decided_request_as_it_is(flows: Requests, lambdas: LocalLambdas) -> None:
    request_id = flows.withdraw("30")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.PENDING
    payments.decide(STAFF, RequestKind.WITHDRAWAL, request_id, True, None)
    assert lambdas.invoke("WorkflowFunction", _ended(request_id, "TIMED_OUT")) == {"status": "ACCEPTED"}
    assert flows.world.balance(flows.coin) == (Decimal(70), 0)


def test_await_decision_throttled_once_still_reaches_pending(flows: Requests) -> None:
    throttled: list[str] = []

    def throttle_once(context: dict[str, Any], **_: Any) -> None:
        payload = json.loads(context["local_invocation"].get("Payload") or b"{}")
        if payload.get("step") == "AWAIT_DECISION" and not throttled:
            throttled.append(payload["requestIdentifier"])
            raise ClientError(
                {
                    "Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": "1"},
                },
                "Invoke",
            )

    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    events.register_first("before-call.lambda.Invoke", throttle_once)
    try:
        request_id = flows.withdraw("30")
        assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.PENDING
    finally:
        events.unregister("before-call.lambda.Invoke", throttle_once)
    assert throttled == [request_id]
    payments.decide(STAFF, RequestKind.WITHDRAWAL, request_id, True, None)
    assert flows.world.balance(flows.coin) == (Decimal(70), 0)


def test_a_retried_await_decision_only_replaces_the_token(flows: Requests) -> None:
    request_id = flows.withdraw("30")
    assert flows.status(request_id, leaving=(RequestStatus.SCREENING,)) == RequestStatus.PENDING
    history = flows.history(request_id)
    assert approval.await_decision(request_id, "second-token") == RequestStatus.PENDING
    found = requests_store.get(request_id)
    assert found
    assert found[1]["taskToken"] == "second-token"
    assert flows.history(request_id) == history
