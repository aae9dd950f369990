"""Identity: roles, organisations, users, log-in and registration requests and answers."""

import re
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from wallet.models.base import CamelModel, Identifier, ListFilter, ListRequest, given
from wallet.models.enums import CaseInsensitiveEnum
from wallet.models.roles import CUSTOMER_ROLES, STAFF_ROLES, OrganizationType, Role

# What str.strip() removes, spelled out: `\s` means other characters in Python than in the contract's
# (ECMA-262) regular expressions, so the rule and the published pattern say the same thing.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
EMAIL_FORM = rf"[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}]+"
PHONE_FORM = r"\+[1-9][0-9]{6,14}"
EMAIL = re.compile(f"^{EMAIL_FORM}$")
E164_PHONE = re.compile(f"^{PHONE_FORM}$")
PASSWORD_SPECIALS = "#$!@*&%"
# The published contract's form of the rules below, so that a schema-valid login or password is one the API takes.
LOGIN_PATTERN = f"^[{WHITESPACE}]*({PHONE_FORM}|{EMAIL_FORM})[{WHITESPACE}]*$"
PASSWORD_PATTERN = f"^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[{PASSWORD_SPECIALS}])"


class LegalType(CaseInsensitiveEnum):
    INDIVIDUAL = "INDIVIDUAL"
    CORPORATION = "CORPORATION"


def normalise_login(value: str) -> str:
    """An e-mail address (kept in lower case) or an E.164 phone number."""
    value = value.strip()
    if E164_PHONE.match(value):
        return value
    if EMAIL.match(value) and len(value) <= 254:
        return value.lower()
    raise ValueError("must be an e-mail address or a phone number in E.164 form (+15551234567)")


def check_password_policy(value: str) -> str:
    if not (8 <= len(value) <= 128):
        raise ValueError("must have 8 to 128 characters")
    if not re.search(r"[A-Z]", value):
        raise ValueError("must contain an upper-case letter")
    if not re.search(r"[a-z]", value):
        raise ValueError("must contain a lower-case letter")
    if not re.search(r"[0-9]", value):
        raise ValueError("must contain a digit")
    if not any(char in PASSWORD_SPECIALS for char in value):
        raise ValueError(f"must contain one of {' '.join(PASSWORD_SPECIALS)}")
    return value


def public_name(name: str) -> str:
    """A name as others may see it: a login (an e-mail or a phone number) is masked, a real name is not."""
    try:
        login = normalise_login(name)
    except ValueError:
        return name
    if login.startswith("+"):
        return login[:3] + "*" * (len(login) - 6) + login[-3:]  # +49*******165
    local, _, domain = login.partition("@")
    return f"{local[:1]}***@{domain}"  # a***@example.com


Login = Annotated[
    str, Field(max_length=254, json_schema_extra={"pattern": LOGIN_PATTERN}), AfterValidator(normalise_login)
]
NewPassword = Annotated[
    str,
    Field(json_schema_extra={"minLength": 8, "maxLength": 128, "pattern": PASSWORD_PATTERN}),
    AfterValidator(check_password_policy),
]
# Roles a customer may register, or a limit name: the others are staff's.
CustomerRole = Annotated[Role, WithJsonSchema({"type": "string", "enum": [role.value for role in CUSTOMER_ROLES]})]
Name = Annotated[str, Field(min_length=1, max_length=200)]


# --- identity requests ---


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


# --- identity records and answers ---


class Organization(CamelModel):
    id: str
    name: str
    type: OrganizationType
    legal_type: LegalType | None = None
    created_at: str


class User(CamelModel):
    id: str
    login: str
    role: Role
    organization_id: str
    created_at: str
    disabled: bool = False


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
