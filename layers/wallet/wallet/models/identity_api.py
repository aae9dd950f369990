"""The identity API's requests and answers that staff and users send about users and organisations: new users,
the lists, a password change; and what the log-in and registration API shares with them (an acknowledgement, the
rules across fields). Apart from the records and rules (wallet.models.identity) that every function handling money
reads, and from the log-in and registration API's own (wallet.models.logins_api): only the functions serving these
routes build them."""

from typing import Any

from pydantic import ConfigDict, Field

from wallet.models.base import CamelModel, Identifier, ListFilter, ListRequest, given
from wallet.models.identity import LegalType, Login, Name, NewPassword
from wallet.models.roles import STAFF_ROLES, OrganizationType, Role


def _when_role(roles: tuple[Role, ...], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"required": ["role"], "properties": {"role": {"enum": [role.value for role in roles]}}},
        "then": then,
    }


# The contract states the rules across fields that the identity and logins modules enforce.
MERCHANT_NEEDS_LEGAL_TYPE = _when_role((Role.MERCHANT,), given("legalType"))
_STAFF_NEEDS_ORGANIZATION = _when_role(STAFF_ROLES, given("organizationId"))


class PasswordChange(CamelModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: NewPassword


class Acknowledged(CamelModel):
    status: str


class NewUser(CamelModel):
    model_config = ConfigDict(json_schema_extra={"allOf": [MERCHANT_NEEDS_LEGAL_TYPE, _STAFF_NEEDS_ORGANIZATION]})

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
