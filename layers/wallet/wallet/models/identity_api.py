"""The identity API's requests and answers: log-in, registration, recovery, users and organisations. Apart
from the records and rules (wallet.models.identity) that every function handling money reads: only the
functions serving these routes build them."""

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from wallet.models.base import CamelModel, Identifier, ListFilter, ListRequest, given
from wallet.models.identity import CustomerRole, LegalType, Login, Name, NewPassword
from wallet.models.roles import STAFF_ROLES, OrganizationType, Role


class Credentials(CamelModel):
    login: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


def _when_role(roles: tuple[Role, ...], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"required": ["role"], "properties": {"role": {"enum": [role.value for role in roles]}}},
        "then": then,
    }


# The contract states the rules across fields that the identity module enforces.
_MERCHANT_NEEDS_LEGAL_TYPE = _when_role((Role.MERCHANT,), given("legalType"))
_STAFF_NEEDS_ORGANIZATION = _when_role(STAFF_ROLES, given("organizationId"))


class RegistrationRequest(CamelModel):
    model_config = ConfigDict(json_schema_extra=_MERCHANT_NEEDS_LEGAL_TYPE)

    login: Login
    role: CustomerRole
    legal_type: LegalType | None = None
    name: Name | None = None


OneTimeCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class RegistrationConfirmation(CamelModel):
    login: Login
    otp: OneTimeCode
    password: NewPassword


class RecoveryRequest(CamelModel):
    login: Login


class RecoveryConfirmation(CamelModel):
    login: Login
    otp: OneTimeCode
    new_password: NewPassword


class PasswordChange(CamelModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: NewPassword


class Acknowledged(CamelModel):
    status: str


class NewUser(CamelModel):
    model_config = ConfigDict(json_schema_extra={"allOf": [_MERCHANT_NEEDS_LEGAL_TYPE, _STAFF_NEEDS_ORGANIZATION]})

    login: Login
    password: NewPassword
    role: Role
    organization_id: Identifier | None = None
    legal_type: LegalType | None = None
    name: Name | None = None


class OrganizationFilter(ListFilter):
    type: OrganizationType | None = None


class OrganizationListRequest(ListRequest):
    filter: OrganizationFilter = OrganizationFilter()


class UserFilter(ListFilter):
    role: Role | None = None
    organization_id: Identifier | None = None
    login: Login | None = None


class UserListRequest(ListRequest):
    filter: UserFilter = UserFilter()


class MemberUser(CamelModel):
    id: str
    login: str


class MemberOrganization(CamelModel):
    id: str
    type: OrganizationType
    name: str


class Member(CamelModel):
    user: MemberUser
    organization: MemberOrganization
    role: Role


class AuthorizationToken(CamelModel):
    token: str
    expires_at: str


class TokenCreated(CamelModel):
    action: str = "TOKEN_CREATED"
    authorization_token: AuthorizationToken
    members: list[Member]


class OrganizationRef(CamelModel):
    id: str
    type: OrganizationType


class UserMembership(CamelModel):
    organization: OrganizationRef


class CreatedUser(CamelModel):
    id: str
    login: str
    role: Role
    members: list[UserMembership]


class UserCreated(CamelModel):
    user: CreatedUser


class IdRef(CamelModel):
    id: str


class Registered(CamelModel):
    user: IdRef
    organization: IdRef


class RegistrationConfirmed(CamelModel):
    members: Registered
