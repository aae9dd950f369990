"""The guide's money-in and money-out flows over HTTP, with the approval workflow running on moto's
Step Functions interpreter and our real handlers: balances to the cent, reconciliation after each."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from local.streams import LocalStreams
from tests.conftest import Api


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {
        "DecisionTimeoutSeconds": "30",
        "RetryIntervalSeconds": "1",
        "AmlDeniedNames": "Mallory Evil",
        "CardProviderLimit": "500",
    }


ACCOUNT_NUMBER = "DE89370400440532013000"  # where the customer withdraws to
RECIPIENT = "Alice Doe"


class Wallet:
    """An issuer with commissions on every operation type, a bank, and a customer with an account."""

    def __init__(self, api: Api, admin: str):
        self.api, self.admin = api, admin
        currency = {"code": "EUR", "name": "Euro", "fractionalDigits": 2, "amlThreshold": "1000"}
        api.post("/currencies", currency, admin)
        self.issuer = api.post("/issuers", {"currencyCode": "EUR", "name": "EUR"}, admin).json()["id"]
        for operation, percent, fixed in (
            ("BANK_TOP_UP", "0", "0.50"),
            ("CARD_TOP_UP", "2", "0"),
            ("BANK_WITHDRAWAL", "1", "1.00"),
            ("CARD_WITHDRAWAL", "1.5", "0"),
        ):
            rule = {"operationType": operation, "issuerId": self.issuer, "percent": percent, "fixed": fixed}
            assert api.post("/commissions", rule, admin).status_code == 201
        bank = {"name": "Bank", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "DE"}
        self.bank = api.post("/bank-catalog", bank, admin).json()["bankId"]
        self.customer = self.new_customer("alice", "Alice Doe")
        self.coin = api.post("/coins", {"issuerId": self.issuer}, self.customer).json()["coinSerial"]

    def new_customer(self, name: str, full_name: str) -> str:
        body = {"login": f"{name}@example.com", "password": "Cust#2026", "role": "individual", "name": full_name}
        assert self.api.post("/api/v1/users", body, self.admin).status_code == 201
        return self.api.token(f"{name}@example.com", "Cust#2026")

    def top_up_at_once(self, amount: str) -> dict[str, Any]:
        body = {"coinSerial": self.coin, "amount": amount, "bankId": self.bank}
        answer = self.api.post("/bank-top-ups/with-bank", body, self.admin)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def request(self, path: str, token: str | None = None, **body: Any) -> dict[str, Any]:
        answer = self.api.post(path, {"coinSerial": self.coin, "bankId": self.bank, **body}, token or self.customer)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def withdrawal(self, amount: str, **body: Any) -> dict[str, Any]:
        body = {"accountNumber": ACCOUNT_NUMBER, "recipientName": RECIPIENT, **body}
        return self.request("/bank-withdrawals/with-bank", amount=amount, **body)

    def withdrawal_body(self, amount: str) -> dict[str, Any]:
        """The customer's withdrawal to their bank account, for tests that post it themselves."""
        body = {"coinSerial": self.coin, "amount": amount, "bankId": self.bank}
        return body | {"accountNumber": ACCOUNT_NUMBER, "recipientName": RECIPIENT}

    def status_once_settled(
        self, request_id: str, *, leaving: str = "SCREENING", seconds: float = 30
    ) -> dict[str, Any]:
        """Waits (bounded) for the workflow to move the request on from `leaving`."""
        deadline = time.monotonic() + seconds
        while True:
            current = self.api.get(f"/requests/{request_id}", self.admin).json()
            if current["status"] != leaving or time.monotonic() > deadline:
                return dict(current)
            time.sleep(0.1)

    def balances(self) -> tuple[str, str]:
        [coin] = self.api.get("/coins", self.customer).json()["coins"]
        return coin["availableBalance"], coin["heldBalance"]

    def reconciles(self) -> bool:
        return bool(self.api.reconciliation(self.admin)["clean"])


@pytest.fixture
def wallet(api: Api, admin_token: str) -> Wallet:
    return Wallet(api, admin_token)


