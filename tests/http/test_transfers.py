"""The guide's transfer flows over HTTP: to an account and to a card, with templates, commission and keys."""

import os
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from local.lambdas import LocalLambdas
from tests.conftest import Api
from wallet import ledger
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.transfers import luhn_check_digit


class Bank:
    """Two customers with euro accounts, one of them funded, and a 1% + 0.10 transfer commission."""

    def __init__(self, api: Api, admin: str):
        self.api, self.admin = api, admin
        api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin)
        api.post("/currencies", {"code": "USD", "name": "Dollar", "fractionalDigits": 2}, admin)
        self.issuer = api.post("/issuers", {"currencyCode": "EUR", "name": "EUR"}, admin).json()["id"]
        self.usd_issuer = api.post("/issuers", {"currencyCode": "USD", "name": "USD"}, admin).json()["id"]
        rule = {"operationType": "TRANSFER", "issuerId": self.issuer, "percent": "1", "fixed": "0.10"}
        assert api.post("/commissions", rule, admin).status_code == 201
        self.alice, self.bob = self.customer("alice"), self.customer("bob")
        self.alice_coin = api.post("/coins", {"issuerId": self.issuer}, self.alice).json()["coinSerial"]
        self.bob_coin = api.post("/coins", {"issuerId": self.issuer}, self.bob).json()["coinSerial"]
        emission = ledger.system_account(self.issuer, SystemAccount.EMISSION, 0)
        legs = (Leg(emission, Decimal(-100)), Leg(ledger.customer_account(self.alice_coin), Decimal(100)))
        ledger.post(Posting("funding", "BANK_TOP_UP", "EUR", legs))

    def customer(self, name: str) -> str:
        body = {"login": f"{name}@example.com", "password": "Cust#2026", "role": "individual", "name": name.title()}
        assert self.api.post("/api/v1/users", body, self.admin).status_code == 201
        return self.api.token(f"{name}@example.com", "Cust#2026")

    def balance(self, token: str) -> str:
        return str(self.api.get("/coins", token).json()["coins"][0]["availableBalance"])

    def reconciles(self) -> bool:
        return bool(self.api.reconciliation(self.admin)["clean"])


@pytest.fixture
def bank(api: Api, admin_token: str) -> Bank:
    return Bank(api, admin_token)


def test_transfer_to_an_account_with_commission_paid_by_the_sender(api: Api, bank: Bank) -> None:
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": 10}
    answer = api.post("/transfers", body, bank.alice)
    assert answer.status_code == 201, answer.text
    done = answer.json()
    assert (done["status"], done["amount"], done["commission"]) == ("COMPLETED", "10.00", "0.20")
    assert (bank.balance(bank.alice), bank.balance(bank.bob)) == ("89.80", "10.00")
    statement = api.post("/transactions/view", {"filter": {"coinSerial": bank.alice_coin}}, bank.alice).json()
    assert statement["records"][0]["businessProcessId"] == done["businessProcessId"]
    assert statement["records"][0]["amount"] == "-10.20"
    assert bank.reconciles()


def test_the_guide_flow_through_a_template_then_saved_from_the_operation(api: Api, bank: Bank) -> None:
    template = api.post(
        "/templates/transfer",
        {"name": "Bob", "paymentToolType": "coin", "destination": {"coinSerial": bank.bob_coin}},
        bank.alice,
    )
    assert template.status_code == 201, template.text
    template_id = template.json()["transferTemplateId"]
    listed = api.post("/templates/transfer/view", {"filter": {"paymentToolType": "COIN"}}, bank.alice).json()
    assert [record["transferTemplateId"] for record in listed["records"]] == [template_id]
    assert (
        api.post("/templates/transfer/view", {"filter": {"paymentToolType": "SMART_CARD"}}, bank.alice).json()[
            "records"
        ]
        == []
    )
    request = {"sourceCoinSerial": bank.alice_coin, "amount": "20.00"}
    quote = api.post(f"/templates/transfer/{template_id}/calculate", request, bank.alice).json()
    assert quote == {"amount": "20.00", "commission": "0.30", "totalAmount": "20.30"}
    executed = api.post(f"/templates/transfer/{template_id}/execute", request, bank.alice)
    assert executed.status_code == 201, executed.text
    assert executed.json()["commission"] == quote["commission"]
    assert bank.balance(bank.alice) == "79.70"
    operation = executed.json()["businessProcessId"]
    saved = api.post(f"/templates/transfer/operation/{operation}", {"name": "Bob again"}, bank.alice)
    assert saved.status_code == 201, saved.text
    assert saved.json()["destination"] == {"coinSerial": bank.bob_coin}
    assert api.post(f"/templates/transfer/operation/{operation}", {}, bank.bob).status_code == 404
    assert bank.reconciles()


