"""The API correct under AWS's rules, in the strict embedded world: DynamoDB's trimmed numbers,
transactions cancelled by conflicts and throttles, and the SES/SNS sandboxes."""

import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from tests.conftest import Api
from wallet.dynamo import TRANSACTION_ATTEMPTS

Item = dict[str, Any]


class Wallet:
    """EUR (2 digits), 1% on top-ups, 0.10 + 0% on transfers, a bank, two customers with accounts."""

    def __init__(self, api: Api, admin: str):
        self.api, self.admin = api, admin
        api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin)
        self.issuer = api.post("/issuers", {"currencyCode": "EUR", "name": "EUR"}, admin).json()["id"]
        for operation, percent, fixed in (("BANK_TOP_UP", "1", "0"), ("TRANSFER", "0", "0.10")):
            rule = {"operationType": operation, "issuerId": self.issuer, "percent": percent, "fixed": fixed}
            assert api.post("/commissions", rule, admin).status_code == 201
        bank = {"name": "Bank", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "DE"}
        self.bank = api.post("/bank-catalog", bank, admin).json()["bankId"]
        self.alice, self.alice_coin = self.customer("alice")
        self.bob, self.bob_coin = self.customer("bob")

    def customer(self, name: str) -> tuple[str, str]:
        body = {"login": f"{name}@example.com", "password": "Cust#2026", "role": "individual"}
        assert self.api.post("/api/v1/users", body, self.admin).status_code == 201
        token = self.api.token(f"{name}@example.com", "Cust#2026")
        return token, self.api.post("/coins", {"issuerId": self.issuer}, token).json()["coinSerial"]

    def top_up(self, amount: str, key: str) -> Any:
        body = {"coinSerial": self.alice_coin, "amount": amount, "bankId": self.bank}
        return self.api.post("/bank-top-ups/with-bank", body, self.admin, headers={"Idempotency-Key": key})

    def transfer(self, amount: str, key: str) -> Any:
        body = {"sourceCoinSerial": self.alice_coin, "destinationCoinSerial": self.bob_coin, "amount": amount}
        return self.api.post("/transfers", body, self.alice, headers={"Idempotency-Key": key})


@pytest.fixture
def wallet(api: Api, admin_token: str) -> Wallet:
    return Wallet(api, admin_token)


def _only(kind: str, value: str) -> Any:
    """The cancellation reason `kind` for the transaction's items whose pk has `value`, none for the others."""

    def reason(item: Item) -> str | None:
        ((_, write),) = item.items()
        key = write.get("Item") or write.get("Key") or {}
        return kind if value in str(key.get("pk", "")) else None

    return reason


# --- numbers: DynamoDB gives 100.00 back as 100 ---


def test_money_read_back_is_answered_in_the_currency_digits(wallet: Wallet) -> None:
    first = wallet.top_up("100.00", "top-up-1")
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["commission"]) == ("100.00", "1.00")
    replay = wallet.top_up("100.00", "top-up-1")
    assert (replay.status_code, replay.content) == (201, first.content)
    request = wallet.api.get(f"/requests/{first.json()['requestIdentifier']}", wallet.admin).json()
    assert (request["amount"], request["commission"], request["totalAmount"]) == ("100.00", "1.00", "99.00")
    statement = wallet.api.post("/transactions/view", {"filter": {"coinSerial": wallet.alice_coin}}, wallet.alice)
    [entry] = statement.json()["records"]
    assert (entry["amount"], entry["balanceAfter"]) == ("99.00", "99.00")


def test_a_transfer_replay_repeats_the_first_answer_byte_for_byte(wallet: Wallet) -> None:
    wallet.top_up("100.00", "top-up-1")
    first = wallet.transfer("10.00", "transfer-1")
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["commission"]) == ("10.00", "0.10")
    replay = wallet.transfer("10.00", "transfer-1")
    assert (replay.status_code, replay.content) == (201, first.content)


def test_reconciliation_totals_and_commission_rules_keep_their_digits(wallet: Wallet) -> None:
    wallet.top_up("100.00", "top-up-1")
    report = wallet.api.reconciliation(wallet.admin)
    assert report["clean"]
    assert [(total["currency"], total["total"]) for total in report["currencies"]] == [("EUR", "0.00")]
    rules = wallet.api.get("/commissions", wallet.admin).json()["records"]
    assert sorted(rule["fixed"] for rule in rules) == ["0.00", "0.10"]  # in the currency's digits