def test_bank_top_up_already_received_credits_at_once(
    wallet: Wallet, embedded_aws: EmbeddedAws, streams: LocalStreams
) -> None:
    quote = wallet.api.post("/bank-top-ups/calculate", {"coinSerial": wallet.coin, "amount": 100}, wallet.customer)
    assert quote.json() == {"amount": "100.00", "commission": "0.50", "totalAmount": "99.50"}
    done = wallet.top_up_at_once("100")
    assert (done["status"], done["commission"], done["totalAmount"]) == ("ACCEPTED", "0.50", "99.50")
    assert wallet.balances() == ("99.50", "0.00")
    streams.drain()
    published = [event["DetailType"] for event in embedded_aws.outbox.events]
    assert published == ["coin.opened", "top_up.credited"]
    assert wallet.reconciles()


def test_bank_withdrawal_holds_then_accept_settles(
    wallet: Wallet, embedded_aws: EmbeddedAws, streams: LocalStreams
) -> None:
    wallet.top_up_at_once("100")
    quote = wallet.api.post("/bank-withdrawals/calculate", {"coinSerial": wallet.coin, "amount": 40}, wallet.customer)
    assert quote.json() == {"amount": "40.00", "commission": "1.40", "totalAmount": "41.40"}
    created = wallet.withdrawal("40")
    assert created["status"] == "SCREENING"
    assert wallet.balances() == ("58.10", "41.40")
    assert wallet.status_once_settled(created["requestIdentifier"])["status"] == "PENDING"
    accepted = wallet.api.post(f"/bank-withdrawals/{created['requestIdentifier']}/accept", {}, wallet.admin)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "ACCEPTED")
    assert wallet.balances() == ("58.10", "0.00")
    request = wallet.api.get(f"/requests/{created['requestIdentifier']}", wallet.customer).json()
    assert [step["status"] for step in request["history"]] == ["SCREENING", "PENDING", "ACCEPTED"]
    assert wallet.reconciles()
    streams.drain()
    published = [event["DetailType"] for event in embedded_aws.outbox.events]
    assert published[-2:] == ["withdrawal.held", "withdrawal.accepted"]


