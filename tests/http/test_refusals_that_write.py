"""Refusals that leave something behind (a wrong guess counted, a user created first, a login's failed attempts):
each runs in its own world, apart from the refusals that share one (test_bad_input_and_access.py)."""

from tests.conftest import Api
from tests.http.refusals import assert_error


def test_confirming_without_a_pending_registration_names_the_code(api: Api) -> None:
    answer = api.post("/registration/confirm", {"login": "a@b.co", "otp": "123456", "password": "Abcdef#1"})
    assert_error(answer, 400, "INVALID_OTP", "otp")


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
    assert_error(api.post("/api/v1/users", {**body, "login": "svc2@example.com"}, service_token), 403, "FORBIDDEN")


def test_a_locked_login_gets_429_with_retry_after(api: Api) -> None:
    for _ in range(5):
        assert_error(
            api.post("/authorization", {"login": "x@example.com", "password": "Nope#2026"}), 401, "UNAUTHENTICATED"
        )
    answer = api.post("/authorization", {"login": "x@example.com", "password": "Nope#2026"})
    assert_error(answer, 429, "TOO_MANY_ATTEMPTS")
    assert 0 < int(answer.headers["Retry-After"]) <= 900
