"""Data access for identity: the only module that knows the users table's keys."""

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, condition_failed, query_page, scan_page, transact_write
from wallet.errors import Conflict
from wallet.models.identity import LegalType, Organization, OrganizationType, Role, User


@dataclass(frozen=True)
class Credential:
    user_id: str
    login: str
    role: Role
    organization_id: str
    password_hash: str


@dataclass(frozen=True)
class PendingRegistration:
    login: str
    otp_digest: str
    attempts: int
    expires_at_epoch: int
    role: Role
    legal_type: LegalType | None
    name: str | None


@dataclass(frozen=True)
class LoginThrottle:
    failures: int
    locked_until_epoch: int


def _table() -> str:
    return settings().users_table


def _key(kind: str, ident: str) -> Item:
    return {"pk": f"{kind}#{ident}", "sk": kind}


def _get(kind: str, ident: str) -> Item | None:
    """Strongly consistent: these reads gate rights (a login just registered, a code, a lock-out)."""
    item: Item | None = dynamodb().get_item(TableName=_table(), Key=_key(kind, ident), ConsistentRead=True).get("Item")
    return item


# --- organisations and users ---


def _organization_item(org: Organization) -> Item:
    item = {
        **_key("ORG", org.id),
        "entity": "ORGANIZATION",
        **org.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    item |= {"gsi1pk": f"ORGTYPE#{org.type.value}", "gsi1sk": f"{org.created_at}#{org.id}"}
    return item


def _user_item(user: User) -> Item:
    item = {**_key("USER", user.id), "entity": "USER", **user.model_dump(mode="json", by_alias=True)}
    item |= {
        "gsi1pk": f"ORGMEMBERS#{user.organization_id}",
        "gsi1sk": f"{user.created_at}#{user.id}",
        "gsi2pk": f"ROLE#{user.role.value}",
        "gsi2sk": f"{user.created_at}#{user.id}",
    }
    return item


def _organization(item: Item) -> Organization:
    return Organization.model_validate(item)


def _user(item: Item) -> User:
    return User.model_validate(item)


def get_organization(organization_id: str) -> Organization | None:
    item = _get("ORG", organization_id)
    return _organization(item) if item else None


def put_organization_if_absent(org: Organization) -> bool:
    try:
        dynamodb().put_item(
            TableName=_table(), Item=_organization_item(org), ConditionExpression="attribute_not_exists(pk)"
        )
        return True
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False


def create_user(
    user: User,
    password_hash: str,
    *,
    new_organization: Organization | None = None,
    consumed_registration: PendingRegistration | None = None,
) -> None:
    """One transaction: the login claim (unique), the user, the customer's organisation if new, and
    the pending registration it came from (only while its code is the one that was checked)."""
    credential = {
        **_key("LOGIN", user.login),
        "userId": user.id,
        "login": user.login,
        "role": user.role.value,
        "organizationId": user.organization_id,
        "passwordHash": password_hash,
    }
    writes: list[dict[str, Any]] = [
        {"Put": {"TableName": _table(), "Item": credential, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": _table(), "Item": _user_item(user), "ConditionExpression": "attribute_not_exists(pk)"}},
    ]
    if new_organization:
        writes.append(
            {
                "Put": {
                    "TableName": _table(),
                    "Item": _organization_item(new_organization),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    if consumed_registration:
        writes.append(
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _key("REGISTRATION", consumed_registration.login),
                    "ConditionExpression": "otpDigest = :digest",
                    "ExpressionAttributeValues": {":digest": consumed_registration.otp_digest},
                }
            }
        )
    try:
        transact_write(writes)
    except ClientError as error:
        if condition_failed(error, 0):
            raise Conflict("This login is already registered", code="DUPLICATE_LOGIN") from error
        if consumed_registration and condition_failed(error, -1):
            raise Conflict(
                "This registration was already confirmed or replaced", code="REGISTRATION_CHANGED"
            ) from error
        raise


def get_credential(login: str) -> Credential | None:
    item = _get("LOGIN", login)
    if not item:
        return None
    return Credential(
        user_id=item["userId"],
        login=item["login"],
        role=Role(item["role"]),
        organization_id=item["organizationId"],
        password_hash=item["passwordHash"],
    )


def login_exists(login: str) -> bool:
    return _get("LOGIN", login) is not None


def list_organizations(
    org_type: OrganizationType | None, *, page_size: int, page_token: str | None
) -> tuple[list[Organization], str | None]:
    if org_type:
        items, token = query_page(
            TableName=_table(),
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": f"ORGTYPE#{org_type.value}"},
            page_size=page_size,
            page_token=page_token,
        )
    else:
        items, token = scan_page(
            TableName=_table(),
            FilterExpression="entity = :entity",
            ExpressionAttributeValues={":entity": "ORGANIZATION"},
            page_size=page_size,
            page_token=page_token,
        )
    return [_organization(item) for item in items], token


def list_users(
    *, role: Role | None, organization_id: str | None, page_size: int, page_token: str | None
) -> tuple[list[User], str | None]:
    request: dict[str, Any] = {"TableName": _table(), "page_size": page_size, "page_token": page_token}
    values: dict[str, Any] = {}
    if organization_id:
        request |= {"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :pk"}
        values[":pk"] = f"ORGMEMBERS#{organization_id}"
        if role:
            request["FilterExpression"] = "#role = :role"
    elif role:
        request |= {"IndexName": "gsi2", "KeyConditionExpression": "gsi2pk = :pk"}
        values[":pk"] = f"ROLE#{role.value}"
    else:
        request["FilterExpression"] = "entity = :entity"
        values[":entity"] = "USER"
    if "FilterExpression" in request and role:
        request["ExpressionAttributeNames"] = {"#role": "role"}
        values[":role"] = role.value
    request["ExpressionAttributeValues"] = values
    items, token = (query_page if "KeyConditionExpression" in request else scan_page)(**request)
    return [_user(item) for item in items], token


def get_user(user_id: str) -> User | None:
    item = _get("USER", user_id)
    return _user(item) if item else None


# --- pending registrations ---


def put_registration(registration: PendingRegistration) -> None:
    """A new request replaces the pending one: its code and its attempts start afresh."""
    item = {
        **_key("REGISTRATION", registration.login),
        "login": registration.login,
        "otpDigest": registration.otp_digest,
        "attempts": registration.attempts,
        "expiresAtEpoch": registration.expires_at_epoch,
        "role": registration.role.value,
    }
    if registration.legal_type:
        item["legalType"] = registration.legal_type.value
    if registration.name:
        item["name"] = registration.name
    dynamodb().put_item(TableName=_table(), Item=item)


def get_registration(login: str) -> PendingRegistration | None:
    item = _get("REGISTRATION", login)
    if not item:
        return None
    return PendingRegistration(
        login=item["login"],
        otp_digest=item["otpDigest"],
        attempts=int(item["attempts"]),
        expires_at_epoch=int(item["expiresAtEpoch"]),
        role=Role(item["role"]),
        legal_type=LegalType(item["legalType"]) if "legalType" in item else None,
        name=item.get("name"),
    )


def spend_registration_attempt(registration: PendingRegistration, max_attempts: int) -> bool:
    """Counts one attempt atomically; False once the code has used up its attempts or was replaced."""
    try:
        dynamodb().update_item(
            TableName=_table(),
            Key=_key("REGISTRATION", registration.login),
            UpdateExpression="ADD attempts :one",
            ConditionExpression="attempts < :max AND otpDigest = :digest",
            ExpressionAttributeValues={":one": 1, ":max": max_attempts, ":digest": registration.otp_digest},
        )
        return True
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False


# --- login throttling ---


def get_login_throttle(login: str) -> LoginThrottle:
    item = _get("THROTTLE", login) or {}
    return LoginThrottle(failures=int(item.get("failures", 0)), locked_until_epoch=int(item.get("lockedUntilEpoch", 0)))


def record_login_failure(login: str, *, forget_after_epoch: int) -> int:
    """Adds one failure in a row and answers the new count."""
    answer = dynamodb().update_item(
        TableName=_table(),
        Key=_key("THROTTLE", login),
        UpdateExpression="ADD failures :one SET expiresAtEpoch = :forget",
        ExpressionAttributeValues={":one": 1, ":forget": forget_after_epoch},
        ReturnValues="UPDATED_NEW",
    )
    return int(answer["Attributes"]["failures"])


def lock_login(login: str, *, until_epoch: int) -> None:
    dynamodb().update_item(
        TableName=_table(),
        Key=_key("THROTTLE", login),
        UpdateExpression="SET lockedUntilEpoch = :until, failures = :zero, expiresAtEpoch = :until",
        ExpressionAttributeValues={":until": until_epoch, ":zero": 0},
    )


def clear_login_throttle(login: str) -> None:
    dynamodb().delete_item(TableName=_table(), Key=_key("THROTTLE", login))
