"""Data access for money requests: the only module that knows the requests table's keys."""

from typing import Any

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, transact_write
from wallet.models.requests import MoneyRequest, RequestStatus

REQUEST = "REQUEST"


def _table() -> str:
    return settings().requests_table


def _key(request_id: str) -> dict[str, str]:
    return {"pk": f"{REQUEST}#{request_id}", "sk": REQUEST}


def creation(request: MoneyRequest, fingerprint: str) -> dict[str, Any]:
    """A TransactWriteItems element: the request, written only if no request has its identifier."""
    item = {
        **request.model_dump(by_alias=True, exclude_none=True),
        **_key(request.request_identifier),
        "fractionalDigits": request.fractional_digits,
        "fingerprint": fingerprint,
        "gsi1pk": f"ORG#{request.organization_id}",
        "gsi1sk": f"{request.created_at}#{request.request_identifier}",
    }
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def transition(
    request_id: str, expected: RequestStatus, new: RequestStatus, at: str, reason: str | None = None, **changes: Any
) -> dict[str, Any]:
    """A TransactWriteItems element: the request moves on only from the state the decision expects."""
    step = {"status": new.value, "at": at} | ({"reason": reason} if reason else {})
    names = {"#status": "status"} | {f"#c{index}": name for index, name in enumerate(changes)}
    values: dict[str, Any] = {":expected": expected.value, ":new": new.value, ":at": at, ":step": [step]}
    values |= {f":c{index}": value for index, value in enumerate(changes.values())}
    assignments = ["#status = :new", "updatedAt = :at", "history = list_append(history, :step)"]
    assignments += [f"#c{index} = :c{index}" for index in range(len(changes))]
    return {
        "Update": {
            "TableName": _table(),
            "Key": _key(request_id),
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ConditionExpression": "#status = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def new_task_token(request_id: str, task_token: str) -> dict[str, Any]:
    """A TransactWriteItems element: a request still PENDING waits on this token instead (nothing else changes)."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": _key(request_id),
            "UpdateExpression": "SET taskToken = :token",
            "ConditionExpression": "#status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":token": task_token, ":pending": RequestStatus.PENDING.value},
        }
    }


def write(element: dict[str, Any]) -> None:
    """One request write on its own (no money moves with it), its condition still checked."""
    transact_write([element])


def get(request_id: str) -> tuple[MoneyRequest, Item] | None:
    """The request and its stored item (task token, fingerprint)."""
    item: Item | None = dynamodb().get_item(TableName=_table(), Key=_key(request_id), ConsistentRead=True).get("Item")
    return (MoneyRequest.model_validate(item), item) if item else None
