"""The back office over HTTP: the request queues, a transfer's quote, one operation, a customer's accounts."""

from typing import Any

import pytest

from tests.conftest import Api
from tests.http.test_money_in_and_out import Wallet


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {"RetryIntervalSeconds": "1"}


@pytest.fixture
def wallet(api: Api, admin_token: str) -> Wallet:
    return Wallet(api, admin_token)


def _organization_of(api: Api, login: str) -> str:
    answer = api.post("/authorization", {"login": login, "password": "Cust#2026"}).json()
    return str(answer["members"][0]["organization"]["id"])


def _view(wallet: Wallet, path: str, token: str, **filter_: Any) -> list[dict[str, Any]]:
    answer = wallet.api.post(path, {"filter": filter_}, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["nextPageToken"] is None
    return list(answer.json()["records"])


def test_the_pending_queue_is_one_call_newest_first(wallet: Wallet) -> None:
    wallet.top_up_at_once("200")
    first = wallet.withdrawal("10")["requestIdentifier"]
    second = wallet.withdrawal("20")["requestIdentifier"]
    for request_id in (first, second):
        assert wallet.status_once_settled(request_id)["status"] == "PENDING"
    queue = _view(wallet, "/bank-withdrawals/view", wallet.admin, status="pending")
    assert [record["requestIdentifier"] for record in queue] == [second, first]
    assert wallet.api.post(f"/bank-withdrawals/{first}/accept", {}, wallet.admin).status_code == 200
    assert [
        r["requestIdentifier"] for r in _view(wallet, "/bank-withdrawals/view", wallet.admin, status="PENDING")
    ] == [second]
    [accepted] = _view(wallet, "/bank-withdrawals/view", wallet.admin, status="ACCEPTED")
    assert accepted["history"][-1]["actor"]["role"] == "ADMINISTRATOR"
    assert len(_view(wallet, "/bank-withdrawals/view", wallet.admin)) == 2
    assert len(_view(wallet, "/bank-withdrawals/view", wallet.customer, status="PENDING")) == 1
    assert _view(wallet, "/bank-withdrawals/view", wallet.admin, coinSerial="0" * 32) == []
    [top_up] = _view(wallet, "/bank-top-ups/view", wallet.customer)
    assert top_up["status"] == "ACCEPTED"
    stranger = wallet.new_customer("mallory", "Mallory")
    assert _view(wallet, "/bank-withdrawals/view", stranger) == []
    bad = wallet.api.post("/bank-withdrawals/view", {"filter": {"status": "LOST"}}, wallet.admin)
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field"] == "filter.status"


def test_a_transfer_is_quoted_then_seen_by_its_parties_only(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    bob = wallet.new_customer("bob", "Bob Roe")
    bob_coin = wallet.api.post("/coins", {"issuerId": wallet.issuer}, bob).json()["coinSerial"]
    rule = {"operationType": "TRANSFER", "issuerId": wallet.issuer, "percent": "1", "fixed": "0"}
    assert wallet.api.post("/commissions", rule, wallet.admin).status_code == 201
    body = {"sourceCoinSerial": wallet.coin, "destinationCoinSerial": bob_coin, "amount": "10"}
    quote = wallet.api.post("/transfers/calculate", body, wallet.customer)
    assert quote.json() == {"amount": "10.00", "commission": "0.10", "totalAmount": "10.10", "currency": "EUR"}
    assert wallet.api.post("/transfers/calculate", body, bob).status_code == 404  # not the source's owner
    process_id = wallet.api.post("/transfers", body, wallet.customer).json()["businessProcessId"]

    seen_by_alice = wallet.api.get(f"/transactions/{process_id}", wallet.customer).json()
    assert (seen_by_alice["type"], seen_by_alice["status"], seen_by_alice["amount"]) == (
        "TRANSFER",
        "COMPLETED",
        "10.00",
    )
    assert seen_by_alice["commission"] == "0.10"
    assert seen_by_alice["actor"]["role"] == "INDIVIDUAL"
    assert [(leg.get("coinSerial"), leg["amount"]) for leg in seen_by_alice["legs"]] == [(wallet.coin, "-10.10")]
    seen_by_bob = wallet.api.get(f"/transactions/{process_id}", bob).json()
    assert [(leg.get("coinSerial"), leg["amount"]) for leg in seen_by_bob["legs"]] == [(bob_coin, "10.00")]
    seen_by_staff = wallet.api.get(f"/transactions/{process_id}", wallet.admin).json()
    assert len(seen_by_staff["legs"]) == 3
    stranger = wallet.new_customer("mallory", "Mallory")
    hidden = wallet.api.get(f"/transactions/{process_id}", stranger)
    unknown = wallet.api.get("/transactions/no-such-operation", stranger)
    assert (hidden.status_code, hidden.json()) == (unknown.status_code, unknown.json())
    assert hidden.status_code == 404


def test_staff_list_a_customers_accounts(wallet: Wallet) -> None:
    alice_org = _organization_of(wallet.api, "alice@example.com")
    coins = wallet.api.get("/coins", wallet.admin, params={"organizationId": alice_org}).json()["coins"]
    assert [coin["coinSerial"] for coin in coins] == [wallet.coin]
    bob = wallet.new_customer("bob", "Bob Roe")
    assert wallet.api.get("/coins", bob, params={"organizationId": alice_org}).status_code == 404
    assert wallet.api.get("/coins", bob).json()["coins"] == []
