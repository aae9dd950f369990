"""Every route answers bad input with a 4xx in the error shape, and refuses callers it should."""

import jwt
import pytest

from local.template import Template
from tests.conftest import Api
from wallet import clock
from wallet.secrets import signing_key

ROUTES = Template().routes()
WITH_BODY = [route for route in ROUTES if route.method == "POST"]
PUBLIC = {
    ("POST", "/authorization"),
    ("POST", "/registration"),
    ("POST", "/registration/confirm"),
    ("POST", "/password/recovery"),
    ("POST", "/password/recovery/confirm"),
    ("GET", "/openapi.json"),
}
PROTECTED = [route for route in ROUTES if (route.method, route.path) not in PUBLIC]
# A valid body each, so that only the caller's role can be what is refused.
STAFF_ROUTES = {
    ("POST", "/api/v1/users"): {"login": "new@example.com", "password": "Newp#2026", "role": "individual"},
    ("POST", "/users/view"): {},
    ("POST", "/currencies"): {"code": "EUR", "name": "Euro", "fractionalDigits": 2},
    ("POST", "/issuers"): {"currencyCode": "EUR", "name": "Issuer"},
    ("POST", "/bank-catalog"): {"name": "Bank", "bic": "DEUTDEFF", "swift": "DEUTDEFFXXX", "country": "DE"},
    ("POST", "/commissions"): {"operationType": "TRANSFER", "issuerId": "i-1", "percent": 1, "fixed": 0},
    ("GET", "/ledger/reconciliation"): None,
    ("POST", "/ledger/reconciliation/run"): None,
    ("POST", "/api/v1/users/someone/disable"): None,
    ("POST", "/api/v1/users/someone/enable"): None,
}


def _route_id(route: object) -> str:
    return f"{route.method} {route.path}"  # type: ignore[attr-defined]


def _assert_error(answer: object, status: int, code: str, field: str | None = None) -> dict[str, object]:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    if field:
        assert field in [detail["field"] for detail in body["details"]], body
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_malformed_json_is_a_400_naming_the_body(api: Api, admin_token: str, route: object) -> None:
    answer = api.session.post(
        api.base_url + route.path,  # type: ignore[attr-defined]
        data=b'{"login": ',
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    _assert_error(answer, 400, "VALIDATION_ERROR", "body")


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_oversized_bodies_are_refused(api: Api, admin_token: str, route: object) -> None:
    answer = api.post(route.path, {"login": "x" * 70_000}, admin_token)  # type: ignore[attr-defined]
    _assert_error(answer, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_a_json_array_is_not_a_request(api: Api, admin_token: str, route: object) -> None:
    _assert_error(api.post(route.path, [1, 2], admin_token), 400, "VALIDATION_ERROR")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/authorization", {"login": "a@b.co"}, "password"),
        ("/authorization", {"login": 5, "password": "x"}, "login"),
        ("/registration", {"login": "not-a-login", "role": "individual"}, "login"),
        ("/registration", {"login": "a@b.co", "role": "pirate"}, "role"),
        ("/registration", {"login": "a@b.co", "role": "merchant", "legalType": "trust"}, "legalType"),
        ("/registration", {"login": "a@b.co", "role": "merchant"}, "legalType"),
        ("/registration/confirm", {"login": "a@b.co", "otp": "12ab56", "password": "Abcdef#1"}, "otp"),
        ("/registration/confirm", {"login": "a@b.co", "otp": "123456", "password": "weak"}, "password"),
        ("/api/v1/users", {"login": "a@b.co", "password": "Abcdef#1"}, "role"),
        ("/api/v1/users", {"login": "a@b.co", "password": "Abcdef#1", "role": "service"}, "organizationId"),
        ("/api/v1/users", {"login": "a@b.co", "password": "Abcdef#1", "role": "merchant"}, "legalType"),
        ("/api/v1/users", {"login": ["a@b.co"], "password": "Abcdef#1", "role": "individual"}, "login"),
        ("/api/v1/organizations", {"filter": {"type": "CLUB"}}, "filter.type"),
        ("/users/view", {"filter": {"role": "king"}}, "filter.role"),
        ("/users/view", {"pageSize": 0}, "pageSize"),
        ("/users/view", {"pageSize": "many"}, "pageSize"),
        ("/users/view", {"pageToken": "forged"}, "pageToken"),
    ],
)
def test_invalid_fields_are_named(api: Api, admin_token: str, path: str, body: object, field: str) -> None:
    _assert_error(api.post(path, body, admin_token), 400, "VALIDATION_ERROR", field)


def test_confirming_without_a_pending_registration_names_the_code(api: Api) -> None:
    answer = api.post("/registration/confirm", {"login": "a@b.co", "otp": "123456", "password": "Abcdef#1"})
    _assert_error(answer, 400, "INVALID_OTP", "otp")


@pytest.mark.parametrize("route", PROTECTED, ids=_route_id)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-token", "Token abc", "expired"],
    ids=["none", "empty", "garbage", "other scheme", "expired"],
)
def test_protected_routes_need_a_valid_token(api: Api, route: object, authorization: str | None) -> None:
    if authorization == "expired":
        past = int(clock.now().timestamp()) - 3600
        claims = {"iss": "wallet", "sub": "u", "login": "a@b.co", "org": "o", "orgType": "SYSTEM"}
        claims |= {"role": "ADMINISTRATOR", "iat": past - 900, "exp": past}
        authorization = "Bearer " + jwt.encode(claims, signing_key(), algorithm="HS256")
    headers = {"Authorization": authorization} if authorization else {}
    answer = api.session.request(route.method, api.base_url + route.path, json={}, headers=headers)  # type: ignore[attr-defined]
    _assert_error(answer, 401, "UNAUTHENTICATED")


@pytest.fixture
def customer_token(api: Api, admin_token: str) -> str:
    body = {"login": "cust@example.com", "password": "Cust#2026", "role": "individual", "name": "Cust"}
    assert api.post("/api/v1/users", body, admin_token).status_code == 201
    return api.token("cust@example.com", "Cust#2026")


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
def test_customers_are_forbidden_staff_routes(api: Api, customer_token: str, method: str, path: str) -> None:
    answer = api.session.request(
        method,
        api.base_url + path,
        json=STAFF_ROUTES[(method, path)],
        headers={"Authorization": f"Bearer {customer_token}"},
    )
    _assert_error(answer, 403, "FORBIDDEN")


def test_service_users_cannot_create_users(api: Api, admin_token: str) -> None:
    from wallet.identity import SYSTEM_ORGANIZATION_ID

    body = {
        "login": "svc@example.com",
        "password": "Serv#2026",
        "role": "service",
        "organizationId": SYSTEM_ORGANIZATION_ID,
    }
    assert api.post("/api/v1/users", body, admin_token).status_code == 201
    service_token = api.token("svc@example.com", "Serv#2026")
    _assert_error(api.post("/api/v1/users", {**body, "login": "svc2@example.com"}, service_token), 403, "FORBIDDEN")


def test_a_locked_login_gets_429_with_retry_after(api: Api) -> None:
    for _ in range(5):
        _assert_error(
            api.post("/authorization", {"login": "x@example.com", "password": "Nope#2026"}), 401, "UNAUTHENTICATED"
        )
    answer = api.post("/authorization", {"login": "x@example.com", "password": "Nope#2026"})
    _assert_error(answer, 429, "TOO_MANY_ATTEMPTS")
    assert 0 < int(answer.headers["Retry-After"]) <= 900
