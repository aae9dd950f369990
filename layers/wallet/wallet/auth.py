"""Access tokens, password hashing and the caller's identity and rights."""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING

import jwt

from wallet import clock
from wallet.config import settings
from wallet.errors import Forbidden, Unauthenticated
from wallet.models.roles import STAFF_ROLES, OrganizationType, Role
from wallet.secrets import signing_key

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from wallet.identity_store import TokenState
    from wallet.models.logins_api import AuthorizationToken

TOKEN_ALGORITHM = "HS256"
TOKEN_ISSUER = "wallet"


@dataclass(frozen=True)
class Caller:
    user_id: str
    login: str
    organization_id: str
    organization_type: OrganizationType
    role: Role
    # When the caller's token was issued (not who the caller is): a password change or a disable ends older ones.
    issued_at_ms: int = field(default=0, compare=False)
    # Where the request came from (API Gateway's view), for the audit trail; not who the caller is either.
    source_ip: str | None = field(default=None, compare=False)

    @property
    def actor(self) -> dict[str, str]:
        """Who did it, as recorded on postings, decisions and audit entries."""
        return {"userId": self.user_id, "role": self.role.value, "organizationId": self.organization_id}

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden("This operation needs one of the roles: " + ", ".join(roles))

    def may_see(self, organization_id: str) -> bool:
        """Staff see everything; a customer only what its organisation owns."""
        return self.is_staff or organization_id == self.organization_id


def issue_token(caller: Caller) -> "AuthorizationToken":
    # Imported here, as the identity store below: the authorizer only verifies tokens, and imports no model
    # (pydantic) and no store.
    from wallet.models.logins_api import AuthorizationToken

    issued = clock.now()
    expires = issued + timedelta(minutes=settings().token_ttl_minutes)
    claims = {
        "iss": TOKEN_ISSUER,
        "sub": caller.user_id,
        "login": caller.login,
        "org": caller.organization_id,
        "orgType": caller.organization_type.value,
        "role": caller.role.value,
        "iat": int(issued.timestamp()),
        "iatMs": int(issued.timestamp() * 1000),
        "exp": int(expires.timestamp()),
    }
    token = jwt.encode(claims, signing_key(), algorithm=TOKEN_ALGORITHM)
    return AuthorizationToken(token=token, expires_at=clock.iso(expires))


def caller_from_authorization_header(header: str | None) -> Caller:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("A bearer token is required")
    try:
        claims = jwt.decode(
            token.strip(),
            signing_key(),
            algorithms=[TOKEN_ALGORITHM],
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return Caller(
            user_id=claims["sub"],
            login=claims["login"],
            organization_id=claims["org"],
            organization_type=OrganizationType(claims["orgType"]),
            role=Role(claims["role"]),
            issued_at_ms=int(claims.get("iatMs", claims["iat"] * 1000)),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as error:
        raise Unauthenticated("The token is invalid or expired") from error


def require_current_token(caller: Caller) -> None:
    """A token of a disabled user, or one issued before the password last changed, is refused (read strongly)."""
    from wallet import identity_store  # see issue_token

    _refuse_if_revoked(caller, identity_store.token_state(caller.user_id))


def defer_current_token_check(caller: Caller) -> None:
    """The same check, made with the call's first BatchGetItem or before it changes anything, whichever comes
    first (wallet.aws.DeferredRead): a transfer reads the caller's state with its accounts, in one call."""
    from wallet import identity_store  # see issue_token

    identity_store.defer_token_state(caller.user_id, lambda state: _refuse_if_revoked(caller, state))


def _refuse_if_revoked(caller: Caller, state: "TokenState") -> None:
    if state.disabled or caller.issued_at_ms < state.valid_from_ms:
        raise Unauthenticated("The token is no longer valid; log in again")


@cache
def _hasher() -> "PasswordHasher":
    # Imported here: only the functions that log in or set passwords pay for argon2 at cold start.
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Always spends one hash computation, so an unknown login takes as long as a wrong password."""
    from argon2.exceptions import InvalidHashError, VerificationError  # see _hasher

    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher().hash("no such user")
