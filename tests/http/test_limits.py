"""Limits over HTTP: rules by role and by account, refusals naming the limit, what remains, and give-backs."""

import pytest

from local.lambdas import LocalLambdas
from tests.conftest import Api
from tests.http.test_money_in_and_out import Wallet
from tests.http.test_transfers import Bank


@pytest.fixture
def bank(api: Api, admin_token: str) -> Bank:
    return Bank(api, admin_token)


def _send(api: Api, bank: Bank, amount: str) -> dict[str, object]:
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": amount}
    answer = api.post("/transfers", body, bank.alice)
    return {**answer.json(), "http": answer.status_code}


def test_a_role_limit_refuses_past_the_day_and_the_account_shows_what_remains(api: Api, bank: Bank) -> None:
    rule = {
        "operationType": "transfer",
        "currencyCode": "EUR",
        "role": "INDIVIDUAL",
        "daily": {"amount": "25", "count": 2},
    }
    created = api.post("/limits", rule, bank.admin)
    assert created.status_code == 201, created.text
    assert _send(api, bank, "20.00")["http"] == 201
    refused = _send(api, bank, "10.00")
    assert (refused["http"], refused["code"]) == (422, "LIMIT_EXCEEDED")
    assert refused["details"] == [{"field": "daily.amount", "issue": "limit 25"}]
    assert bank.balance(bank.bob) == "20.00"  # nothing moved
    shown = api.get(f"/coins/{bank.alice_coin}/limits", bank.alice).json()
    assert shown["limits"][0]["operationType"] == "TRANSFER"
    assert shown["limits"][0]["today"] == {"amount": "5.00", "count": 1}
    assert shown["limits"][0]["thisMonth"] is None
    assert _send(api, bank, "5.00")["http"] == 201
    assert _send(api, bank, "0.01")["details"] == [{"field": "daily.amount", "issue": "limit 25"}]
    assert api.get(f"/coins/{bank.alice_coin}/limits", bank.bob).status_code == 404  # not bob's account
    assert api.get(f"/coins/{bank.alice_coin}/limits", bank.admin).status_code == 200
    assert bank.reconciles()


def test_an_accounts_own_rule_overrides_its_roles(api: Api, bank: Bank, lambdas: LocalLambdas) -> None:
    by_role = {"operationType": "TRANSFER", "currencyCode": "EUR", "role": "individual", "perOperation": "5"}
    own = {"operationType": "TRANSFER", "currencyCode": "EUR", "coinSerial": bank.alice_coin, "perOperation": "50"}
    assert api.post("/limits", by_role, bank.admin).status_code == 201
    assert _send(api, bank, "6")["details"] == [{"field": "perOperation", "issue": "limit 5"}]
    assert _send(api, bank, "5")["http"] == 201  # bob's account has no rule of its own: the role's applies
    assert api.post("/limits", own, bank.admin).status_code == 201
    # The transfers function's containers cached the role's rule: they see the new one once that cache's life
    # (limits.RULES_CACHE_SECONDS) has passed.
    lambdas.layer_module("TransfersFunction", "wallet.limits").forget_rules()
    assert _send(api, bank, "40")["http"] == 201
    listed = api.get("/limits", bank.admin).json()["records"]
    assert sorted(rule["coinSerial"] or rule["role"] for rule in listed) == sorted([bank.alice_coin, "INDIVIDUAL"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": None}, "body"),
        ({"coinSerial": "abc"}, "body"),
        ({"role": "ADMINISTRATOR"}, "body"),
        ({"operationType": "BANK_TOP_UP"}, "body"),
        ({"daily": {}}, "daily"),
        ({"perOperation": "1.001"}, "perOperation"),
        ({"daily": {"amount": "1.001"}}, "daily.amount"),
        ({"daily": {"count": 0}}, "daily.count"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(api: Api, bank: Bank, change: dict[str, object], field: str) -> None:
    rule = {"operationType": "TRANSFER", "currencyCode": "EUR", "role": "INDIVIDUAL", "perOperation": "5"} | change
    rule = {key: value for key, value in rule.items() if value is not None}
    answer = api.post("/limits", rule, bank.admin)
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"][0]["field"] == field


def test_only_administrators_set_limits(api: Api, bank: Bank) -> None:
    rule = {"operationType": "TRANSFER", "currencyCode": "EUR", "role": "INDIVIDUAL", "perOperation": "5"}
    assert api.post("/limits", rule, bank.alice).status_code == 403
    assert api.get("/limits", bank.alice).status_code == 403


def test_a_declined_withdrawal_gives_back_what_it_used(api: Api, admin_token: str) -> None:
    wallet = Wallet(api, admin_token)
    wallet.top_up_at_once("500.00")
    rule = {"operationType": "BANK_WITHDRAWAL", "currencyCode": "EUR", "role": "INDIVIDUAL", "daily": {"count": 1}}
    assert api.post("/limits", rule, admin_token).status_code == 201
    held = wallet.withdrawal("50.00")
    body = {"coinSerial": wallet.coin, "bankId": wallet.bank, "amount": "50.00"}
    body |= {"recipientName": "Alice Doe", "accountNumber": "DE89370400440532013000"}
    second = api.post("/bank-withdrawals/with-bank", body, wallet.customer)
    assert (second.status_code, second.json()["code"]) == (422, "LIMIT_EXCEEDED")
    assert wallet.status_once_settled(held["requestIdentifier"])["status"] == "PENDING"
    declined = api.post(f"/bank-withdrawals/{held['requestIdentifier']}/decline", {}, admin_token)
    assert declined.status_code == 200, declined.text
    assert api.get(f"/coins/{wallet.coin}/limits", wallet.customer).json()["limits"][0]["today"]["count"] == 1
    assert wallet.withdrawal("50.00")["status"] == "SCREENING"
    assert wallet.reconciles()


def test_a_withdrawal_the_screening_declines_gives_back_what_it_used(api: Api, admin_token: str) -> None:
    """The workflow's own decline (not staff's) returns the limit's use, in its decision's transaction."""
    wallet = Wallet(api, admin_token)
    wallet.top_up_at_once("2000.00")
    rule = {"operationType": "BANK_WITHDRAWAL", "currencyCode": "EUR", "role": "INDIVIDUAL", "daily": {"count": 1}}
    assert api.post("/limits", rule, admin_token).status_code == 201
    flagged = wallet.withdrawal("1500.00")  # over the currency's AML threshold of 1000
    assert wallet.status_once_settled(flagged["requestIdentifier"])["status"] == "DECLINED"
    assert api.get(f"/coins/{wallet.coin}/limits", wallet.customer).json()["limits"][0]["today"]["count"] == 1
    assert wallet.withdrawal("50.00")["status"] == "SCREENING"
    assert wallet.reconciles()