def test_transfer_to_a_card_credits_the_account_behind_it_until_the_card_is_blocked(api: Api, bank: Bank) -> None:
    issued = api.post("/smart-cards", {"coinSerial": bank.bob_coin}, bank.admin)
    assert issued.status_code == 201, issued.text
    card = issued.json()
    assert card["maskedNumber"].startswith("**** **** **** ")
    assert api.get("/smart-cards/my", bank.bob).json()["records"] == [card]
    assert api.get("/smart-cards/my", bank.alice).json()["records"] == []
    template = api.post(
        "/templates/transfer",
        {"name": "Bob's card", "paymentToolType": "SMART_CARD", "destination": {"smartCardId": card["smartCardId"]}},
        bank.alice,
    ).json()
    request = {"sourceCoinSerial": bank.alice_coin, "amount": "5"}
    execute = f"/templates/transfer/{template['transferTemplateId']}/execute"
    assert api.post(execute, request, bank.alice).status_code == 201
    assert bank.balance(bank.bob) == "5.00"
    saved = api.post(
        f"/templates/transfer/operation/{api.post(execute, request, bank.alice).json()['businessProcessId']}",
        {},
        bank.alice,
    )
    assert saved.json()["paymentToolType"] == "SMART_CARD"
    assert api.post(f"/smart-cards/{card['smartCardId']}/block", {}, bank.admin).status_code == 200
    refused = api.post(execute, request, bank.alice)
    assert (refused.status_code, refused.json()["code"]) == (422, "CARD_BLOCKED")
    assert bank.balance(bank.bob) == "10.00"
    assert bank.reconciles()


def test_a_template_replay_to_a_blocked_card_answers_the_first_transfer(api: Api, bank: Bank) -> None:
    card = api.post("/smart-cards", {"coinSerial": bank.bob_coin}, bank.admin).json()
    destination = {"smartCardId": card["smartCardId"]}
    template = {"name": "Bob's card", "paymentToolType": "SMART_CARD", "destination": destination}
    template_id = api.post("/templates/transfer", template, bank.alice).json()["transferTemplateId"]
    execute = f"/templates/transfer/{template_id}/execute"
    request = {"sourceCoinSerial": bank.alice_coin, "amount": "5"}
    first = api.post(execute, request, bank.alice, headers={"Idempotency-Key": "card-1"})
    assert first.status_code == 201, first.text
    assert api.post(f"/smart-cards/{card['smartCardId']}/block", {}, bank.admin).status_code == 200
    refused = api.post(execute, request, bank.alice, headers={"Idempotency-Key": "card-2"})
    assert (refused.status_code, refused.json()["code"]) == (422, "CARD_BLOCKED")
    again = api.post(execute, request, bank.alice, headers={"Idempotency-Key": "card-1"})
    assert (again.status_code, again.json()) == (201, first.json())
    assert (bank.balance(bank.alice), bank.balance(bank.bob)) == ("94.85", "5.00")  # moved once
    assert bank.reconciles()


def test_the_same_idempotency_key_moves_money_once(api: Api, bank: Bank) -> None:
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": "1.00"}
    key = {"Idempotency-Key": "pay-bob-1"}
    first = api.post("/transfers", body, bank.alice, headers=dict(key))
    again = api.post("/transfers", body, bank.alice, headers=dict(key))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert bank.balance(bank.bob) == "1.00"
    other = api.post("/transfers", {**body, "amount": "2.00"}, bank.alice, headers=dict(key))
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert bank.balance(bank.bob) == "1.00"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": "1000"}, 422, "INSUFFICIENT_FUNDS"),
        ({"amount": "1.001"}, 400, "VALIDATION_ERROR"),
        ({"amount": "-1"}, 400, "VALIDATION_ERROR"),
        ({"amount": 0}, 400, "VALIDATION_ERROR"),
        ({"destinationCoinSerial": "0" * 32}, 404, "NOT_FOUND"),
        ({"destinationCoinSerial": "self"}, 422, "SAME_ACCOUNT"),
        ({"destinationCoinSerial": "usd"}, 422, "CURRENCY_MISMATCH"),
        ({"sourceCoinSerial": "bob"}, 404, "NOT_FOUND"),
    ],
)
def test_refused_transfers_move_nothing(
    api: Api, bank: Bank, change: dict[str, object], status: int, code: str
) -> None:
    usd_coin = api.post("/coins", {"issuerId": bank.usd_issuer}, bank.bob).json()["coinSerial"]
    aliases = {"self": bank.alice_coin, "usd": usd_coin, "bob": bank.bob_coin}
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": "1"}
    body |= {key: aliases.get(value, value) if isinstance(value, str) else value for key, value in change.items()}
    answer = api.post("/transfers", body, bank.alice)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert bank.balance(bank.alice) == "100.00"
    assert bank.reconciles()


