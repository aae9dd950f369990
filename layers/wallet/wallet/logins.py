"""A login's ways in: log-in with lock-out, which issues a token, self-registration with one-time codes, and a
forgotten password recovered with one."""

from wallet import audit, clock, identity, identity_store, one_time_codes
from wallet.auth import Caller, hash_password, issue_token, password_matches
from wallet.errors import InvalidInput, Unauthenticated
from wallet.models.identity import normalise_login
from wallet.models.logins_api import (
    IdRef,
    Member,
    MemberOrganization,
    MemberUser,
    Registered,
    RegistrationConfirmation,
    RegistrationRequest,
    TokenCreated,
)
from wallet.models.roles import Role
from wallet.notifications import send_message
from wallet.passwords import verified_credential


def log_in(login: str, password: str) -> TokenCreated:
    """The same 401 whether the login or the password is wrong; a run of failures locks the login."""
    try:
        login = normalise_login(login)
    except ValueError:
        password_matches(None, password)
        raise Unauthenticated("Wrong login or password") from None
    credential = verified_credential(login, password)
    if credential is None or credential.disabled:
        raise Unauthenticated("Wrong login or password")
    organization = identity.existing_organization(credential.organization_id)
    caller = Caller(
        user_id=credential.user_id,
        login=credential.login,
        organization_id=organization.id,
        organization_type=organization.type,
        role=credential.role,
    )
    member = Member(
        user=MemberUser(id=caller.user_id, login=caller.login),
        organization=MemberOrganization(id=organization.id, type=organization.type, name=organization.name),
        role=caller.role,
    )
    return TokenCreated(authorization_token=issue_token(caller), members=[member])


# --- self-registration ---


def request_registration(request: RegistrationRequest) -> None:
    """Always accepted, so the answer does not reveal which logins exist; a taken login gets a notice.
    Each code carries this request's role and name: a later registration changes no earlier code."""
    identity.check_customer_profile(request.role, request.legal_type)
    one_time_codes.reserve_sending(request.login)
    if identity_store.login_exists(request.login):
        send_message(request.login, "Your wallet", "An account with this login already exists. Log in instead.")
        return
    code = one_time_codes.issue(
        one_time_codes.REGISTRATION, request.login, role=request.role, legal_type=request.legal_type, name=request.name
    )
    account = f"a {request.role.value.lower()} account" + (f" named {request.name}" if request.name else "")
    send_message(
        request.login,
        "Your wallet code",
        f"Your code to open {account} is {code}. It expires in {one_time_codes.VALIDITY_MINUTES} minutes.",
    )


def confirm_registration(confirmation: RegistrationConfirmation, source_ip: str | None = None) -> Registered:
    """Creates what the code was sent for, whatever later registrations of the login asked."""
    code = one_time_codes.redeem(one_time_codes.REGISTRATION, confirmation.login, confirmation.otp)
    user, organization = identity.new_customer(
        confirmation.login, code.role or Role.INDIVIDUAL, code.legal_type, code.name
    )
    identity_store.create_user(
        user,
        hash_password(confirmation.password),
        new_organization=organization,
        consumed_code=one_time_codes.consumption(one_time_codes.REGISTRATION, code),
        recorded=audit.entry(
            audit.actor(user.id, user.role, organization.id),
            "USER_REGISTERED",
            user.id,
            source_ip=source_ip,
            details=identity.created_details(user),
        ),
    )
    return Registered(user=IdRef(id=user.id), organization=IdRef(id=organization.id))


# --- recovery of a forgotten password ---


def request_recovery(login: str) -> None:
    """Always accepted; a code goes only to a login that exists (and is not disabled)."""
    one_time_codes.reserve_sending(login)
    credential = identity_store.get_credential(login)
    if credential is None or credential.disabled:
        return
    code = one_time_codes.issue(one_time_codes.RECOVERY, login)
    send_message(
        login,
        "Your wallet password",
        f"Your code to choose a new password is {code}. It expires in {one_time_codes.VALIDITY_MINUTES} minutes.",
    )


def confirm_recovery(login: str, otp: str, new_password: str, source_ip: str | None = None) -> None:
    code = one_time_codes.redeem(one_time_codes.RECOVERY, login, otp)
    credential = identity_store.get_credential(login)
    if credential is None:
        raise InvalidInput("otp", "The code is wrong, expired or used up; ask for a new one", code="INVALID_OTP")
    identity_store.set_password(
        credential,
        hash_password(new_password),
        revoke_before_ms=clock.now_ms(),
        consumed=one_time_codes.consumption(one_time_codes.RECOVERY, code),
        recorded=audit.entry(
            audit.actor(credential.user_id, credential.role, credential.organization_id),
            "PASSWORD_RESET",
            credential.user_id,
            source_ip=source_ip,
        ),
    )
