"""The platform's events: one for each change of money or of a request's state.

An event is built here as a write that rides in the same TransactWriteItems as its change (a ledger
posting's companion, or beside a request's conditional write): committed with it, or not at all.
Its id derives from the change, so a retried change can never produce a second event."""

import hashlib
from decimal import Decimal
from typing import Any

from wallet import clock, outbox_store
from wallet.dynamo import Item
from wallet.models.events import EventType


def event_id(event_type: EventType, change_id: str) -> str:
    """Stable: the same change always yields the same id, which receivers dedupe by."""
    return "evt_" + hashlib.sha256(f"{event_type.value}|{change_id}".encode()).hexdigest()[:32]


def outbox_write(
    event_type: EventType,
    change_id: str,
    data: dict[str, Any],
    *,
    ordering_key: str,
    organization_ids: list[str],
    sequences: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The event as a TransactWriteItems element. `ordering_key` (an account) keeps that account's
    events in order on the stream; `organization_ids` are the customers the event concerns; `sequences`
    each account's version after a change made outside a ledger posting (a posting stamps its own)."""
    event = {
        "id": event_id(event_type, change_id),
        "type": event_type.value,
        "occurredAt": clock.iso(clock.now()),
        "data": _plain(data),
        "organizationIds": sorted(set(organization_ids)),
    }
    return outbox_store.event_put(event, ordering_key, sequences or {})


def envelope(item: Item) -> dict[str, Any]:
    """What integrators receive: `{id, type, occurredAt, sequences, data}`. `sequences` gives, for each
    account whose balance or status the change moved, that account's version after it: consecutive per
    account, so a receiver orders an account's events by it and sees a gap as an event still to come."""
    sequences = {serial: int(version) for serial, version in (item.get("sequences") or {}).items()}
    return {
        "id": item["id"],
        "type": item["type"],
        "occurredAt": item["occurredAt"],
        "sequences": sequences,
        "data": _plain(item["data"]),
    }


def _plain(value: Any) -> Any:
    """Money as decimal strings (never floats), dropping absent values."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
