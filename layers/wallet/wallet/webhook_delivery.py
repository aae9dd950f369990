"""Webhook delivery, off the request path: each published event fanned out to the subscriptions
that may see it, then POSTed, signed, retried with backoff for 24 hours, then FAILED.

Runs in the delivery function behind the events queue (EventBridge rule -> SQS). A retry is a
delayed message naming the delivery; SQS delays at most 15 minutes, so a longer wait is a chain
of them. Receivers may see a delivery twice and dedupe by the event id."""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

from wallet import clock, webhooks_store
from wallet.aws import sqs
from wallet.config import settings
from wallet.dynamo import Item
from wallet.models.deliveries import DeliveryStatus
from wallet.models.roles import Role
from wallet.observability import logger
from wallet.safe_http import UnsafeDestination
from wallet.safe_http import post as safe_post

RETRY_WINDOW = timedelta(hours=24)
MAX_BACKOFF_SECONDS = 3600
MAX_SQS_DELAY_SECONDS = 900
TIMEOUT_SECONDS = 5.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def may_receive(subscription: Item, event_type: str, organization_ids: list[str]) -> bool:
    """Administrators' subscriptions see every event; a customer's only events about its own accounts."""
    wanted = subscription["events"]
    if "*" not in wanted and event_type not in wanted:
        return False
    return subscription["ownerRole"] == Role.ADMINISTRATOR.value or subscription["organizationId"] in organization_ids


def fan_out(bus_event: dict[str, Any]) -> list[str]:
    """The deliveries this event makes (each created once, however often the event arrives)."""
    detail = bus_event["detail"]
    envelope = {key: detail[key] for key in ("id", "type", "occurredAt", "sequences", "data") if key in detail}
    created = []
    for subscription in webhooks_store.active_subscriptions():
        if not may_receive(subscription, envelope["type"], list(detail.get("organizationIds", []))):
            continue
        delivery_id = hashlib.sha256(f"{envelope['id']}|{subscription['webhookId']}".encode()).hexdigest()[:32]
        now = clock.iso(clock.now())
        delivery = {
            "deliveryId": delivery_id,
            "webhookId": subscription["webhookId"],
            "eventId": envelope["id"],
            "type": envelope["type"],
            "payload": json.dumps(envelope, separators=(",", ":")),
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "createdAt": now,
            "nextAttemptAt": now,
        }
        if webhooks_store.put_delivery_if_absent(delivery):
            created.append(delivery_id)
    return created


def attempt(delivery_id: str) -> None:
    """One attempt if it is due (else the wait goes on); its outcome recorded once."""
    delivery = webhooks_store.get_delivery(delivery_id)
    if delivery is None or delivery["status"] != DeliveryStatus.PENDING.value:
        return
    now = clock.now()
    due = datetime.fromisoformat(delivery["nextAttemptAt"])
    if due > now + timedelta(seconds=1):
        schedule(delivery_id, (due - now).total_seconds())
        return
    subscription = webhooks_store.get_subscription(delivery["webhookId"])
    if subscription is None or "stoppedAt" in subscription:
        webhooks_store.record_attempt(delivery_id, int(delivery["attempts"]), {"status": DeliveryStatus.FAILED.value})
        return
    status_code = _send(subscription, delivery)
    attempts = int(delivery["attempts"]) + 1
    changes: dict[str, Any] = {"attempts": attempts, "lastStatusCode": status_code, "lastAttemptAt": clock.iso(now)}
    if status_code is not None and 200 <= status_code < 300:
        changes |= {"status": DeliveryStatus.DELIVERED.value, "nextAttemptAt": None}
        webhooks_store.record_attempt(delivery_id, attempts - 1, changes)
        return
    wait = min(settings().webhook_retry_base_seconds * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    if now + timedelta(seconds=wait) - datetime.fromisoformat(delivery["createdAt"]) > RETRY_WINDOW:
        changes |= {"status": DeliveryStatus.FAILED.value, "nextAttemptAt": None}
        webhooks_store.record_attempt(delivery_id, attempts - 1, changes)
        return
    changes["nextAttemptAt"] = clock.iso(now + timedelta(seconds=wait))
    if webhooks_store.record_attempt(delivery_id, attempts - 1, changes):
        schedule(delivery_id, wait)


def schedule(delivery_id: str, delay_seconds: float) -> None:
    sqs().send_message(
        QueueUrl=settings().webhook_queue_url,
        MessageBody=json.dumps({"deliveryId": delivery_id}),
        DelaySeconds=max(0, min(int(delay_seconds), MAX_SQS_DELAY_SECONDS)),
    )


def _send(subscription: Item, delivery: Item) -> int | None:
    """The status code, or None when nothing answered (refused address, timeout, connection error)."""
    body = delivery["payload"].encode()
    headers = {
        "Content-Type": "application/json",
        "Wallet-Event-Id": delivery["eventId"],
        "Wallet-Event-Type": delivery["type"],
        "Wallet-Signature": signature(subscription["secret"], int(time.time()), body),
    }
    try:
        return safe_post(
            subscription["url"],
            body,
            headers,
            timeout=TIMEOUT_SECONDS,
            allow_loopback=settings().stage == "local",
        )
    except UnsafeDestination as error:
        logger.warning("Webhook destination refused", extra={"webhookId": subscription["webhookId"], "why": str(error)})
    except Exception:  # the receiver's failure, whatever it is, is retried
        logger.info("Webhook receiver did not answer", extra={"webhookId": subscription["webhookId"]})
    return None
