"""The audit trail over HTTP: who changed what and from where, written with the change or not at all."""

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


def _audit(wallet: Wallet, **filter_: Any) -> list[dict[str, Any]]:
    answer = wallet.api.post("/audit/view", {"filter": filter_}, wallet.admin)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["records"])


def test_changes_of_state_are_recorded_with_their_actor_and_source(wallet: Wallet) -> None:
    wallet.top_up_at_once("100")
    withdrawal = wallet.withdrawal("10")["requestIdentifier"]
    assert wallet.status_once_settled(withdrawal)["status"] == "PENDING"
    assert wallet.api.post(f"/bank-withdrawals/{withdrawal}/decline", {"reason": "IBAN"}, wallet.admin).ok

    actions = [entry["action"] for entry in _audit(wallet)]
    assert actions[0] == "WITHDRAWAL_DECLINED"  # newest first
    assert {"CURRENCY_CREATED", "BANK_CREATED", "COMMISSION_SET", "TOP_UP_CREDITED"} <= set(actions)
    assert actions.count("COMMISSION_SET") == 4

    [decision] = _audit(wallet, targetId=withdrawal)
    assert decision["actor"]["role"] == "ADMINISTRATOR"
    assert decision["sourceIp"] == "127.0.0.1"
    assert decision["details"] == {"from": "PENDING", "reason": "IBAN"}
    admin_id = decision["actor"]["userId"]
    assert {entry["actor"]["userId"] for entry in _audit(wallet, actorUserId=admin_id)} == {admin_id}
    assert [entry["targetId"] for entry in _audit(wallet, action="BANK_CREATED")] == [wallet.bank]


def test_a_refused_change_records_nothing_and_only_administrators_read_the_trail(wallet: Wallet) -> None:
    before = len(_audit(wallet, action="CURRENCY_CREATED"))
    again = wallet.api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, wallet.admin)
    assert again.status_code == 409
    assert len(_audit(wallet, action="CURRENCY_CREATED")) == before == 1
    assert wallet.api.post("/audit/view", {}, wallet.customer).status_code == 403
