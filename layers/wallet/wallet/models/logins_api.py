"""The log-in and registration API's requests and answers: credentials, a token and its members, self-registration
and password recovery with one-time codes. Only the function serving these routes builds them (the users' API is
wallet.models.identity_api)."""

from typing import Annotated

from pydantic import ConfigDict, Field

from wallet.models.base import CamelModel
from wallet.models.identity import CustomerRole, LegalType, Login, Name, NewPassword
from wallet.models.identity_api import MERCHANT_NEEDS_LEGAL_TYPE
from wallet.models.roles import OrganizationType, Role


class Credentials(CamelModel):
    login: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class RegistrationRequest(CamelModel):
    model_config = ConfigDict(json_schema_extra=MERCHANT_NEEDS_LEGAL_TYPE)

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


class IdRef(CamelModel):
    id: str


class Registered(CamelModel):
    user: IdRef
    organization: IdRef
