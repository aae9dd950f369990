"""Every route answers bad input with a 4xx in the error shape, and refuses callers it should, writing nothing:
the refusals share one world, which each test must leave as it found it (tests/http/refusals.py)."""

from collections.abc import Iterator

import jwt
import pytest

from local.template import Template
from tests.conftest import Api
from tests.http.refusals import SharedWorld, assert_error, shared_world
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


@pytest.fixture(scope="module")
def shared() -> Iterator[SharedWorld]:
    """One world for the module's refusals, with a customer; each test must leave it unchanged."""
    with shared_world() as world:
        body = {"login": "cust@example.com", "password": "Cust#2026", "role": "individual", "name": "Cust"}
        assert world.api.post("/api/v1/users", body, world.admin_token).status_code == 201
        world.tokens["customer"] = world.api.token("cust@example.com", "Cust#2026")
        world.remember()
        yield world


@pytest.fixture
def api(shared: SharedWorld) -> Iterator[Api]:
    yield shared.api
    shared.assert_unchanged()


@pytest.fixture
def admin_token(shared: SharedWorld) -> str:
    return shared.admin_token


@pytest.fixture
def customer_token(shared: SharedWorld) -> str:
    return shared.tokens["customer"]


def _route_id(route: object) -> str:
    return f"{route.method} {route.path}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_malformed_json_is_a_400_naming_the_body(api: Api, admin_token: str, route: object) -> None:
    answer = api.session.post(
        api.base_url + route.path,  # type: ignore[attr-defined]
        data=b'{"login": ',
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    assert_error(answer, 400, "VALIDATION_ERROR", "body")


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_oversized_bodies_are_refused(api: Api, admin_token: str, route: object) -> None:
    answer = api.post(route.path, {"login": "x" * 70_000}, admin_token)  # type: ignore[attr-defined]
    assert_error(answer, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("route", WITH_BODY, ids=_route_id)
def test_a_json_array_is_not_a_request(api: Api, admin_token: str, route: object) -> None:
    assert_error(api.post(route.path, [1, 2], admin_token), 400, "VALIDATION_ERROR")  # type: ignore[attr-defined]


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
    assert_error(api.post(path, body, admin_token), 400, "VALIDATION_ERROR", field)


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
    assert_error(answer, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
def test_customers_are_forbidden_staff_routes(api: Api, customer_token: str, method: str, path: str) -> None:
    answer = api.session.request(
        method,
        api.base_url + path,
        json=STAFF_ROUTES[(method, path)],
        headers={"Authorization": f"Bearer {customer_token}"},
    )
    assert_error(answer, 403, "FORBIDDEN")
