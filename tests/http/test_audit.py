"""The audit trail over HTTP: who changed what and from where, written with the change or not at all."""

import re
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


def _code_sent_to(wallet: Wallet, login: str) -> str:
    records = wallet.api.get("/_local/outbox", params={"to": login}).json()["records"]
    found = re.search(r"\b(\d{6})\b", records[-1]["body"])
    assert found, records
    return found.group(1)


def _only(wallet: Wallet, action: str, target: str) -> dict[str, Any]:
    [recorded] = _audit(wallet, action=action, targetId=target)
    return recorded


def test_users_limits_issuers_accounts_and_cards_are_recorded_with_their_change(wallet: Wallet) -> None:
    api, admin = wallet.api, wallet.admin
    admin_id = _audit(wallet, action="BANK_CREATED")[0]["actor"]["userId"]

    body = {"login": "bob@example.com", "password": "Bobb#2026", "role": "individual", "name": "Bob"}
    bob = api.post("/api/v1/users", body, admin).json()["user"]
    created = _only(wallet, "USER_CREATED", bob["id"])
    assert created["actor"]["userId"] == admin_id
    assert created["details"]["login"] == "bob@example.com"
    assert created["sourceIp"] == "127.0.0.1"

    assert api.post("/registration", {"login": "cy@example.com", "role": "individual"}).status_code == 202
    confirmation = {"login": "cy@example.com", "otp": _code_sent_to(wallet, "cy@example.com"), "password": "Cyyy#2026"}
    cy = api.post("/registration/confirm", confirmation).json()["members"]
    registered = _only(wallet, "USER_REGISTERED", cy["user"]["id"])
    new_user = {"userId": cy["user"]["id"], "role": "INDIVIDUAL", "organizationId": cy["organization"]["id"]}
    assert registered["actor"] == new_user
    assert registered["sourceIp"] == "127.0.0.1"

    bob_token = api.token("bob@example.com", "Bobb#2026")
    change = {"currentPassword": "Bobb#2026", "newPassword": "Bobb#2027"}
    assert api.post("/users/me/password", change, bob_token).ok
    assert _only(wallet, "PASSWORD_CHANGED", bob["id"])["actor"]["userId"] == bob["id"]

    assert api.post("/password/recovery", {"login": "bob@example.com"}).status_code == 202
    recovery = {"login": "bob@example.com", "otp": _code_sent_to(wallet, "bob@example.com"), "newPassword": "Bobb#2028"}
    assert api.post("/password/recovery/confirm", recovery).ok
    assert _only(wallet, "PASSWORD_RESET", bob["id"])["actor"]["userId"] == bob["id"]

    assert api.post(f"/api/v1/users/{bob['id']}/disable", None, admin).ok
    assert api.post(f"/api/v1/users/{bob['id']}/enable", None, admin).ok
    assert [entry["action"] for entry in _audit(wallet, targetId=bob["id"])] == [
        "USER_ENABLED",
        "USER_DISABLED",
        "PASSWORD_RESET",
        "PASSWORD_CHANGED",
        "USER_CREATED",
    ]

    rule = {"operationType": "TRANSFER", "currencyCode": "EUR", "role": "INDIVIDUAL", "perOperation": "50.00"}
    assert api.post("/limits", rule, admin).ok
    limit = _only(wallet, "LIMIT_SET", "TRANSFER#EUR#ROLE#INDIVIDUAL")
    assert (limit["actor"]["userId"], limit["details"]["perOperation"]) == (admin_id, "50.00")

    assert _only(wallet, "ISSUER_CREATED", wallet.issuer)["details"] == {"currencyCode": "EUR"}
    opened = _only(wallet, "COIN_OPENED", wallet.coin)
    assert opened["actor"]["role"] == "INDIVIDUAL"
    card = api.post("/smart-cards", {"coinSerial": wallet.coin}, admin).json()["smartCardId"]
    assert _only(wallet, "CARD_ISSUED", card)["details"] == {"coinSerial": wallet.coin}
