"""Accounts frozen, unfrozen and closed; cards unblocked and looked up by number; staff listing accounts."""

import pytest

from tests.conftest import Api, replace_in_layer
from tests.http.test_transfers import Bank


@pytest.fixture
def bank(api: Api, admin_token: str) -> Bank:
    return Bank(api, admin_token)


def _send(api: Api, bank: Bank, source: str, destination: str, token: str, amount: str = "5") -> tuple[int, str]:
    body = {"sourceCoinSerial": source, "destinationCoinSerial": destination, "amount": amount}
    answer = api.post("/transfers", body, token)
    return answer.status_code, str(answer.json().get("code", answer.json().get("status")))


def test_a_frozen_account_neither_sends_nor_receives_until_unfrozen(api: Api, bank: Bank) -> None:
    assert _send(api, bank, bank.alice_coin, bank.bob_coin, bank.alice) == (201, "COMPLETED")
    assert api.post(f"/coins/{bank.bob_coin}/freeze", {"reason": "court order"}, bank.alice).status_code == 403
    frozen = api.post(f"/coins/{bank.bob_coin}/freeze", {"reason": "court order"}, bank.admin)
    assert (frozen.status_code, frozen.json()["status"]) == (200, "FROZEN")
    assert _send(api, bank, bank.alice_coin, bank.bob_coin, bank.alice) == (422, "ACCOUNT_FROZEN")
    assert _send(api, bank, bank.bob_coin, bank.alice_coin, bank.bob) == (422, "ACCOUNT_FROZEN")
    assert api.get("/coins", bank.bob).json()["coins"][0]["status"] == "FROZEN"
    assert api.post(f"/coins/{bank.bob_coin}/freeze", {}, bank.admin).json()["status"] == "FROZEN"  # again: as is
    assert api.post(f"/coins/{bank.bob_coin}/unfreeze", {}, bank.admin).json()["status"] == "ACTIVE"
    assert _send(api, bank, bank.bob_coin, bank.alice_coin, bank.bob, "2") == (201, "COMPLETED")
    assert bank.reconciles()


def test_a_refund_into_a_frozen_account_is_refused(api: Api, bank: Bank) -> None:
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": "10"}
    transfer = api.post("/transfers", body, bank.alice).json()["businessProcessId"]
    api.post(f"/coins/{bank.alice_coin}/freeze", {}, bank.admin)
    refused = api.post(f"/transfers/{transfer}/refund", {}, bank.bob)
    assert (refused.status_code, refused.json()["code"]) == (422, "ACCOUNT_FROZEN")


def test_an_account_closes_only_at_zero_and_for_good(api: Api, bank: Bank) -> None:
    refused = api.post(f"/coins/{bank.alice_coin}/close", {}, bank.alice)
    assert (refused.status_code, refused.json()["code"]) == (422, "BALANCE_NOT_ZERO")
    assert api.post(f"/coins/{bank.bob_coin}/close", {}, bank.alice).status_code == 404  # not alice's
    closed = api.post(f"/coins/{bank.bob_coin}/close", {}, bank.bob)
    assert (closed.status_code, closed.json()["status"]) == (200, "CLOSED")
    assert api.post("/coins/validate", {"coinSerial": bank.bob_coin}, bank.alice).status_code == 404
    assert _send(api, bank, bank.alice_coin, bank.bob_coin, bank.alice) == (422, "ACCOUNT_INACTIVE")
    reopened = api.post(f"/coins/{bank.bob_coin}/unfreeze", {}, bank.admin)
    assert (reopened.status_code, reopened.json()["code"]) == (409, "WRONG_STATE")
    assert api.post(f"/coins/{bank.bob_coin}/freeze", {}, bank.admin).status_code == 409
    assert bank.reconciles()


def test_staff_list_a_customers_accounts(api: Api, bank: Bank) -> None:
    organization = api.post("/api/v1/organizations", {"filter": {"type": "INDIVIDUAL"}}, bank.admin).json()
    alice_org = next(org["id"] for org in organization["records"] if org["name"] == "Alice")
    listed = api.get(f"/coins?organizationId={alice_org}", bank.admin).json()["coins"]
    assert [coin["coinSerial"] for coin in listed] == [bank.alice_coin]
    assert api.get(f"/coins?organizationId={alice_org}", bank.bob).status_code == 404
    assert api.get(f"/coins?organizationId={alice_org}", bank.alice).json()["coins"] == listed


def test_a_card_is_found_by_its_number_unless_blocked_and_unblocked_it_receives_again(
    api: Api, bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace_in_layer(monkeypatch, "wallet.transfers", "card_number", lambda: "9000000000000017")
    card = api.post("/smart-cards", {"coinSerial": bank.bob_coin}, bank.admin).json()
    found = api.post("/smart-cards/lookup", {"cardNumber": "9000000000000017"}, bank.alice)
    assert found.status_code == 200, found.text
    assert found.json() == {
        "smartCardId": card["smartCardId"],
        "maskedNumber": "**** **** **** 0017",
        "owner": {"name": "Bob"},
    }
    unknown = api.post("/smart-cards/lookup", {"cardNumber": "9000000000000025"}, bank.alice)
    assert unknown.status_code == 404
    assert api.post("/smart-cards/lookup", {"cardNumber": "12"}, bank.alice).json()["details"][0]["field"] == (
        "cardNumber"
    )
    api.post(f"/smart-cards/{card['smartCardId']}/block", {}, bank.admin)
    assert api.post("/smart-cards/lookup", {"cardNumber": "9000000000000017"}, bank.alice).json() == unknown.json()
    assert api.post(f"/smart-cards/{card['smartCardId']}/unblock", {}, bank.alice).status_code == 403
    unblocked = api.post(f"/smart-cards/{card['smartCardId']}/unblock", {}, bank.admin)
    assert (unblocked.status_code, unblocked.json()["status"]) == (200, "ACTIVE")
    template = {"name": "Bob", "paymentToolType": "SMART_CARD", "destination": {"smartCardId": card["smartCardId"]}}
    template_id = api.post("/templates/transfer", template, bank.alice).json()["transferTemplateId"]
    paid = api.post(
        f"/templates/transfer/{template_id}/execute", {"sourceCoinSerial": bank.alice_coin, "amount": 3}, bank.alice
    )
    assert paid.status_code == 201, paid.text
