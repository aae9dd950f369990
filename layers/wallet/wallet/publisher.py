"""Carries committed events from the outbox's stream to EventBridge: at least once, in order per
account, never invented (only what a transaction committed is on the stream).

The stream consumer resumes from the sequence number it reports as failed, so nothing is sent past
a failure: what follows goes on the retry. A batch of entries never holds two events of one
account (every account it moved, not only the one it is streamed under), so a refused entry never lets
a later event of any of its accounts overtake it. Published markers let a retried batch skip events that
already reached the bus."""

import json
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from wallet import clock, events, outbox_store
from wallet.aws import events as eventbridge
from wallet.config import settings
from wallet.dynamo import Item
from wallet.observability import logger, metrics

MAX_ENTRIES = 10  # PutEvents takes at most ten entries a call


class StreamedEvent(NamedTuple):
    sequence_number: str
    item: Item


def publish(streamed: list[StreamedEvent]) -> str | None:
    """Publishes the events in stream order. Answers the sequence number to resume from when
    something was not published (the consumer reports it as the batch's failure), else None."""
    already = outbox_store.published_ids([event.item["id"] for event in streamed])
    pending = [event for event in streamed if event.item["id"] not in already]
    for chunk in _chunks(pending):
        try:
            answer = eventbridge().put_events(Entries=[_entry(event.item) for event in chunk])
        except (BotoCoreError, ClientError):
            logger.exception("EventBridge could not be reached", extra={"eventIds": [e.item["id"] for e in chunk]})
            _not_published(len(chunk))
            return chunk[0].sequence_number
        refused = [index for index, result in enumerate(answer["Entries"]) if result.get("ErrorCode")]
        sent = [event.item["id"] for index, event in enumerate(chunk) if index not in refused]
        _remember(sent)
        if refused:
            first = chunk[refused[0]]
            logger.warning(
                "EventBridge refused events; they are sent again from the first refused",
                extra={"eventIds": [chunk[index].item["id"] for index in refused], "resumeAt": first.sequence_number},
            )
            _not_published(len(refused))
            return first.sequence_number
    return None


def _not_published(count: int) -> None:
    """Alarmed on (EventsNotPublishedAlarm): events wait in the outbox while the bus refuses them."""
    metrics.add_metric(name="EventsNotPublished", unit=MetricUnit.Count, value=count)


def _chunks(pending: list[StreamedEvent]) -> list[list[StreamedEvent]]:
    """Consecutive groups of at most ten, no two events in one group touching the same account."""
    chunks: list[list[StreamedEvent]] = []
    accounts: set[str] = set()
    for event in pending:
        touched = outbox_store.accounts_of(event.item)
        if not chunks or len(chunks[-1]) == MAX_ENTRIES or touched & accounts:
            chunks.append([])
            accounts = set()
        chunks[-1].append(event)
        accounts |= touched
    return chunks


def _remember(event_ids: list[str]) -> None:
    """A marker lost here only risks a second send if this batch is retried; the event is out."""
    if not event_ids:
        return
    try:
        outbox_store.mark_published(event_ids, clock.iso(clock.now()))
    except (BotoCoreError, ClientError):
        logger.exception("Published markers not written", extra={"eventIds": event_ids})


def _entry(item: Item) -> dict[str, Any]:
    detail = {**events.envelope(item), "organizationIds": list(item.get("organizationIds", []))}
    return {
        "Source": settings().event_source,
        "DetailType": item["type"],
        "Detail": json.dumps(detail),
        "EventBusName": settings().event_bus_name,
    }
