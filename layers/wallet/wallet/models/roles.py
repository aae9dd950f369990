"""Who a caller is: roles and organisation types. No pydantic here: the authorizer checks a token with these
and imports no model, which a cold start would pay for."""

from wallet.models.enums import CaseInsensitiveEnum


class Role(CaseInsensitiveEnum):
    ADMINISTRATOR = "ADMINISTRATOR"
    SERVICE = "SERVICE"
    INDIVIDUAL = "INDIVIDUAL"
    MERCHANT = "MERCHANT"


STAFF_ROLES = (Role.ADMINISTRATOR, Role.SERVICE)
CUSTOMER_ROLES = (Role.INDIVIDUAL, Role.MERCHANT)


class OrganizationType(CaseInsensitiveEnum):
    SYSTEM = "SYSTEM"
    INDIVIDUAL = "INDIVIDUAL"
    MERCHANT = "MERCHANT"