# --- transactions cancelled by conflicts and throttles are retried, never a false 409 ---


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_new_currency_cancelled_by_a_conflict_is_retried(
    api: Api, admin_token: str, embedded_aws: EmbeddedAws, reason: str
) -> None:
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only(reason, "CURRENCY#"))
    created = api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin_token)
    assert created.status_code == 201, created.text
    again = api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin_token)
    assert (again.status_code, again.json()["code"]) == (409, "DUPLICATE_CURRENCY")


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_bank_whose_code_claim_conflicts_is_retried_not_taken(
    api: Api, admin_token: str, embedded_aws: EmbeddedAws, reason: str
) -> None:
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only(reason, "BIC#"))
    bank = {"name": "Bank", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "DE"}
    created = api.post("/bank-catalog", bank, admin_token)
    assert created.status_code == 201, created.text
    taken = api.post("/bank-catalog", {**bank, "swift": "DEUTDEFF001"}, admin_token)
    assert [detail["field"] for detail in taken.json()["details"]] == ["bic"]


def test_a_top_up_request_whose_creation_conflicts_is_retried(wallet: Wallet, embedded_aws: EmbeddedAws) -> None:
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only("TransactionConflict", "REQUEST#"))
    body = {"coinSerial": wallet.alice_coin, "amount": "10.00", "bankId": wallet.bank}
    path = "/bank-top-ups/create-request/with-bank"
    created = wallet.api.post(path, body, wallet.alice, headers={"Idempotency-Key": "request-1"})
    assert created.status_code == 201, created.text
    replay = wallet.api.post(path, body, wallet.alice, headers={"Idempotency-Key": "request-1"})
    assert replay.json()["requestIdentifier"] == created.json()["requestIdentifier"]


def test_a_decision_whose_write_conflicts_is_retried_not_wrong_state(wallet: Wallet, embedded_aws: EmbeddedAws) -> None:
    body = {"coinSerial": wallet.alice_coin, "amount": "10.00", "bankId": wallet.bank}
    created = wallet.api.post("/bank-top-ups/create-request/with-bank", body, wallet.alice).json()
    request_id = created["requestIdentifier"]
    deadline = time.monotonic() + 30
    while wallet.api.get(f"/requests/{request_id}", wallet.admin).json()["status"] == "SCREENING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only("TransactionConflict", "REQUEST#"))
    declined = wallet.api.post(f"/bank-top-ups/{request_id}/decline", {}, wallet.admin)
    assert (declined.status_code, declined.json()["status"]) == (200, "DECLINED")


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_posting_cancelled_by_a_conflict_or_throttle_is_retried(
    wallet: Wallet, embedded_aws: EmbeddedAws, reason: str
) -> None:
    wallet.top_up("100.00", "top-up-1")
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only(reason, "PROCESS#"))
    done = wallet.transfer("10.00", "transfer-1")
    assert done.status_code == 201, done.text
    coins = wallet.api.get("/coins", wallet.bob).json()["coins"]
    assert coins[0]["availableBalance"] == "10.00"


def test_a_transaction_that_keeps_conflicting_is_a_409_not_a_500(
    api: Api, admin_token: str, embedded_aws: EmbeddedAws
) -> None:
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only("TransactionConflict", "CURRENCY#"), times=TRANSACTION_ATTEMPTS)
    refused = api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin_token)
    assert (refused.status_code, refused.json()["code"]) == (409, "CONCURRENT_UPDATE")


def _otp(api: Api, login: str) -> str:
    records = api.get("/_local/outbox", params={"to": login}).json()["records"]
    match = re.search(r"\b(\d{6})\b", records[-1]["body"])
    assert match, records
    return match.group(1)


def test_a_registration_confirmed_during_a_conflict_is_retried(api: Api, embedded_aws: EmbeddedAws) -> None:
    assert api.post("/registration", {"login": "carol@example.com", "role": "individual"}).status_code == 202
    assert embedded_aws.strict
    embedded_aws.strict.cancel_transaction(_only("TransactionConflict", "LOGIN#"))
    confirmation = {"login": "carol@example.com", "otp": _otp(api, "carol@example.com"), "password": "Carol#2026"}
    confirmed = api.post("/registration/confirm", confirmation)
    assert confirmed.status_code == 201, confirmed.text
    assert api.token("carol@example.com", "Carol#2026")


# --- SES and SNS sandboxes: only verified recipients ---


