"""Webhook subscriptions as their owners manage them: subscribe, list, stop, read and redeliver."""

import secrets
import uuid

from wallet import audit, clock, webhook_delivery, webhooks_store
from wallet.auth import Caller
from wallet.config import settings
from wallet.dynamo import Item
from wallet.errors import InvalidInput, NotFound
from wallet.models.base import Page
from wallet.models.deliveries import DeliveryStatus
from wallet.models.events import EventType
from wallet.models.roles import Role
from wallet.models.webhooks import (
    Delivery,
    DeliveryListRequest,
    NewWebhook,
    Webhook,
    WebhookCreated,
    Webhooks,
)
from wallet.safe_http import check_url

EVENT_NAMES = {event_type.value for event_type in EventType}


def subscribe(caller: Caller, new: NewWebhook) -> WebhookCreated:
    caller.require(Role.ADMINISTRATOR, Role.MERCHANT)
    unknown = [name for name in new.events if name != "*" and name not in EVENT_NAMES]
    if unknown:
        raise InvalidInput("events", f"names unknown event types: {', '.join(unknown)}")
    check_url(new.url, allow_loopback=settings().stage == "local")
    created = WebhookCreated(
        webhook_id=str(uuid.uuid4()),
        url=new.url,
        events=sorted(set(new.events)),
        description=new.description,
        created_at=clock.iso(clock.now()),
        secret="whsec_" + secrets.token_urlsafe(32),
    )
    stored = created.model_dump(by_alias=True, exclude_none=True) | {
        "organizationId": caller.organization_id,
        "ownerRole": caller.role.value,
    }
    recorded = audit.by(caller, "WEBHOOK_CREATED", created.webhook_id, {"url": new.url, "events": created.events})
    webhooks_store.put_subscription(stored, recorded)
    return created


def list_webhooks(caller: Caller) -> Webhooks:
    return Webhooks(
        records=[Webhook.model_validate(item) for item in webhooks_store.subscriptions_of(caller.organization_id)]
    )


def stop(caller: Caller, webhook_id: str) -> Webhook:
    subscription = _owned(caller, webhook_id)
    stopped = webhooks_store.stop_subscription(
        webhook_id, clock.iso(clock.now()), audit.by(caller, "WEBHOOK_STOPPED", webhook_id)
    )
    if not stopped:  # by another call since the read: as if it had been stopped before
        raise _absent("webhookId")
    return Webhook.model_validate(subscription)


def deliveries(caller: Caller, webhook_id: str, request: DeliveryListRequest) -> Page[Delivery]:
    _owned(caller, webhook_id, stopped_too=True)
    items, token = webhooks_store.deliveries_page(
        webhook_id, page_size=request.page_size, page_token=request.page_token
    )
    return Page[Delivery](records=[Delivery.model_validate(item) for item in items], next_page_token=token)


def redeliver(caller: Caller, delivery_id: str) -> Delivery:
    """Sends it again now, through the delivery function (off the request path)."""
    delivery = webhooks_store.get_delivery(delivery_id)
    if delivery is None:
        raise _absent("deliveryId")
    _owned(caller, delivery["webhookId"], field="deliveryId")
    changes = {"status": DeliveryStatus.PENDING.value, "nextAttemptAt": clock.iso(clock.now())}
    webhooks_store.record_attempt(delivery_id, int(delivery["attempts"]), changes)
    webhook_delivery.schedule(delivery_id, 0)
    return Delivery.model_validate(delivery | changes)


def _owned(caller: Caller, webhook_id: str, *, stopped_too: bool = False, field: str = "webhookId") -> Item:
    subscription = webhooks_store.get_subscription(webhook_id)
    if (
        subscription is None
        or subscription["organizationId"] != caller.organization_id
        or ("stoppedAt" in subscription and not stopped_too)
    ):
        raise _absent(field)
    return subscription


def _absent(field: str) -> NotFound:
    return NotFound("No such webhook", details=[{"field": field, "issue": "not found"}])