def test_nobody_uses_someone_elses_template(api: Api, bank: Bank) -> None:
    template = api.post(
        "/templates/transfer",
        {"name": "Bob", "paymentToolType": "COIN", "destination": {"coinSerial": bank.bob_coin}},
        bank.alice,
    ).json()
    mallory = bank.customer("mallory")
    request = {"sourceCoinSerial": bank.alice_coin, "amount": "1"}
    for action in ("calculate", "execute"):
        answer = api.post(f"/templates/transfer/{template['transferTemplateId']}/{action}", request, mallory)
        assert answer.status_code == 404
    assert api.post("/templates/transfer/view", {}, mallory).json()["records"] == []
    assert bank.balance(bank.alice) == "100.00"


def test_card_numbers_carry_a_valid_luhn_digit() -> None:
    from wallet.transfers import card_number

    for _ in range(50):
        number = card_number()
        assert len(number) == 16
        assert luhn_check_digit(number[:-1]) == int(number[-1])
    assert luhn_check_digit("7992739871") == 3  # the textbook example


def test_the_same_idempotency_key_executes_a_template_once(api: Api, bank: Bank) -> None:
    template = {"name": "Bob", "paymentToolType": "COIN", "destination": {"coinSerial": bank.bob_coin}}
    template_id = api.post("/templates/transfer", template, bank.alice).json()["transferTemplateId"]
    execute, body = f"/templates/transfer/{template_id}/execute", {"sourceCoinSerial": bank.alice_coin, "amount": "1"}
    first = api.post(execute, body, bank.alice, headers={"Idempotency-Key": "by-template-1"})
    again = api.post(execute, body, bank.alice, headers={"Idempotency-Key": "by-template-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = api.post(execute, {**body, "amount": "2"}, bank.alice, headers={"Idempotency-Key": "by-template-1"})
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert (bank.balance(bank.alice), bank.balance(bank.bob)) == ("98.89", "1.00")
    assert bank.reconciles()


def test_a_transfer_reads_twice_its_callers_state_riding_with_its_accounts(
    api: Api, bank: Bank, lambdas: LocalLambdas
) -> None:
    """The revocation check (every changing call's) is in the accounts' BatchGetItem, strongly consistent: a
    transfer reads twice (accounts and caller, then the commission rule) and writes once."""
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": "1"}
    assert api.post("/transfers", body, bank.alice).status_code == 201  # limit rules are read once, then kept
    calls: list[tuple[str, dict[str, Any]]] = []

    def seen(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    client_events = lambdas.layer_module("TransfersFunction", "wallet.aws").dynamodb().meta.events
    client_events.register("before-parameter-build.dynamodb", seen)
    try:
        assert api.post("/transfers", body, bank.alice).status_code == 201
    finally:
        client_events.unregister("before-parameter-build.dynamodb", seen)
    assert Counter(name for name, _ in calls) == {"BatchGetItem": 1, "GetItem": 1, "TransactWriteItems": 1}
    ((batch,),) = [(params["RequestItems"],) for name, params in calls if name == "BatchGetItem"]
    users = os.environ["USERS_TABLE"]
    assert len(batch[users]["Keys"]) == 1
    assert all(request["ConsistentRead"] for request in batch.values())


def test_a_revoked_token_moves_no_money_and_reads_nothing_back(api: Api, bank: Bank, admin_token: str) -> None:
    user = api.post("/users/view", {"filter": {"login": "alice@example.com"}}, admin_token).json()["records"][0]
    assert api.post(f"/api/v1/users/{user['id']}/disable", None, admin_token).status_code == 200
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": "1"}
    _unauthenticated(api.post("/transfers", body, bank.alice))
    # A changing route that only reads (no BatchGetItem, no write) is refused at its end all the same.
    _unauthenticated(api.post("/transactions/view", {"filter": {"coinSerial": bank.alice_coin}}, bank.alice))
    assert api.post(f"/api/v1/users/{user['id']}/enable", None, admin_token).status_code == 200
    assert bank.balance(bank.bob) == "0.00"


def _unauthenticated(answer: Any) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "UNAUTHENTICATED"
