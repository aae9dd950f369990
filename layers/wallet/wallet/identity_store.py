"""Data access for identity: the only module that knows the users table's keys."""

from collections.abc import Callable
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from wallet.aws import DeferredRead, deferred_read, dynamodb
from wallet.config import settings
from wallet.dynamo import Item, condition_failed, every_item, query_page, scan_page, transact_write
from wallet.errors import Conflict
from wallet.models.identity import LegalType, Organization, User
from wallet.models.roles import OrganizationType, Role


class Credential(NamedTuple):
    user_id: str
    login: str
    role: Role
    organization_id: str
    password_hash: str
    disabled: bool = False


class PendingCode(NamedTuple):
    """A one-time code sent to a login, and what it was sent for (a registration's role and name)."""

    login: str
    otp_digest: str
    attempts: int
    expires_at_epoch: int
    role: Role | None = None
    legal_type: LegalType | None = None
    name: str | None = None


class TokenState(NamedTuple):
    disabled: bool
    valid_from_ms: int


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


def put_organization_if_absent(org: Organization, *companions: dict[str, Any]) -> bool:
    put = {"TableName": _table(), "Item": _organization_item(org), "ConditionExpression": "attribute_not_exists(pk)"}
    try:
        transact_write([{"Put": put}, *companions])
        return True
    except ClientError as error:
        if condition_failed(error, 0):
            return False
        raise


def create_user(
    user: User,
    password_hash: str,
    *,
    new_organization: Organization | None = None,
    consumed_code: tuple[str, PendingCode, int] | None = None,
    recorded: dict[str, Any],
) -> None:
    """One transaction: the login claim (unique), the user, the customer's organisation if new, its audit
    entry, and the one-time code it came from (only while that code is still unused)."""
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
    writes.append(recorded)
    if consumed_code:
        writes.append(_consume_code(*consumed_code))
    try:
        transact_write(writes)
    except ClientError as error:
        if condition_failed(error, 0):
            raise Conflict("This login is already registered", code="DUPLICATE_LOGIN") from error
        if consumed_code and condition_failed(error, -1):
            raise Conflict("This code was used already", code="OTP_USED") from error
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
        disabled=bool(item.get("disabled")),
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


# --- one-time codes: one item per code sent, found by its digest, carrying what it was sent for ---


def put_code(purpose: str, code: PendingCode) -> None:
    item = {
        "pk": f"{purpose}#{code.login}",
        "sk": f"CODE#{code.otp_digest}",
        "login": code.login,
        "otpDigest": code.otp_digest,
        "attempts": 0,
        "expiresAtEpoch": code.expires_at_epoch,
    }
    if code.role:
        item["role"] = code.role.value
    if code.legal_type:
        item["legalType"] = code.legal_type.value
    if code.name:
        item["name"] = code.name
    dynamodb().put_item(TableName=_table(), Item=item)


def get_code(purpose: str, login: str, otp_digest: str) -> PendingCode | None:
    key = {"pk": f"{purpose}#{login}", "sk": f"CODE#{otp_digest}"}
    item = dynamodb().get_item(TableName=_table(), Key=key, ConsistentRead=True).get("Item")
    if not item:
        return None
    return PendingCode(
        login=item["login"],
        otp_digest=item["otpDigest"],
        attempts=int(item["attempts"]),
        expires_at_epoch=int(item["expiresAtEpoch"]),
        role=Role(item["role"]) if "role" in item else None,
        legal_type=LegalType(item["legalType"]) if "legalType" in item else None,
        name=item.get("name"),
    )


def count_wrong_guess(purpose: str, login: str) -> None:
    """A wrong guess counts against every code the login has pending (each allows a few)."""
    for item in every_item(
        "query",
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND begins_with(sk, :code)",
        ExpressionAttributeValues={":pk": f"{purpose}#{login}", ":code": "CODE#"},
        ProjectionExpression="pk, sk",
        ConsistentRead=True,  # it gates the guess limit: a code written a moment ago must be counted
    ):
        dynamodb().update_item(
            TableName=_table(),
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="ADD attempts :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":one": 1},
        )


def _consume_code(purpose: str, code: PendingCode, max_attempts: int) -> dict[str, Any]:
    """The code's deletion, in the transaction it authorises: only while it exists with attempts left."""
    return {
        "Delete": {
            "TableName": _table(),
            "Key": {"pk": f"{purpose}#{code.login}", "sk": f"CODE#{code.otp_digest}"},
            "ConditionExpression": "attempts < :max",
            "ExpressionAttributeValues": {":max": max_attempts},
        }
    }


