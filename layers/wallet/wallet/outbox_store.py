"""Data access for the outbox: the only module that knows the outbox table's keys.

Events are written in the same transaction as the change they report; the table's stream carries
them to the publisher. An event's items share a partition key per ordering key (the account), so
the stream keeps one account's events in order; `sequences` carries, per account the change moved,
that account's version after it. Published markers let a retried batch skip what already reached the bus."""

from datetime import datetime, timedelta
from typing import Any

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, batch_get

EVENT_PREFIX = "EVENT#"
PUBLISHED = "PUBLISHED"
# Long enough to replay a day of stream retries and a redrive; the stream itself keeps 24 hours.
RETENTION = timedelta(days=14)


def _table() -> str:
    return settings().outbox_table


def _expires(occurred_at: str) -> int:
    return int((datetime.fromisoformat(occurred_at) + RETENTION).timestamp())


def event_put(event: Item, ordering_key: str, sequences: dict[str, int]) -> dict[str, Any]:
    """A TransactWriteItems element: the event, written once (its id is stable for the change)."""
    item = {
        **event,
        "pk": f"{EVENT_PREFIX}{ordering_key}",
        "sk": f"{event['occurredAt']}#{event['id']}",
        "sequences": sequences,
        "expiresAtEpoch": _expires(event["occurredAt"]),
    }
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def sequenced(write: dict[str, Any], sequences: dict[str, int]) -> dict[str, Any]:
    """An event's write stamped with the versions its posting gives the accounts (decided at the write,
    as a posting retried on a fresh read moves them on); any other write as it is."""
    put = write.get("Put")
    if not put or put["TableName"] != _table() or not put["Item"]["pk"].startswith(EVENT_PREFIX):
        return write
    item = {**put["Item"], "sequences": {**put["Item"].get("sequences", {}), **sequences}}
    return {"Put": {**put, "Item": item}}


def accounts_of(item: Item) -> set[str]:
    """Every account an event is ordered for: its ordering key's and each account it carries a sequence of."""
    return {item["pk"].removeprefix(EVENT_PREFIX), *(item.get("sequences") or {})}


def _marker_key(event_id: str) -> dict[str, str]:
    return {"pk": f"{PUBLISHED}#{event_id}", "sk": PUBLISHED}


def published_ids(event_ids: list[str]) -> set[str]:
    """Which of these events already reached the bus (read consistently, up to 100 a call)."""
    unique = list(dict.fromkeys(event_ids))
    found: set[str] = set()
    for start in range(0, len(unique), 100):
        keys = [_marker_key(event_id) for event_id in unique[start : start + 100]]
        found |= {item["eventId"] for item in batch_get(_table(), keys)}
    return found


def mark_published(event_ids: list[str], at: str) -> None:
    expires = _expires(at)
    for start in range(0, len(event_ids), 25):
        writes = [
            {"PutRequest": {"Item": {**_marker_key(event_id), "eventId": event_id, "expiresAtEpoch": expires}}}
            for event_id in event_ids[start : start + 25]
        ]
        request: dict[str, Any] = {_table(): writes}
        while request:
            request = dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