@pytest.mark.parametrize("login", ["dave@example.com", "+4915112345678"])
def test_a_code_the_sandbox_refuses_is_a_clear_422_and_a_retry_works_once_verified(
    api: Api, embedded_aws: EmbeddedAws, login: str
) -> None:
    embedded_aws.outbox.sandbox = True
    refused = api.post("/registration", {"login": login, "role": "individual"})
    assert (refused.status_code, refused.json()["code"]) == (422, "RECIPIENT_REFUSED")
    assert refused.json()["details"] == [{"field": "login", "issue": "refused"}]
    embedded_aws.outbox.verify(login)
    assert api.post("/registration", {"login": login, "role": "individual"}).status_code == 202
    confirmation = {"login": login, "otp": _otp(api, login), "password": "Dave#2026x"}
    assert api.post("/registration/confirm", confirmation).status_code == 201


def _ses_unreachable(**_: Any) -> None:
    raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")


def _ses_throttled(**_: Any) -> None:
    raise ClientError({"Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded"}}, "SendEmail")


@pytest.mark.parametrize("failure", [_ses_unreachable, _ses_throttled], ids=["connection error", "throttled"])
def test_a_code_that_cannot_be_sent_now_is_a_retryable_503_and_a_retry_works(
    api: Api, lambdas: LocalLambdas, failure: Callable[..., None]
) -> None:
    client_events = lambdas.layer_module("AuthFunction", "wallet.aws").ses().meta.events
    client_events.register("before-parameter-build.ses.SendEmail", failure)
    try:
        unsent = api.post("/registration", {"login": "erin@example.com", "role": "individual"})
    finally:
        client_events.unregister("before-parameter-build.ses.SendEmail", failure)
    assert (unsent.status_code, unsent.json()["code"]) == (503, "MESSAGE_NOT_SENT"), unsent.text
    assert api.get("/_local/outbox", params={"to": "erin@example.com"}).json()["records"] == []
    assert api.post("/registration", {"login": "erin@example.com", "role": "individual"}).status_code == 202
    confirmation = {"login": "erin@example.com", "otp": _otp(api, "erin@example.com"), "password": "Erin#2026x"}
    assert api.post("/registration/confirm", confirmation).status_code == 201


# --- every other store path: a conflict or throttle is retried (the change made once), a real condition is its 4xx ---

HOOK = "https://93.184.216.34/hook"  # a public address (resolved without DNS); nothing is delivered in these tests
Inject = Callable[..., None]  # (pk part, reason=this round's): cancels the next transaction on the items with that pk


def _admin_creates_a_user(w: Wallet, inject: Inject, n: int) -> str:
    body = {"login": f"carol{n}@example.com", "password": "Carol#2026", "role": "individual"}
    inject("LOGIN#")
    assert w.api.post("/api/v1/users", body, w.admin).status_code == 201
    taken = w.api.post("/api/v1/users", body, w.admin)  # the login claim's real condition
    assert (taken.status_code, taken.json()["code"]) == (409, "DUPLICATE_LOGIN")
    return "USER_CREATED"


def _password_change(w: Wallet, inject: Inject, n: int) -> str:
    inject("LOGIN#")
    change = {"currentPassword": f"Cust#{2026 + n}", "newPassword": f"Cust#{2027 + n}"}
    assert w.api.post("/users/me/password", change, w.alice).status_code == 200
    w.alice = w.api.token("alice@example.com", f"Cust#{2027 + n}")  # the change revoked the earlier tokens
    return "PASSWORD_CHANGED"


def _user_disabled_enabled(w: Wallet, inject: Inject, n: int) -> str:
    users = w.api.post("/users/view", {"filter": {"login": "bob@example.com"}}, w.admin).json()["records"]
    change, refused = (("disable", 401), ("enable", 200))[n]
    inject("USER#")
    assert w.api.post(f"/api/v1/users/{users[0]['id']}/{change}", None, w.admin).status_code == 200
    assert w.api.post("/authorization", {"login": "bob@example.com", "password": "Cust#2026"}).status_code == refused
    return f"USER_{change.upper()}D"


def _issuer(w: Wallet, inject: Inject, n: int) -> str:
    inject("ISSUER#")
    assert w.api.post("/issuers", {"currencyCode": "EUR", "name": f"Issuer {n}"}, w.admin).status_code == 201
    return "ISSUER_CREATED"


def _commission_rule(w: Wallet, inject: Inject, n: int) -> str:
    inject("COMMISSION#")
    rule = {"operationType": "TRANSFER", "issuerId": w.issuer, "percent": str(n), "fixed": "0"}
    assert w.api.post("/commissions", rule, w.admin).status_code == 201
    return "COMMISSION_SET"


