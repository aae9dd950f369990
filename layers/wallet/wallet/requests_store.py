"""Data access for money requests: the only module that knows the requests table's keys."""

from typing import TYPE_CHECKING, Any

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, filtered_query_page, transact_write
from wallet.models.requests import MoneyRequest, RequestKind, RequestStatus

if TYPE_CHECKING:
    # Only the API's listing gives one: the workflow reads and moves requests without building the API's models.
    from wallet.models.requests_api import RequestFilter

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
        "gsi2pk": _queue(request.kind, request.status),
        "gsi2sk": f"{request.created_at}#{request.request_identifier}",
        "gsi3pk": request.kind.value,
    }
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _queue(kind: RequestKind, status: RequestStatus) -> str:
    return f"{kind.value}#{status.value}"


def transition(
    request: MoneyRequest,
    expected: RequestStatus,
    new: RequestStatus,
    at: str,
    reason: str | None = None,
    actor: dict[str, str] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A TransactWriteItems element: the request moves on only from the state the decision expects,
    and from its status's queue to the new one."""
    request_id = request.request_identifier
    changes["gsi2pk"] = _queue(request.kind, new)
    step = {"status": new.value, "at": at, "reason": reason, "actor": actor}
    step = {key: value for key, value in step.items() if value}
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


def write(element: dict[str, Any], *companions: dict[str, Any]) -> None:
    """A request write with no money moving, its condition still checked, and what rides with it."""
    transact_write([element, *companions])


def get(request_id: str) -> tuple[MoneyRequest, Item] | None:
    """The request and its stored item (task token, fingerprint)."""
    item: Item | None = dynamodb().get_item(TableName=_table(), Key=_key(request_id), ConsistentRead=True).get("Item")
    return (MoneyRequest.model_validate(item), item) if item else None


def page(
    kind: RequestKind,
    wanted: "RequestFilter",
    *,
    organization_id: str | None,
    page_size: int,
    page_token: str | None,
) -> tuple[list[MoneyRequest], str | None]:
    """Requests of a kind, newest first: a customer's (organization_id) from the organisation index,
    staff's from the status queue, or every status's from the kind index. Never a scan."""
    names: dict[str, str] = {}
    # Sort keys are "<createdAt>#<id>"; DynamoDB refuses an empty string as a bound.
    values: dict[str, Any] = {":low": wanted.from_ or "0", ":high": f"{wanted.to or '~'}~"}
    conditions: list[str] = []
    if organization_id is not None:
        index, key, partition, sort_key = "gsi1", "gsi1pk", f"ORG#{organization_id}", "gsi1sk"
        conditions.append("kind = :kind")
        values[":kind"] = kind.value
        if wanted.status:
            conditions.append("#status = :status")
            names["#status"] = "status"
            values[":status"] = wanted.status.value
    elif wanted.status:
        index, key, partition, sort_key = "gsi2", "gsi2pk", _queue(kind, wanted.status), "gsi2sk"
    else:
        index, key, partition, sort_key = "gsi3", "gsi3pk", kind.value, "gsi2sk"
    if wanted.payment_method:
        conditions.append("paymentMethod = :method")
        values[":method"] = wanted.payment_method.value
    if wanted.coin_serial:
        conditions.append("coinSerial = :coin")
        values[":coin"] = wanted.coin_serial
    values[":partition"] = partition
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": f"{key} = :partition AND {sort_key} BETWEEN :low AND :high",
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if conditions:
        request["FilterExpression"] = " AND ".join(conditions)
    if names:
        request["ExpressionAttributeNames"] = names
    items, token = filtered_query_page(page_size=page_size, page_token=page_token, **request)
    return [MoneyRequest.model_validate(item) for item in items], token
