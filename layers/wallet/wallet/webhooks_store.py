"""Data access for webhooks: the only module that knows the webhooks table's keys.

Subscriptions (WEBHOOK#id) are listed by owner (gsi1) and, while active, in one small partition
the delivery function reads (gsi2); deliveries (DELIVERY#id) by subscription, newest first (gsi1)."""

from typing import Any

from botocore.exceptions import ClientError

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, condition_failed, every_item, query_page, transact_write

ACTIVE = "ACTIVE"


def _table() -> str:
    return settings().webhooks_table


def _subscription_key(webhook_id: str) -> dict[str, str]:
    return {"pk": f"WEBHOOK#{webhook_id}", "sk": "WEBHOOK"}


def _delivery_key(delivery_id: str) -> dict[str, str]:
    return {"pk": f"DELIVERY#{delivery_id}", "sk": "DELIVERY"}


def put_subscription(subscription: Item, *companions: dict[str, Any]) -> None:
    item = {
        **subscription,
        **_subscription_key(subscription["webhookId"]),
        "gsi1pk": f"OWNER#{subscription['organizationId']}",
        "gsi1sk": f"{subscription['createdAt']}#{subscription['webhookId']}",
        "gsi2pk": ACTIVE,
        "gsi2sk": subscription["webhookId"],
    }
    put = {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    transact_write([put, *companions])


def get_subscription(webhook_id: str) -> Item | None:
    item: Item | None = (
        dynamodb().get_item(TableName=_table(), Key=_subscription_key(webhook_id), ConsistentRead=True).get("Item")
    )
    return item


def subscriptions_of(organization_id: str) -> list[Item]:
    return every_item(
        "query",
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :owner",
        ExpressionAttributeValues={":owner": f"OWNER#{organization_id}"},
        FilterExpression="attribute_exists(gsi2pk)",
    )


def active_subscriptions() -> list[Item]:
    return every_item(
        "query",
        TableName=_table(),
        IndexName="gsi2",
        KeyConditionExpression="gsi2pk = :active",
        ExpressionAttributeValues={":active": ACTIVE},
    )


def stop_subscription(webhook_id: str, at: str, *companions: dict[str, Any]) -> bool:
    """Leaves the active partition; its deliveries stay readable. False if another call stopped it first."""
    update = {
        "TableName": _table(),
        "Key": _subscription_key(webhook_id),
        "UpdateExpression": "SET stoppedAt = :at REMOVE gsi2pk, gsi2sk",
        "ConditionExpression": "attribute_exists(gsi2pk)",
        "ExpressionAttributeValues": {":at": at},
    }
    try:
        transact_write([{"Update": update}, *companions])
    except ClientError as error:
        if condition_failed(error, 0):
            return False
        raise
    return True


def put_delivery_if_absent(delivery: Item) -> bool:
    """False if this event was already given to this subscription (a repeated fan-out)."""
    item = {
        **delivery,
        **_delivery_key(delivery["deliveryId"]),
        "gsi1pk": f"DELIVERIES#{delivery['webhookId']}",
        "gsi1sk": f"{delivery['createdAt']}#{delivery['deliveryId']}",
    }
    try:
        dynamodb().put_item(TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def get_delivery(delivery_id: str) -> Item | None:
    item: Item | None = (
        dynamodb().get_item(TableName=_table(), Key=_delivery_key(delivery_id), ConsistentRead=True).get("Item")
    )
    return item


def record_attempt(delivery_id: str, attempts_before: int, changes: dict[str, Any]) -> bool:
    """The outcome of one attempt, only if no other attempt was recorded meanwhile."""
    names = {f"#f{index}": name for index, name in enumerate(changes)}
    values = {f":v{index}": value for index, value in enumerate(changes.values())} | {":before": attempts_before}
    assignments = ", ".join(f"#f{index} = :v{index}" for index in range(len(changes)))
    try:
        dynamodb().update_item(
            TableName=_table(),
            Key=_delivery_key(delivery_id),
            UpdateExpression=f"SET {assignments}",
            ConditionExpression="attempts = :before",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def deliveries_page(webhook_id: str, *, page_size: int, page_token: str | None) -> tuple[list[Item], str | None]:
    return query_page(
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :webhook",
        ExpressionAttributeValues={":webhook": f"DELIVERIES#{webhook_id}"},
        ScanIndexForward=False,
        page_size=page_size,
        page_token=page_token,
    )