def _limit(w: Wallet, inject: Inject, n: int) -> str:
    inject("LIMIT#")
    rule = {"operationType": "TRANSFER", "currencyCode": "EUR", "role": "INDIVIDUAL", "perOperation": f"5{n}.00"}
    assert w.api.post("/limits", rule, w.admin).status_code == 201
    return "LIMIT_SET"


def _webhook_subscribed(w: Wallet, inject: Inject, n: int) -> str:
    inject("WEBHOOK#")
    assert w.api.post("/webhooks", {"url": HOOK, "events": ["*"]}, w.admin).status_code == 201
    return "WEBHOOK_CREATED"


def _webhook_stopped(w: Wallet, inject: Inject, n: int) -> str:
    hooks = [w.api.post("/webhooks", {"url": HOOK, "events": ["*"]}, w.admin) for _ in "ab"]
    first, second = (hook.json()["webhookId"] for hook in hooks)
    inject("WEBHOOK#")
    assert w.api.delete(f"/webhooks/{first}", w.admin).status_code == 200
    inject("WEBHOOK#", "ConditionalCheckFailed")  # stopped by another call between the read and the write
    assert w.api.delete(f"/webhooks/{second}", w.admin).status_code == 404
    return "WEBHOOK_STOPPED"


def _card_issued(w: Wallet, inject: Inject, n: int) -> str:
    inject("CARD")
    assert w.api.post("/smart-cards", {"coinSerial": w.alice_coin}, w.admin).status_code == 201
    inject("CARDNUMBER#", "ConditionalCheckFailed")  # the number drawn is taken: another is drawn
    assert w.api.post("/smart-cards", {"coinSerial": w.bob_coin}, w.admin).status_code == 201
    return "CARD_ISSUED"


def _card_blocked(w: Wallet, inject: Inject, n: int) -> str:
    card = w.api.post("/smart-cards", {"coinSerial": w.alice_coin}, w.admin).json()["smartCardId"]
    inject("CARD#")
    blocked = w.api.post(f"/smart-cards/{card}/block", {}, w.admin)
    assert (blocked.status_code, blocked.json()["status"]) == (200, "BLOCKED")
    return "CARD_BLOCKED"


def _account_opened(w: Wallet, inject: Inject, n: int) -> str:
    inject("COIN#")
    assert w.api.post("/coins", {"issuerId": w.issuer}, w.alice).status_code == 201
    return "COIN_OPENED"


def _account_frozen_unfrozen_closed(w: Wallet, inject: Inject, n: int) -> str:
    coin = (w.bob_coin, w.alice_coin)[n]  # both at zero
    for change, status in (("freeze", "FROZEN"), ("unfreeze", "ACTIVE"), ("close", "CLOSED")):
        inject("COIN#")
        changed = w.api.post(f"/coins/{coin}/{change}", {}, w.admin)
        assert (changed.status_code, changed.json()["status"]) == (200, status)
    return "COIN_CLOSED"


@pytest.mark.parametrize(
    "path",
    [
        _admin_creates_a_user,
        _password_change,
        _user_disabled_enabled,
        _issuer,
        _commission_rule,
        _limit,
        _webhook_subscribed,
        _webhook_stopped,
        _card_issued,
        _card_blocked,
        _account_opened,
        _account_frozen_unfrozen_closed,
    ],
)
def test_each_store_path_retries_a_conflict_or_throttle_and_answers_a_real_condition_with_its_4xx(
    wallet: Wallet, embedded_aws: EmbeddedAws, path: Callable[[Wallet, Inject, int], str]
) -> None:
    strict = embedded_aws.strict
    assert strict
    for n, reason in enumerate(("TransactionConflict", "ThrottlingError")):  # one world for both reasons

        def inject(pk_part: str, kind: str = reason) -> None:
            strict.cancel_transaction(_only(kind, pk_part))

        before = _recorded(wallet)
        action = path(wallet, inject, n)
        assert strict.pending_cancellations == 0, reason  # each injection met a transaction of the path
        made = _recorded(wallet) - before
        assert made[action] == (2 if path is _card_issued else 1), (reason, made)


def _recorded(w: Wallet) -> Counter[str]:
    """The audit entries by action: one per change of state, written in the change's own transaction."""
    answer = w.api.post("/audit/view", {"pageSize": 100}, w.admin)
    assert answer.status_code == 200, answer.text
    return Counter(entry["action"] for entry in answer.json()["records"])