def test_bank_withdrawal_declined_releases_the_hold(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    created = wallet.withdrawal("10")
    wallet.status_once_settled(created["requestIdentifier"])
    declined = wallet.api.post(
        f"/bank-withdrawals/{created['requestIdentifier']}/decline", {"reason": "wrong IBAN"}, wallet.admin
    )
    assert declined.json()["status"] == "DECLINED"
    assert wallet.balances() == ("99.50", "0.00")
    history = wallet.api.get(f"/requests/{created['requestIdentifier']}", wallet.customer).json()["history"]
    assert history[-1] == {
        "status": "DECLINED",
        "at": history[-1]["at"],
        "reason": "wrong IBAN",
        "actor": history[-1]["actor"],
    }
    assert history[-1]["actor"]["role"] == "ADMINISTRATOR"
    assert wallet.reconciles()


def test_card_top_up_through_the_provider_then_accepted(wallet: Wallet) -> None:
    created = wallet.request("/bank-top-ups/create-request/with-bank", amount="200", paymentMethod="card")
    assert created["commission"] == "4.00"
    assert wallet.status_once_settled(created["requestIdentifier"])["status"] == "PENDING"
    assert wallet.balances() == ("0.00", "0.00")  # nothing moves before the decision
    wallet.api.post(f"/bank-top-ups/{created['requestIdentifier']}/accept", {}, wallet.admin)
    assert wallet.balances() == ("196.00", "0.00")
    assert wallet.reconciles()


def test_card_withdrawal_accepted(wallet: Wallet) -> None:
    wallet.top_up_at_once("300")
    created = wallet.withdrawal("100", paymentMethod="CARD")
    assert created["totalAmount"] == "101.50"
    assert wallet.status_once_settled(created["requestIdentifier"])["status"] == "PENDING"
    wallet.api.post(f"/bank-withdrawals/{created['requestIdentifier']}/accept", {}, wallet.admin)
    assert wallet.balances() == ("198.00", "0.00")
    assert wallet.reconciles()


def test_top_up_request_declined_moves_nothing(wallet: Wallet) -> None:
    created = wallet.request("/bank-top-ups/create-request/with-bank", amount="50")
    wallet.status_once_settled(created["requestIdentifier"])
    declined = wallet.api.post(f"/bank-top-ups/{created['requestIdentifier']}/decline", {}, wallet.admin)
    assert declined.json()["status"] == "DECLINED"
    assert wallet.balances() == ("0.00", "0.00")
    assert wallet.reconciles()


@pytest.mark.parametrize(
    ("amount", "method", "reason"),
    [("1500", "BANK", "AML: amount over"), ("600", "CARD", "Card provider: amount over")],
)
def test_screening_declines_on_its_own(wallet: Wallet, amount: str, method: str, reason: str) -> None:
    wallet.top_up_at_once("2000")
    created = wallet.withdrawal(amount, paymentMethod=method)
    settled = wallet.status_once_settled(created["requestIdentifier"])
    assert settled["status"] == "DECLINED"
    assert settled["history"][-1]["reason"].startswith(reason)
    assert wallet.balances() == ("1999.50", "0.00")
    assert wallet.reconciles()


def test_a_denied_name_is_declined_by_aml(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    created = wallet.withdrawal("10", recipientName="mallory evil")
    settled = wallet.status_once_settled(created["requestIdentifier"])
    assert (settled["status"], settled["history"][-1]["reason"]) == (
        "DECLINED",
        "AML: mallory evil is on the deny list",
    )
    assert wallet.balances() == ("99.50", "0.00")


def test_a_decision_applies_once(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    created = wallet.withdrawal("10")
    request_id = created["requestIdentifier"]
    wallet.status_once_settled(request_id)
    answers: list[int] = []

    def decide(action: str) -> None:
        answers.append(wallet.api.post(f"/bank-withdrawals/{request_id}/{action}", {}, wallet.admin).status_code)

    threads = [threading.Thread(target=decide, args=(action,)) for action in ("accept", "decline", "accept")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409, 409]
    final = wallet.api.get(f"/requests/{request_id}", wallet.customer).json()["status"]
    assert wallet.balances() == ({"ACCEPTED": "88.40", "DECLINED": "99.50"}[final], "0.00")
    assert wallet.reconciles()


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/bank-withdrawals/with-bank", {"amount": "500"}, 422, "INSUFFICIENT_FUNDS"),
        ("/bank-withdrawals/with-bank", {"amount": "1.001"}, 400, "VALIDATION_ERROR"),
        ("/bank-withdrawals/with-bank", {"bankId": "no-such-bank"}, 404, "NOT_FOUND"),
        ("/bank-withdrawals/with-bank", {"coinSerial": "0" * 32}, 404, "NOT_FOUND"),
        ("/bank-withdrawals/with-bank", {"accountNumber": "!"}, 400, "VALIDATION_ERROR"),
        ("/bank-top-ups/create-request/with-bank", {"paymentMethod": "cash"}, 400, "VALIDATION_ERROR"),
        ("/bank-top-ups/create-request/with-bank", {"amount": "0.40"}, 422, "AMOUNT_BELOW_COMMISSION"),
    ],
)
def test_bad_requests_move_nothing(wallet: Wallet, path: str, body: dict[str, str], status: int, code: str) -> None:
    wallet.top_up_at_once("100")
    full = {"coinSerial": wallet.coin, "amount": "10", "bankId": wallet.bank, "accountNumber": "DE8937040044"}
    answer = wallet.api.post(path, {**full, "recipientName": "Alice", **body}, wallet.customer)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert wallet.balances() == ("99.50", "0.00")


def test_others_neither_see_nor_spend_nor_decide(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    created = wallet.withdrawal("10")
    request_id = created["requestIdentifier"]
    mallory = wallet.new_customer("mallory", "Mallory")
    assert wallet.api.get(f"/requests/{request_id}", mallory).status_code == 404
    assert wallet.api.post(f"/bank-withdrawals/{request_id}/accept", {}, wallet.customer).status_code == 403
    stolen = {"coinSerial": wallet.coin, "amount": "5", "bankId": wallet.bank, "accountNumber": "DE8937040044"}
    assert wallet.api.post("/bank-withdrawals/with-bank", {**stolen, "recipientName": "M"}, mallory).status_code == 404
    assert wallet.api.post("/bank-top-ups/with-bank", {**stolen}, wallet.customer).status_code == 403
    assert wallet.api.post("/bank-top-ups/no-such-request/accept", {}, wallet.admin).status_code == 404
    wallet.status_once_settled(request_id)
    assert wallet.api.post(f"/bank-top-ups/{request_id}/accept", {}, wallet.admin).status_code == 404  # not a top-up


def test_the_same_idempotency_key_creates_one_withdrawal(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    headers = {"Idempotency-Key": "withdraw-1"}
    body = wallet.withdrawal_body("10")
    first = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    again = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    assert first.json()["requestIdentifier"] == again.json()["requestIdentifier"]
    assert wallet.balances() == ("88.40", "11.10")
    other = wallet.api.post(
        "/bank-withdrawals/with-bank", {**body, "amount": "20"}, wallet.customer, headers=dict(headers)
    )
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


@pytest.mark.parametrize(
    ("path", "token"),
    [("/bank-top-ups/with-bank", "admin"), ("/bank-top-ups/create-request/with-bank", "customer")],
    ids=["staff top-up", "top-up request"],
)
def test_the_same_idempotency_key_creates_one_top_up(wallet: Wallet, path: str, token: str) -> None:
    caller = getattr(wallet, token)
    body = {"coinSerial": wallet.coin, "amount": "10", "bankId": wallet.bank}
    first = wallet.api.post(path, body, caller, headers={"Idempotency-Key": "top-up-1"})
    again = wallet.api.post(path, body, caller, headers={"Idempotency-Key": "top-up-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["requestIdentifier"] == again.json()["requestIdentifier"]
    other = wallet.api.post(path, {**body, "amount": "20"}, caller, headers={"Idempotency-Key": "top-up-1"})
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    if path == "/bank-top-ups/with-bank":
        assert wallet.balances() == ("9.50", "0.00")  # credited once
    assert wallet.reconciles()


def _unreachable(**_: Any) -> None:
    raise EndpointConnectionError(endpoint_url="https://unreachable.example")


def _refused(**_: Any) -> None:
    raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution")


@pytest.mark.parametrize("failure", [_unreachable, _refused], ids=["connection error", "client error"])
def test_a_withdrawal_whose_workflow_cannot_start_is_declined_and_released(
    wallet: Wallet, lambdas: LocalLambdas, failure: Callable[..., None]
) -> None:
    """The hold is committed: the answer is the request as it stands (declined, released), never a 5xx."""
    wallet.top_up_at_once("100")
    headers = {"Idempotency-Key": "withdraw-unstarted"}
    body = wallet.withdrawal_body("40")
    client_events = lambdas.layer_module("RequestsFunction", "wallet.aws").stepfunctions().meta.events
    client_events.register("before-parameter-build.sfn.StartExecution", failure)
    try:
        first = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    finally:
        client_events.unregister("before-parameter-build.sfn.StartExecution", failure)
    assert (first.status_code, first.json()["status"]) == (201, "DECLINED"), first.text
    again = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    assert again.json() == first.json()
    assert wallet.balances() == ("99.50", "0.00")
    request = wallet.api.get(f"/requests/{first.json()['requestIdentifier']}", wallet.customer).json()
    assert [(step["status"], step.get("reason")) for step in request["history"]] == [
        ("SCREENING", None),
        ("DECLINED", "The approval workflow could not start"),
    ]
    assert wallet.reconciles()


def test_a_withdrawal_that_can_be_neither_started_nor_declined_starts_on_its_retry(
    wallet: Wallet, lambdas: LocalLambdas
) -> None:
    """Step Functions and DynamoDB both down after the hold: a 5xx, nothing lost; the retry starts the workflow."""
    wallet.top_up_at_once("100")
    headers = {"Idempotency-Key": "withdraw-retried"}
    body = wallet.withdrawal_body("40")
    functions_events = lambdas.layer_module("RequestsFunction", "wallet.aws").stepfunctions().meta.events
    dynamodb_events = lambdas.layer_module("RequestsFunction", "wallet.aws").dynamodb().meta.events

    def both_down(**_: Any) -> None:
        dynamodb_events.register("before-parameter-build.dynamodb", _unreachable)
        _unreachable()

    functions_events.register("before-parameter-build.sfn.StartExecution", both_down)
    try:
        first = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    finally:
        functions_events.unregister("before-parameter-build.sfn.StartExecution", both_down)
        dynamodb_events.unregister("before-parameter-build.dynamodb", _unreachable)
    assert first.status_code >= 500
    assert wallet.balances() == ("58.10", "41.40")  # held, not lost
    again = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    assert (again.status_code, again.json()["status"]) == (201, "SCREENING"), again.text
    assert wallet.status_once_settled(again.json()["requestIdentifier"])["status"] == "PENDING"


def test_a_replay_whose_workflow_start_fails_declines_nothing(wallet: Wallet, lambdas: LocalLambdas) -> None:
    """The first call's execution may be running: a replay that cannot reach Step Functions leaves the request
    as it is, and a later replay starts its workflow."""
    wallet.top_up_at_once("100")
    headers = {"Idempotency-Key": "withdraw-replayed-while-down"}
    body = wallet.withdrawal_body("40")
    client_events = lambdas.layer_module("RequestsFunction", "wallet.aws").stepfunctions().meta.events

    def taken_but_not_run(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("", 200, {}, None), {"executionArn": "arn:aws:states:::execution:taken"}

    client_events.register("before-call.sfn.StartExecution", taken_but_not_run)  # the request stays SCREENING
    try:
        first = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    finally:
        client_events.unregister("before-call.sfn.StartExecution", taken_but_not_run)
    assert (first.status_code, first.json()["status"]) == (201, "SCREENING"), first.text
    request_id = first.json()["requestIdentifier"]
    client_events.register("before-parameter-build.sfn.StartExecution", _unreachable)
    try:
        again = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    finally:
        client_events.unregister("before-parameter-build.sfn.StartExecution", _unreachable)
    assert (again.status_code, again.json()) == (201, first.json())
    assert wallet.api.get(f"/requests/{request_id}", wallet.customer).json()["status"] == "SCREENING"
    assert wallet.balances() == ("58.10", "41.40")  # still held, nothing declined
    last = wallet.api.post("/bank-withdrawals/with-bank", body, wallet.customer, headers=dict(headers))
    assert last.json() == first.json()
    assert wallet.status_once_settled(request_id)["status"] == "PENDING"  # this replay started the workflow


@pytest.mark.parametrize(
    ("path", "token", "balances"),
    [
        ("/bank-withdrawals/with-bank", "customer", ("88.90", "11.10")),  # held once
        ("/bank-top-ups/create-request/with-bank", "customer", ("100.00", "0.00")),  # nothing moves until accepted
        ("/bank-top-ups/with-bank", "admin", ("109.50", "0.00")),  # credited once
    ],
    ids=["withdrawal", "top-up request", "staff top-up"],
)
def test_a_replay_into_a_frozen_account_answers_its_request_before_any_check(
    wallet: Wallet, path: str, token: str, balances: tuple[str, str]
) -> None:
    caller = getattr(wallet, token)
    wallet.request("/bank-top-ups/with-bank", wallet.admin, amount="100.50")
    body = {"coinSerial": wallet.coin, "amount": "10", "bankId": wallet.bank}
    if path == "/bank-withdrawals/with-bank":
        body |= {"accountNumber": ACCOUNT_NUMBER, "recipientName": RECIPIENT}
    first = wallet.api.post(path, body, caller, headers={"Idempotency-Key": "before-the-freeze"})
    assert first.status_code == 201, first.text
    # The workflow is done with it before the freeze.
    wallet.status_once_settled(first.json()["requestIdentifier"])
    frozen = wallet.api.post(f"/coins/{wallet.coin}/freeze", {"reason": "court order"}, wallet.admin)
    assert frozen.json()["status"] == "FROZEN"
    assert wallet.api.post(path, body, caller, headers={"Idempotency-Key": "after-the-freeze"}).status_code == 422
    again = wallet.api.post(path, body, caller, headers={"Idempotency-Key": "before-the-freeze"})
    assert (again.status_code, again.json()) == (201, first.json())  # the first answer, to the byte
    assert wallet.balances() == balances
    assert wallet.reconciles()
