"""Edge rules over HTTP: replays before checks, unseen ids answered as unknown ones, page tokens bound to
their list, pages that fill, tokens of disabled users refused, owner names masked."""

from typing import Any

import pytest

from tests.conftest import Api


def _customer(api: Api, admin_token: str, login: str, **extra: str) -> str:
    body = {"login": f"{login}@example.com", "password": "Cust#2026", "role": "individual", **extra}
    assert api.post("/api/v1/users", body, admin_token).status_code == 201
    return api.token(f"{login}@example.com", "Cust#2026")


@pytest.fixture
def euro(api: Api, admin_token: str) -> dict[str, Any]:
    assert api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin_token).ok
    issuer = api.post("/issuers", {"currencyCode": "EUR", "name": "EUR"}, admin_token).json()["id"]
    bank = {"name": "Bank", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "DE"}
    return {"issuer": issuer, "bank": api.post("/bank-catalog", bank, admin_token).json()["bankId"]}


def _coin(api: Api, token: str, issuer: str) -> str:
    return str(api.post("/coins", {"issuerId": issuer}, token).json()["coinSerial"])


def test_a_replay_answers_the_first_response_before_any_check(api: Api, admin_token: str, euro: dict[str, Any]) -> None:
    alice, bob = _customer(api, admin_token, "alice", name="Alice"), _customer(api, admin_token, "bob", name="Bob")
    source, destination = _coin(api, alice, euro["issuer"]), _coin(api, bob, euro["issuer"])
    credit = {"coinSerial": source, "amount": "10.00", "bankId": euro["bank"]}
    assert api.post("/bank-top-ups/with-bank", credit, admin_token).status_code == 201
    transfer = {"sourceCoinSerial": source, "destinationCoinSerial": destination, "amount": "10.00"}
    first = api.post("/transfers", transfer, alice, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == 201, first.text
    rule = {"operationType": "TRANSFER", "issuerId": euro["issuer"], "percent": "5", "fixed": "1.00"}
    assert api.post("/commissions", rule, admin_token).status_code == 201  # the fee rises; the balance is 0
    again = api.post("/transfers", transfer, alice, headers={"Idempotency-Key": "pay-1"})
    assert (again.status_code, again.json()) == (201, first.json())
    other = api.post("/transfers", {**transfer, "amount": "1"}, alice, headers={"Idempotency-Key": "pay-1"})
    assert other.status_code == 409


def test_someone_elses_request_answers_as_an_unknown_one(api: Api, admin_token: str, euro: dict[str, Any]) -> None:
    alice, bob = _customer(api, admin_token, "alice", name="Alice"), _customer(api, admin_token, "bob", name="Bob")
    coin = _coin(api, alice, euro["issuer"])
    body = {"coinSerial": coin, "amount": "5", "bankId": euro["bank"]}
    request_id = api.post("/bank-top-ups/create-request/with-bank", body, alice).json()["requestIdentifier"]
    seen_by_bob = api.get(f"/requests/{request_id}", bob)
    unknown = api.get("/requests/no-such-request", bob)
    assert (seen_by_bob.status_code, seen_by_bob.json()) == (unknown.status_code, unknown.json())
    assert unknown.status_code == 404


def test_page_tokens_are_bound_to_route_caller_and_filter(api: Api, admin_token: str) -> None:
    for login in ("p0", "p1", "p2"):
        _customer(api, admin_token, login)
    first = api.post("/users/view", {"filter": {"role": "individual"}, "pageSize": 1}, admin_token).json()
    token = first["nextPageToken"]
    assert token
    following = api.post("/users/view", {"filter": {"role": "individual"}, "pageToken": token}, admin_token)
    assert following.status_code == 200
    for path, body in (
        ("/api/v1/organizations", {"pageToken": token}),
        ("/users/view", {"filter": {"role": "merchant"}, "pageToken": token}),
        ("/users/view", {"pageToken": token}),
    ):
        answer = api.post(path, body, admin_token)
        assert answer.status_code == 400, (path, body)
        assert answer.json()["details"][0]["field"] == "pageToken"


def test_template_lists_have_pages_and_no_empty_page_carries_a_token(
    api: Api, admin_token: str, euro: dict[str, Any]
) -> None:
    alice = _customer(api, admin_token, "alice", name="Alice")
    coin = _coin(api, alice, euro["issuer"])
    for n in range(3):
        template = {"name": f"t{n}", "paymentToolType": "coin", "destination": {"coinSerial": coin}}
        assert api.post("/templates/transfer", template, alice).status_code == 201
    seen, token, pages = [], None, 0
    while True:
        body: dict[str, Any] = {"pageSize": 2} | ({"pageToken": token} if token else {})
        page = api.post("/templates/transfer/view", body, alice).json()
        pages += 1
        assert page["records"] or not page["nextPageToken"]
        seen += [record["name"] for record in page["records"]]
        token = page["nextPageToken"]
        if not token:
            break
    assert sorted(seen) == ["t0", "t1", "t2"]
    assert pages == 2


def test_a_disabled_users_tokens_are_refused_at_once_by_changing_calls(
    api: Api, admin_token: str, euro: dict[str, Any]
) -> None:
    alice = _customer(api, admin_token, "alice", name="Alice")
    user = api.post("/users/view", {"filter": {"login": "alice@example.com"}}, admin_token).json()["records"][0]
    disabled = api.post(f"/api/v1/users/{user['id']}/disable", None, admin_token)
    assert (disabled.status_code, disabled.json()["disabled"]) == (200, True)
    assert api.post("/coins", {"issuerId": euro["issuer"]}, alice).status_code == 401
    assert api.post("/authorization", {"login": "alice@example.com", "password": "Cust#2026"}).status_code == 401
    assert api.post(f"/api/v1/users/{user['id']}/enable", None, admin_token).status_code == 200
    assert api.post("/coins", {"issuerId": euro["issuer"]}, alice).status_code == 401  # still an old token
    fresh = api.token("alice@example.com", "Cust#2026")
    assert api.post("/coins", {"issuerId": euro["issuer"]}, fresh).status_code == 201


def test_an_owner_without_a_name_is_shown_masked(api: Api, admin_token: str, euro: dict[str, Any]) -> None:
    nameless = _customer(api, admin_token, "nameless")
    coin = _coin(api, nameless, euro["issuer"])
    answer = api.post("/coins/validate", {"coinSerial": coin}, admin_token).json()
    assert answer["owner"]["name"] == "n***@example.com"
