"""Refunds of transfers (partial, repeated, with their share of commission) and reversals of top-ups."""

from typing import Any

import pytest

from tests.conftest import Api
from tests.http.test_money_in_and_out import Wallet
from tests.http.test_transfers import Bank


@pytest.fixture
def bank(api: Api, admin_token: str) -> Bank:
    return Bank(api, admin_token)


def _paid(api: Api, bank: Bank, amount: str) -> str:
    body = {"sourceCoinSerial": bank.alice_coin, "destinationCoinSerial": bank.bob_coin, "amount": amount}
    answer = api.post("/transfers", body, bank.alice)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["businessProcessId"])


def _refund(api: Api, bank: Bank, transfer: str, token: str, **body: Any) -> Any:
    return api.post(f"/transfers/{transfer}/refund", body, token)


def test_partial_refunds_give_back_the_commission_share_summing_to_what_was_charged(api: Api, bank: Bank) -> None:
    transfer = _paid(api, bank, "50.00")  # commission 1% + 0.10 = 0.60; alice pays 50.60
    first = _refund(api, bank, transfer, bank.bob, amount="10.00", reason="one item returned")
    assert first.status_code == 201, first.text
    assert first.json() == {
        "businessProcessId": first.json()["businessProcessId"],
        "refundOf": transfer,
        "amount": "10.00",
        "commissionRefunded": "0.12",
        "refundedTotal": "10.00",
    }
    second = _refund(api, bank, transfer, bank.bob, amount="0.05").json()
    assert (second["commissionRefunded"], second["refundedTotal"]) == ("0.00", "10.05")  # 0.0006 rounds to 0
    rest = _refund(api, bank, transfer, bank.bob).json()  # no amount: what is left
    assert (rest["amount"], rest["commissionRefunded"], rest["refundedTotal"]) == ("39.95", "0.48", "50.00")
    assert (bank.balance(bank.alice), bank.balance(bank.bob)) == ("100.00", "0.00")
    over = _refund(api, bank, transfer, bank.bob, amount="0.01")
    assert (over.status_code, over.json()["code"]) == (422, "REFUND_EXCEEDS_ORIGINAL")
    assert bank.reconciles()


def test_a_refund_beyond_the_original_is_refused_and_moves_nothing(api: Api, bank: Bank) -> None:
    transfer = _paid(api, bank, "20.00")
    answer = _refund(api, bank, transfer, bank.bob, amount="20.01")
    assert (answer.status_code, answer.json()["code"]) == (422, "REFUND_EXCEEDS_ORIGINAL")
    assert answer.json()["details"][0]["field"] == "amount"
    assert bank.balance(bank.bob) == "20.00"


def test_only_the_receiving_side_or_staff_refund(api: Api, bank: Bank) -> None:
    transfer = _paid(api, bank, "20.00")
    by_payer = _refund(api, bank, transfer, bank.alice, amount="5")
    assert by_payer.status_code == 404  # the payer may not take the money back
    unknown = _refund(api, bank, "no-such-transfer", bank.bob)
    assert by_payer.json() == unknown.json()
    by_admin = _refund(api, bank, transfer, bank.admin, amount="5")
    assert by_admin.status_code == 201, by_admin.text


def test_the_same_idempotency_key_refunds_once(api: Api, bank: Bank) -> None:
    transfer = _paid(api, bank, "20.00")
    headers = {"Idempotency-Key": "refund-1"}
    first = api.post(f"/transfers/{transfer}/refund", {"amount": "5"}, bank.bob, headers=dict(headers))
    again = api.post(f"/transfers/{transfer}/refund", {"amount": "5"}, bank.bob, headers=dict(headers))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert bank.balance(bank.bob) == "15.00"
    other = api.post(f"/transfers/{transfer}/refund", {"amount": "6"}, bank.bob, headers=dict(headers))
    assert (other.status_code, other.json()["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")


def test_a_replayed_refund_answers_its_first_answer_whatever_changed_since(api: Api, bank: Bank) -> None:
    """A client that retries after a timeout must learn the refund went through, not that it is now refused."""
    transfer = _paid(api, bank, "20.00")
    headers = {"Idempotency-Key": "refund-then-freeze"}
    first = api.post(f"/transfers/{transfer}/refund", {"amount": "5"}, bank.bob, headers=dict(headers))
    assert first.status_code == 201, first.text
    assert api.post(f"/coins/{bank.bob_coin}/freeze", {"reason": "court order"}, bank.admin).status_code == 200
    again = api.post(f"/transfers/{transfer}/refund", {"amount": "5"}, bank.bob, headers=dict(headers))
    assert (again.status_code, again.json()) == (201, first.json())
    fresh = api.post(f"/transfers/{transfer}/refund", {"amount": "5"}, bank.bob, headers={"Idempotency-Key": "new"})
    assert (fresh.status_code, fresh.json()["code"]) == (422, "ACCOUNT_FROZEN")  # a new refund meets the freeze
    assert bank.balance(bank.alice) == "84.78"  # 100 - 20.30 + 5.00 + 0.08 (a quarter of 0.30), once


def test_a_recipient_who_spent_the_money_cannot_refund_it(api: Api, bank: Bank) -> None:
    transfer = _paid(api, bank, "20.00")
    back = {"sourceCoinSerial": bank.bob_coin, "destinationCoinSerial": bank.alice_coin, "amount": "19.00"}
    assert api.post("/transfers", back, bank.bob).status_code == 201
    answer = _refund(api, bank, transfer, bank.bob, amount="5")
    assert (answer.status_code, answer.json()["code"]) == (422, "INSUFFICIENT_FUNDS")
    assert bank.reconciles()


def test_staff_reverse_a_credited_top_up_with_its_commission(api: Api, admin_token: str) -> None:
    wallet = Wallet(api, admin_token)
    credited = wallet.top_up_at_once("100.00")  # 0.50 commission: 99.50 credited
    path = f"/bank-top-ups/{credited['requestIdentifier']}/reverse"
    assert api.post(path, {"reason": "credited twice"}, wallet.customer).status_code == 403
    assert api.post(path, {}, admin_token).status_code == 400  # the reason is required
    answer = api.post(path, {"reason": "credited twice"}, admin_token)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["totalAmount"]) == ("REVERSED", "99.50")
    again = api.post(path, {"reason": "credited twice"}, admin_token)
    assert again.json() == answer.json()  # asked again: the reversal made, nothing more
    coins = api.get("/coins", wallet.customer).json()["coins"]
    assert coins[0]["availableBalance"] == "0.00"
    request = api.get(f"/requests/{credited['requestIdentifier']}", admin_token).json()
    assert [step["status"] for step in request["history"]] == ["ACCEPTED", "REVERSED"]
    assert api.reconciliation(admin_token)["clean"]


def test_a_top_up_already_spent_cannot_be_reversed(api: Api, admin_token: str) -> None:
    wallet = Wallet(api, admin_token)
    credited = wallet.top_up_at_once("100.00")
    wallet.request(
        "/bank-withdrawals/with-bank", amount="50.00", recipientName="Alice Doe", accountNumber="DE89370400440532013000"
    )
    answer = api.post(f"/bank-top-ups/{credited['requestIdentifier']}/reverse", {"reason": "mistake"}, admin_token)
    assert (answer.status_code, answer.json()["code"]) == (422, "INSUFFICIENT_FUNDS")
    assert api.get(f"/requests/{credited['requestIdentifier']}", admin_token).json()["status"] == "ACCEPTED"
