"""The guide's identity flows, over HTTP against the local server."""

import re

from tests.conftest import ADMIN_LOGIN, Api


def _system_organization_id(api: Api, token: str) -> str:
    answer = api.post("/api/v1/organizations", {"filter": {"type": "system"}}, token)
    assert answer.status_code == 200, answer.text
    [system] = answer.json()["records"]
    assert system["type"] == "SYSTEM"
    return str(system["id"])


def _otp_sent_to(outbox_records: list[dict[str, str]]) -> str:
    match = re.search(r"\b(\d{6})\b", outbox_records[-1]["body"])
    assert match, outbox_records
    return match.group(1)


def test_admin_token_names_the_member(api: Api) -> None:
    answer = api.post("/authorization", {"login": ADMIN_LOGIN, "password": "Admin#Test1"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["action"] == "TOKEN_CREATED"
    assert body["authorizationToken"]["token"].count(".") == 2
    [member] = body["members"]
    assert member["role"] == "ADMINISTRATOR"
    assert member["user"]["login"] == ADMIN_LOGIN
    assert member["organization"]["type"] == "SYSTEM"


def test_service_user_is_created_in_the_system_organization_and_logs_in(api: Api, admin_token: str) -> None:
    system_id = _system_organization_id(api, admin_token)
    created = api.post(
        "/api/v1/users",
        {"login": "ops@wallet.test", "password": "Service#1", "role": "service", "organizationId": system_id},
        admin_token,
    )
    assert created.status_code == 201, created.text
    user = created.json()["user"]
    assert user["role"] == "SERVICE"
    assert user["members"] == [{"organization": {"id": system_id, "type": "SYSTEM"}}]
    service_token = api.token("ops@wallet.test", "Service#1")
    listed = api.post("/users/view", {"filter": {"role": "SERVICE"}}, service_token)
    assert [record["login"] for record in listed.json()["records"]] == ["ops@wallet.test"]


def test_self_registration_by_email_then_log_in(api: Api) -> None:
    started = api.post("/registration", {"login": "Alice@Example.com", "role": "individual", "name": "Alice"})
    assert started.status_code == 202
    outbox = api.get("/_local/outbox", params={"to": "alice@example.com"}).json()["records"]
    assert len(outbox) == 1
    confirmed = api.post(
        "/registration/confirm",
        {"login": "alice@example.com", "otp": _otp_sent_to(outbox), "password": "Alice#2026"},
    )
    assert confirmed.status_code == 201, confirmed.text
    members = confirmed.json()["members"]
    assert members["user"]["id"]
    assert members["organization"]["id"]
    token = api.token("alice@example.com", "Alice#2026")
    organizations = api.post("/api/v1/organizations", {}, token).json()["records"]
    assert organizations == [
        {
            "id": members["organization"]["id"],
            "name": "Alice",
            "type": "INDIVIDUAL",
            "legalType": "INDIVIDUAL",
            "createdAt": organizations[0]["createdAt"],
        }
    ]


def test_self_registration_by_phone_sends_an_sms(api: Api) -> None:
    assert api.post("/registration", {"login": "+4915112345678", "role": "INDIVIDUAL"}).status_code == 202
    [sms] = api.get("/_local/outbox", params={"to": "+4915112345678"}).json()["records"]
    assert sms["subject"] == "SMS"
    assert re.search(r"\b\d{6}\b", sms["body"])


def test_admin_registers_a_merchant_who_logs_in_and_sees_only_its_organization(api: Api, admin_token: str) -> None:
    created = api.post(
        "/api/v1/users",
        {
            "login": "shop@example.com",
            "password": "Shop#2026x",
            "role": "merchant",
            "legalType": "individual",
            "name": "Corner Shop",
        },
        admin_token,
    )
    assert created.status_code == 201, created.text
    organization = created.json()["user"]["members"][0]["organization"]
    assert organization["type"] == "MERCHANT"
    token = api.token("shop@example.com", "Shop#2026x")
    seen = api.post("/api/v1/organizations", {"filter": {"type": "SYSTEM"}}, token).json()["records"]
    assert seen == []
    own = api.post("/api/v1/organizations", {}, token).json()["records"]
    assert [record["id"] for record in own] == [organization["id"]]
    by_organization = api.post("/users/view", {"filter": {"organizationId": organization["id"]}}, admin_token)
    assert [record["login"] for record in by_organization.json()["records"]] == ["shop@example.com"]


def test_duplicate_login_is_a_conflict(api: Api, admin_token: str) -> None:
    body = {"login": "dup@example.com", "password": "Dupl#2026", "role": "individual", "name": "Dup"}
    assert api.post("/api/v1/users", body, admin_token).status_code == 201
    again = api.post("/api/v1/users", body, admin_token)
    assert again.status_code == 409
    assert again.json()["code"] == "DUPLICATE_LOGIN"


def test_users_view_pages_with_a_token(api: Api, admin_token: str) -> None:
    for number in range(3):
        body = {"login": f"p{number}@example.com", "password": "Page#2026", "role": "individual"}
        assert api.post("/api/v1/users", body, admin_token).status_code == 201
    seen: list[str] = []
    token = None
    while True:
        answer = api.post(
            "/users/view", {"filter": {"role": "individual"}, "pageSize": 2, "pageToken": token}, admin_token
        )
        assert answer.status_code == 200, answer.text
        seen += [record["login"] for record in answer.json()["records"]]
        token = answer.json()["nextPageToken"]
        if not token:
            break
    assert sorted(seen) == ["p0@example.com", "p1@example.com", "p2@example.com"]


def test_unknown_route_is_refused_like_api_gateway(api: Api, admin_token: str) -> None:
    answer = api.post("/no-such-thing", {}, admin_token)  # the template's MISSING_AUTHENTICATION_TOKEN response
    assert (answer.status_code, answer.json()["code"]) == (404, "NOT_FOUND")
