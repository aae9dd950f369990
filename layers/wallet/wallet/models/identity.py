"""Identity as the other domains read it: users and organisations as stored, an owner as others see it, the rules
of logins and passwords.
Their requests and answers are in wallet.models.identity_api and wallet.models.logins_api (log-in, registration,
recovery), which only the identity functions build."""

import re
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from wallet.models.base import CamelModel
from wallet.models.enums import CaseInsensitiveEnum
from wallet.models.roles import CUSTOMER_ROLES, OrganizationType, Role

# What str.strip() removes, spelled out: `\s` means other characters in Python than in the contract's
# (ECMA-262) regular expressions, so the rule and the published pattern say the same thing.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
EMAIL_FORM = rf"[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}]+"
PHONE_FORM = r"\+[1-9][0-9]{6,14}"
E164_PHONE = re.compile(f"^{PHONE_FORM}$")
PASSWORD_SPECIALS = "#$!@*&%"
# The published contract's form of the rules below, so that a schema-valid login or password is one the API takes.
LOGIN_PATTERN = f"^[{WHITESPACE}]*({PHONE_FORM}|{EMAIL_FORM})[{WHITESPACE}]*$"
PASSWORD_PATTERN = f"^(?=[\\s\\S]*[A-Z])(?=[\\s\\S]*[a-z])(?=[\\s\\S]*[0-9])(?=[\\s\\S]*[{PASSWORD_SPECIALS}])"


class LegalType(CaseInsensitiveEnum):
    INDIVIDUAL = "INDIVIDUAL"
    CORPORATION = "CORPORATION"


@cache
def _email() -> re.Pattern[str]:
    # Compiled on first use, not at every cold start: its Unicode classes take about a millisecond to compile.
    return re.compile(f"^{EMAIL_FORM}$")


def normalise_login(value: str) -> str:
    """An e-mail address (kept in lower case) or an E.164 phone number."""
    value = value.strip()
    if E164_PHONE.match(value):
        return value
    if _email().match(value) and len(value) <= 254:
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


class OwnerRef(CamelModel):
    name: str  # an account's owner as others see it (public_name)


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