# --- credentials: password changes, disabling, token revocation ---


def set_password(
    credential: Credential,
    password_hash: str,
    *,
    revoke_before_ms: int,
    consumed: tuple[str, PendingCode, int] | None,
    recorded: dict[str, Any],
) -> None:
    """The new hash, the revocation of every earlier token and the audit entry in one transaction (with the
    code that allowed it)."""
    writes: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": _table(),
                "Key": _key("LOGIN", credential.login),
                "UpdateExpression": "SET passwordHash = :hash",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":hash": password_hash},
            }
        },
        _revocation(credential.user_id, revoke_before_ms),
        recorded,
    ]
    if consumed:
        writes.append(_consume_code(*consumed))
    try:
        transact_write(writes)
    except ClientError as error:
        if condition_failed(error, -1):
            raise Conflict("The code was used already", code="OTP_USED") from error
        raise


def set_disabled(user: User, *, disabled: bool, now_ms: int, recorded: dict[str, Any]) -> None:
    """The login refuses the password; disabling also ends every token issued so far. With its audit entry."""
    user_update = "SET disabled = :disabled, tokensValidFromMs = :from" if disabled else "SET disabled = :disabled"
    user_values: dict[str, Any] = {":disabled": disabled} | ({":from": now_ms} if disabled else {})
    transact_write(
        [
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _key("LOGIN", user.login),
                    "UpdateExpression": "SET disabled = :disabled",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":disabled": disabled},
                }
            },
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _key("USER", user.id),
                    "UpdateExpression": user_update,
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": user_values,
                }
            },
            recorded,
        ]
    )


def _revocation(user_id: str, before_ms: int) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": _table(),
            "Key": _key("USER", user_id),
            "UpdateExpression": "SET tokensValidFromMs = :from",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":from": before_ms},
        }
    }


TOKEN_STATE = "disabled, tokensValidFromMs"


def token_state(user_id: str) -> TokenState:
    """Read strongly: a disabled user's tokens are refused at once."""
    item = (
        dynamodb()
        .get_item(TableName=_table(), Key=_key("USER", user_id), ConsistentRead=True, ProjectionExpression=TOKEN_STATE)
        .get("Item")
    )
    return _token_state(item)


def defer_token_state(user_id: str, check: Callable[[TokenState], None]) -> None:
    """The same read, put off so that it rides in the call's first BatchGetItem (a transfer's accounts), or is
    made on its own before the call changes anything (wallet.aws.DeferredRead)."""
    deferred_read.set(
        DeferredRead(_table(), _key("USER", user_id), TOKEN_STATE, lambda item: check(_token_state(item)))
    )


def _token_state(item: Item | None) -> TokenState:
    if item is None:
        return TokenState(disabled=True, valid_from_ms=0)
    return TokenState(disabled=bool(item.get("disabled")), valid_from_ms=int(item.get("tokensValidFromMs", 0)))


# --- attempt windows: log-ins, codes sent, code guesses ---


def reserve_attempt(counter: str, ident: str, *, limit: int, window_seconds: int, now_epoch: int) -> int:
    """Counts one attempt in the current window before it is made, with a conditional write, so no number of
    concurrent requests gets more than `limit`. Answers 0 once reserved, else the seconds until the window ends."""
    key = _key(counter, ident)
    for _ in range(3):  # a window that ended may be restarted by a concurrent request: look again
        try:
            dynamodb().update_item(
                TableName=_table(),
                Key=key,
                UpdateExpression="ADD attempts :one",
                ConditionExpression="windowEndsEpoch > :now AND attempts < :limit",
                ExpressionAttributeValues={":one": 1, ":now": now_epoch, ":limit": limit},
            )
            return 0
        except dynamodb().exceptions.ConditionalCheckFailedException:
            pass
        ends = now_epoch + window_seconds
        try:
            dynamodb().put_item(
                TableName=_table(),
                Item={**key, "attempts": 1, "windowEndsEpoch": ends, "expiresAtEpoch": ends},
                ConditionExpression="attribute_not_exists(pk) OR windowEndsEpoch <= :now",
                ExpressionAttributeValues={":now": now_epoch},
            )
            return 0
        except dynamodb().exceptions.ConditionalCheckFailedException:
            pass
        item = _get(counter, ident)
        if item and int(item["attempts"]) >= limit and int(item["windowEndsEpoch"]) > now_epoch:
            return max(1, int(item["windowEndsEpoch"]) - now_epoch)
    return 1


def forget_attempts(counter: str, ident: str) -> None:
    dynamodb().delete_item(TableName=_table(), Key=_key(counter, ident))
