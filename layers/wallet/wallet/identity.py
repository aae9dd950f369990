"""Identity: users and organisations created by staff and listed, the platform's first administrator, and the rules
every new customer follows (wallet.logins registers customers who sign up themselves)."""

import uuid

from wallet import audit, clock, identity_store
from wallet.auth import Caller, hash_password
from wallet.errors import BusinessRuleViolation, InvalidInput, NotFound
from wallet.models.base import Page
from wallet.models.identity import LegalType, Organization, User, normalise_login
from wallet.models.identity_api import (
    CreatedUser,
    NewUser,
    OrganizationListRequest,
    OrganizationRef,
    UserListRequest,
    UserMembership,
)
from wallet.models.roles import CUSTOMER_ROLES, OrganizationType, Role

SYSTEM_ORGANIZATION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:wallet:organization:system"))
SYSTEM_ORGANIZATION_NAME = "System"


# --- administration ---


def create_user(new_user: NewUser, by: Caller) -> CreatedUser:
    if new_user.role in CUSTOMER_ROLES:
        check_customer_profile(new_user.role, new_user.legal_type)
        user, organization = new_customer(new_user.login, new_user.role, new_user.legal_type, new_user.name)
        identity_store.create_user(
            user,
            hash_password(new_user.password),
            new_organization=organization,
            recorded=audit.by(by, "USER_CREATED", user.id, created_details(user)),
        )
    else:
        if not new_user.organization_id:
            raise InvalidInput("organizationId", f"is required for the role {new_user.role.value}")
        organization = existing_organization(new_user.organization_id)
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
            user,
            hash_password(new_user.password),
            recorded=audit.by(by, "USER_CREATED", user.id, created_details(user)),
        )
    return CreatedUser(
        id=user.id,
        login=user.login,
        role=user.role,
        members=[UserMembership(organization=OrganizationRef(id=organization.id, type=organization.type))],
    )


def list_organizations(caller: Caller, request: OrganizationListRequest) -> Page[Organization]:
    if not caller.is_staff:
        own = existing_organization(caller.organization_id)
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
        recorded=audit.entry(audit.BOOTSTRAP_ACTOR, "USER_CREATED", admin.id, details=created_details(admin)),
    )


# --- shared rules ---


def check_customer_profile(role: Role, legal_type: LegalType | None) -> None:
    if role not in CUSTOMER_ROLES:
        raise InvalidInput("role", "must be INDIVIDUAL or MERCHANT")
    if role == Role.MERCHANT and legal_type is None:
        raise InvalidInput("legalType", "is required for a merchant")


def created_details(user: User) -> dict[str, str]:
    return {"login": user.login, "role": user.role.value, "organizationId": user.organization_id}


def new_customer(login: str, role: Role, legal_type: LegalType | None, name: str | None) -> tuple[User, Organization]:
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


def existing_organization(organization_id: str) -> Organization:
    organization = identity_store.get_organization(organization_id)
    if organization is None:
        raise NotFound("No such organisation", details=[{"field": "organizationId", "issue": "not found"}])
    return organization
