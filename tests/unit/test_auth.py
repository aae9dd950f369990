"""Access tokens and password hashes, without HTTP."""

import base64
import json
from datetime import timedelta

import argon2
import jwt
import pytest

from local.aws import EmbeddedAws
from tests.conftest import PRODUCTION_HASHER
from wallet import auth, clock
from wallet.errors import Forbidden, Unauthenticated
from wallet.models.roles import OrganizationType, Role
from wallet.secrets import signing_key

CUSTOMER = auth.Caller("u-1", "c@example.com", "org-1", OrganizationType.INDIVIDUAL, Role.INDIVIDUAL)


def test_a_token_names_its_caller(embedded_aws: EmbeddedAws) -> None:
    token = auth.issue_token(CUSTOMER)
    assert auth.caller_from_authorization_header(f"Bearer {token.token}") == CUSTOMER
    assert token.expires_at.endswith("Z")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**changes: object) -> dict[str, object]:
    issued = int(clock.now().timestamp())
    claims: dict[str, object] = {
        "iss": "wallet",
        "sub": "u-1",
        "login": "c@example.com",
        "org": "org-1",
        "orgType": "INDIVIDUAL",
        "role": "ADMINISTRATOR",
        "iat": issued,
        "exp": issued + 600,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda: "", id="no token"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
        pytest.param(lambda: jwt.encode(_claims(exp=int(clock.now().timestamp()) - 1), signing_key()), id="expired"),
        pytest.param(lambda: jwt.encode(_claims(), b"another key of thirty-two bytes or more"), id="foreign key"),
        pytest.param(lambda: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}.", id="alg none"),
        pytest.param(lambda: f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(_claims())}.", id="unsigned"),
        pytest.param(lambda: jwt.encode(_claims(iss="elsewhere"), signing_key()), id="other issuer"),
        pytest.param(lambda: jwt.encode(_claims(exp=None), signing_key()), id="no expiry"),
        pytest.param(lambda: jwt.encode(_claims(role="ROOT"), signing_key()), id="unknown role"),
    ],
)
def test_bad_tokens_are_unauthenticated(embedded_aws: EmbeddedAws, forge: object) -> None:
    token = forge()  # type: ignore[operator]
    with pytest.raises(Unauthenticated):
        auth.caller_from_authorization_header(f"Bearer {token}")


def test_a_tampered_token_is_unauthenticated(embedded_aws: EmbeddedAws) -> None:
    header, _, signature = auth.issue_token(CUSTOMER).token.split(".")
    promoted = _b64(_claims(role="ADMINISTRATOR"))
    with pytest.raises(Unauthenticated):
        auth.caller_from_authorization_header(f"Bearer {header}.{promoted}.{signature}")


def test_tokens_expire_after_the_configured_minutes(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: clock.datetime.now(clock.UTC) - timedelta(minutes=16))
    token = auth.issue_token(CUSTOMER).token
    with pytest.raises(Unauthenticated):
        auth.caller_from_authorization_header(f"Bearer {token}")


def test_other_schemes_are_refused(embedded_aws: EmbeddedAws) -> None:
    token = auth.issue_token(CUSTOMER).token
    with pytest.raises(Unauthenticated):
        auth.caller_from_authorization_header(f"Basic {token}")


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PRODUCTION_HASHER)
    hashed = auth.hash_password("Secret#2026")
    assert hashed.startswith("$argon2id$")
    assert argon2.extract_parameters(hashed) == argon2.profiles.RFC_9106_LOW_MEMORY
    assert auth.password_matches(hashed, "Secret#2026")
    assert not auth.password_matches(hashed, "secret#2026")
    assert not auth.password_matches(None, "Secret#2026")
    assert not auth.password_matches("not a hash", "Secret#2026")


def test_roles_and_ownership() -> None:
    CUSTOMER.require(Role.INDIVIDUAL, Role.MERCHANT)
    with pytest.raises(Forbidden):
        CUSTOMER.require(Role.ADMINISTRATOR)
    assert CUSTOMER.may_see("org-1")
    assert not CUSTOMER.may_see("org-2")
