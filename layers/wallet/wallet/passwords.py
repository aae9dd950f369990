"""Passwords and access: a login's password verified under its lock-out, changed by its user, and users disabled and
enabled (a forgotten password is recovered through wallet.logins). Each change ends the tokens issued before it."""

from datetime import timedelta

from wallet import audit, clock, identity_store
from wallet.auth import Caller, hash_password, password_matches
from wallet.errors import InvalidInput, NotFound, TooManyAttempts
from wallet.identity_store import Credential
from wallet.models.identity import User

MAX_LOGIN_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


def verified_credential(login: str, password: str) -> Credential | None:
    """The login's credential if the password is right. Each verification is reserved first with a conditional
    write, so however many arrive at once, a login gets at most 5 per lock window (then 429)."""
    retry_after = identity_store.reserve_attempt(
        "LOGINS",
        login,
        limit=MAX_LOGIN_FAILURES,
        window_seconds=int(LOCKOUT.total_seconds()),
        now_epoch=int(clock.now().timestamp()),
    )
    if retry_after:
        raise TooManyAttempts("Too many failed log-ins; try again later", retry_after_seconds=retry_after)
    credential = identity_store.get_credential(login)
    if not password_matches(credential.password_hash if credential else None, password) or credential is None:
        return None
    if not credential.disabled:
        identity_store.forget_attempts("LOGINS", login)
    return credential


def change_password(caller: Caller, current_password: str, new_password: str) -> None:
    """The current password is verified under the log-in's own limit (a stolen token cannot guess it)."""
    credential = verified_credential(caller.login, current_password)
    if credential is None or credential.user_id != caller.user_id:
        raise InvalidInput("currentPassword", "is not the current password", code="WRONG_PASSWORD")
    identity_store.set_password(
        credential,
        hash_password(new_password),
        revoke_before_ms=clock.now_ms(),
        consumed=None,
        recorded=audit.by(caller, "PASSWORD_CHANGED", caller.user_id),
    )


def set_disabled(by: Caller, user_id: str, *, disabled: bool) -> User:
    user = identity_store.get_user(user_id)
    if user is None:
        raise NotFound("No such user", details=[{"field": "userId", "issue": "not found"}])
    recorded = audit.by(by, "USER_DISABLED" if disabled else "USER_ENABLED", user_id)
    identity_store.set_disabled(user, disabled=disabled, now_ms=clock.now_ms(), recorded=recorded)
    return user.model_copy(update={"disabled": disabled})
