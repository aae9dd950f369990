"""One-time codes sent to a login (registration, password recovery): each bound to what it was sent for,
few per login per hour, few guesses each and per login per day, every limit reserved before it is used."""

import secrets
from datetime import timedelta

from wallet import clock, identity_store
from wallet.errors import InvalidInput, TooManyAttempts
from wallet.identity_store import PendingCode
from wallet.models.identity import LegalType
from wallet.models.roles import Role
from wallet.secrets import keyed_digest

VALIDITY_MINUTES = 10  # as the messages sending a code say it
VALIDITY = timedelta(minutes=VALIDITY_MINUTES)
GUESSES_PER_CODE = 5
CODES_PER_LOGIN = 3
CODES_WINDOW = timedelta(hours=1)
GUESSES_PER_LOGIN = 10
GUESSES_WINDOW = timedelta(days=1)
REGISTRATION = "REGISTRATION"
RECOVERY = "RECOVERY"


def reserve_sending(login: str) -> None:
    """Counted for every login, known or not, so the limit reveals nothing and pumps no SMS."""
    _reserve("CODESSENT", login, CODES_PER_LOGIN, CODES_WINDOW, "Too many codes asked for this login")


def issue(
    purpose: str, login: str, *, role: Role | None = None, legal_type: LegalType | None = None, name: str | None = None
) -> str:
    """A new code, stored beside any earlier one (which stays valid for what it was sent for)."""
    code = f"{secrets.randbelow(10**6):06d}"
    expires = int((clock.now() + VALIDITY).timestamp())
    identity_store.put_code(
        purpose,
        PendingCode(
            login=login,
            otp_digest=_digest(purpose, login, code),
            attempts=0,
            expires_at_epoch=expires,
            role=role,
            legal_type=legal_type,
            name=name,
        ),
    )
    return code


def redeem(purpose: str, login: str, otp: str) -> PendingCode:
    """The code's record if it is right, unexpired and has guesses left; its use is made final by the
    transaction that `consumption` joins."""
    _reserve("GUESSES", login, GUESSES_PER_LOGIN, GUESSES_WINDOW, "Too many codes tried for this login")
    code = identity_store.get_code(purpose, login, _digest(purpose, login, otp))
    usable = code is not None and code.attempts < GUESSES_PER_CODE
    if code is None or not usable or code.expires_at_epoch <= clock.now().timestamp():
        identity_store.count_wrong_guess(purpose, login)
        raise InvalidInput("otp", "The code is wrong, expired or used up; ask for a new one", code="INVALID_OTP")
    return code


def consumption(purpose: str, code: PendingCode) -> tuple[str, PendingCode, int]:
    return purpose, code, GUESSES_PER_CODE


def _reserve(counter: str, login: str, limit: int, window: timedelta, message: str) -> None:
    retry_after = identity_store.reserve_attempt(
        counter,
        login,
        limit=limit,
        window_seconds=int(window.total_seconds()),
        now_epoch=int(clock.now().timestamp()),
    )
    if retry_after:
        raise TooManyAttempts(message, retry_after_seconds=retry_after)


def _digest(purpose: str, login: str, code: str) -> str:
    return keyed_digest("otp", purpose, login, code)
