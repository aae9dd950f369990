"""Passwords and access: recovery by a one-time code, change by the user, disabling and enabling users.
Each change ends the tokens issued before it."""

from wallet import audit, clock, identity_store, one_time_codes
from wallet.auth import Caller, hash_password
from wallet.errors import InvalidInput, NotFound
from wallet.identity import verified_credential
from wallet.models.identity import User
from wallet.notifications import send_message


def request_recovery(login: str) -> None:
    """Always accepted; a code goes only to a login that exists (and is not disabled)."""
    one_time_codes.reserve_sending(login)
    credential = identity_store.get_credential(login)
    if credential is None or credential.disabled:
        return
    code = one_time_codes.issue(one_time_codes.RECOVERY, login)
    minutes = int(one_time_codes.VALIDITY.total_seconds() // 60)
    send_message(
        login, "Your wallet password", f"Your code to choose a new password is {code}. It expires in {minutes} minutes."
    )


def confirm_recovery(login: str, otp: str, new_password: str, source_ip: str | None = None) -> None:
    code = one_time_codes.redeem(one_time_codes.RECOVERY, login, otp)
    credential = identity_store.get_credential(login)
    if credential is None:
        raise InvalidInput("otp", "The code is wrong, expired or used up; ask for a new one", code="INVALID_OTP")
    identity_store.set_password(
        credential,
        hash_password(new_password),
        revoke_before_ms=_now_ms(),
        consumed=one_time_codes.consumption(one_time_codes.RECOVERY, code),
        recorded=audit.entry(
            audit.actor(credential.user_id, credential.role, credential.organization_id),
            "PASSWORD_RESET",
            credential.user_id,
            source_ip=source_ip,
        ),
    )


def change_password(caller: Caller, current_password: str, new_password: str) -> None:
    """The current password is verified under the log-in's own limit (a stolen token cannot guess it)."""
    credential = verified_credential(caller.login, current_password)
    if credential is None or credential.user_id != caller.user_id:
        raise InvalidInput("currentPassword", "is not the current password", code="WRONG_PASSWORD")
    identity_store.set_password(
        credential,
        hash_password(new_password),
        revoke_before_ms=_now_ms(),
        consumed=None,
        recorded=audit.by(caller, "PASSWORD_CHANGED", caller.user_id),
    )


def set_disabled(by: Caller, user_id: str, *, disabled: bool) -> User:
    user = identity_store.get_user(user_id)
    if user is None:
        raise NotFound("No such user", details=[{"field": "userId", "issue": "not found"}])
    recorded = audit.by(by, "USER_DISABLED" if disabled else "USER_ENABLED", user_id)
    identity_store.set_disabled(user, disabled=disabled, now_ms=_now_ms(), recorded=recorded)
    return user.model_copy(update={"disabled": disabled})


def _now_ms() -> int:
    return int(clock.now().timestamp() * 1000)
