"""Identity: log-in with lock-out, self-registration with one-time codes, users and organisations."""

import uuid
from datetime import timedelta

from wallet import audit, clock, identity_store, one_time_codes
from wallet.auth import Caller, hash_password, issue_token, password_matches
from wallet.errors import BusinessRuleViolation, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from wallet.identity_store import Credential
from wallet.models.base import Page
from wallet.models.identity import LegalType, Organization, User, normalise_login
from wallet.models.identity_api import (
    CreatedUser,
    IdRef,
    Member,
    MemberOrganization,
    MemberUser,
    NewUser,
    OrganizationListRequest,
    OrganizationRef,
    Registered,
    RegistrationConfirmation,
    RegistrationRequest,
    TokenCreated,
    UserListRequest,
    UserMembership,
)
from wallet.models.roles import CUSTOMER_ROLES, OrganizationType, Role
from wallet.notifications import send_message

MAX_LOGIN_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
SYSTEM_ORGANIZATION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:wallet:organization:system"))
SYSTEM_ORGANIZATION_NAME = "System"


# --- log-in ---


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
    organization = _existing_organization(credential.organization_id)
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


# --- self-registration ---


def request_registration(request: RegistrationRequest) -> None:
    """Always accepted, so the answer does not reveal which logins exist; a taken login gets a notice.
    Each code carries this request's role and name: a later registration changes no earlier code."""
    _check_customer_profile(request.role, request.legal_type)
    one_time_codes.reserve_sending(request.login)
    if identity_store.login_exists(request.login):
        send_message(request.login, "Your wallet", "An account with this login already exists. Log in instead.")
        return
    code = one_time_codes.issue(
        one_time_codes.REGISTRATION, request.login, role=request.role, legal_type=request.legal_type, name=request.name
    )
    minutes = int(one_time_codes.VALIDITY.total_seconds() // 60)
    account = f"a {request.role.value.lower()} account" + (f" named {request.name}" if request.name else "")
    send_message(
        request.login,
        "Your wallet code",
        f"Your code to open {account} is {code}. It expires in {minutes} minutes.",
    )


def confirm_registration(confirmation: RegistrationConfirmation, source_ip: str | None = None) -> Registered:
    """Creates what the code was sent for, whatever later registrations of the login asked."""
    code = one_time_codes.redeem(one_time_codes.REGISTRATION, confirmation.login, confirmation.otp)
    user, organization = _new_customer(confirmation.login, code.role or Role.INDIVIDUAL, code.legal_type, code.name)
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
            details=_created(user),
        ),
    )
    return Registered(user=IdRef(id=user.id), organization=IdRef(id=organization.id))


# --- administration ---


def create_user(new_user: NewUser, by: Caller) -> CreatedUser:
    if new_user.role in CUSTOMER_ROLES:
        _check_customer_profile(new_user.role, new_user.legal_type)
        user, organization = _new_customer(new_user.login, new_user.role, new_user.legal_type, new_user.name)
        identity_store.create_user(
            user,
            hash_password(new_user.password),
            new_organization=organization,
            recorded=audit.by(by, "USER_CREATED", user.id, _created(user)),
        )
    else:
        if not new_user.organization_id:
            raise InvalidInput("organizationId", f"is required for the role {new_user.role.value}")
        organization = _existing_organization(new_user.organization_id)
        if organization.type != OrganizationType.SYSTEM:
            raise BusinessRuleViolation(
                f"A {new_user.role.value} user belongs to a system organisation", code="NOT_A_SYSTEM_ORGANIZATION"
            )
        user = User(
            id=str(uuid.uuid4()),
            login=new_user.login,
            role=new_user.role,
            organization_id=organization.id,
            created_at=clock.iso(clock.now()),
        )
        identity_store.create_user(
            user, hash_password(new_user.password), recorded=audit.by(by, "USER_CREATED", user.id, _created(user))
        )
    return CreatedUser(
        id=user.id,
        login=user.login,
        role=user.role,
        members=[UserMembership(organization=OrganizationRef(id=organization.id, type=organization.type))],
    )


def list_organizations(caller: Caller, request: OrganizationListRequest) -> Page[Organization]:
    if not caller.is_staff:
        own = _existing_organization(caller.organization_id)
        wanted = request.filter.type in (None, own.type)
        return Page[Organization](records=[own] if wanted else [])
    records, token = identity_store.list_organizations(
        request.filter.type, page_size=request.page_size, page_token=request.page_token
    )
    return Page[Organization](records=records, next_page_token=token)


def list_users(request: UserListRequest) -> Page[User]:
    wanted = request.filter
    if wanted.login:
        credential = identity_store.get_credential(wanted.login)
        user = identity_store.get_user(credential.user_id) if credential else None
        matches = user is not None and wanted.role in (None, user.role)
        matches = matches and wanted.organization_id in (None, user.organization_id if user else None)
        return Page[User](records=[user] if user and matches else [])
    records, token = identity_store.list_users(
        role=wanted.role,
        organization_id=wanted.organization_id,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return Page[User](records=records, next_page_token=token)


def bootstrap(admin_login: str, admin_password: str) -> None:
    """Creates the system organisation and the first administrator; running it again changes nothing."""
    identity_store.put_organization_if_absent(
        Organization(
            id=SYSTEM_ORGANIZATION_ID,
            name=SYSTEM_ORGANIZATION_NAME,
            type=OrganizationType.SYSTEM,
            created_at=clock.iso(clock.now()),
        ),
        audit.entry(audit.BOOTSTRAP_ACTOR, "ORGANIZATION_CREATED", SYSTEM_ORGANIZATION_ID),
    )
    login = normalise_login(admin_login)
    if identity_store.login_exists(login):
        return
    admin = User(
        id=str(uuid.uuid4()),
        login=login,
        role=Role.ADMINISTRATOR,
        organization_id=SYSTEM_ORGANIZATION_ID,
        created_at=clock.iso(clock.now()),
    )
    identity_store.create_user(
        admin,
        hash_password(admin_password),
        recorded=audit.entry(audit.BOOTSTRAP_ACTOR, "USER_CREATED", admin.id, details=_created(admin)),
    )


# --- shared rules ---


def _check_customer_profile(role: Role, legal_type: LegalType | None) -> None:
    if role not in CUSTOMER_ROLES:
        raise InvalidInput("role", "must be INDIVIDUAL or MERCHANT")
    if role == Role.MERCHANT and legal_type is None:
        raise InvalidInput("legalType", "is required for a merchant")


def _created(user: User) -> dict[str, str]:
    return {"login": user.login, "role": user.role.value, "organizationId": user.organization_id}


def _new_customer(login: str, role: Role, legal_type: LegalType | None, name: str | None) -> tuple[User, Organization]:
    created_at = clock.iso(clock.now())
    organization = Organization(
        id=str(uuid.uuid4()),
        name=name or login,
        type=OrganizationType(role.value),
        legal_type=legal_type or LegalType.INDIVIDUAL,
        created_at=created_at,
    )
    user = User(id=str(uuid.uuid4()), login=login, role=role, organization_id=organization.id, created_at=created_at)
    return user, organization


def _existing_organization(organization_id: str) -> Organization:
    organization = identity_store.get_organization(organization_id)
    if organization is None:
        raise NotFound("No such organisation", details=[{"field": "organizationId", "issue": "not found"}])
    return organization
