"""Webhook subscriptions and their deliveries."""

from typing import Annotated

from pydantic import Field, WithJsonSchema

from wallet.models.base import CamelModel, ListRequest
from wallet.models.deliveries import DeliveryStatus
from wallet.models.events import EventType

# An event type, or "*" for all of them (checked by the subscription, which names the unknown ones).
EventName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    WithJsonSchema({"type": "string", "enum": ["*", *(event_type.value for event_type in EventType)]}),
]


class NewWebhook(CamelModel):
    url: Annotated[str, Field(min_length=8, max_length=2048)]
    events: Annotated[list[EventName], Field(min_length=1, max_length=32)]
    description: Annotated[str, Field(max_length=200)] | None = None


class Webhook(CamelModel):
    webhook_id: str
    url: str
    events: list[str]
    description: str | None = None
    created_at: str


class WebhookCreated(Webhook):
    secret: str  # shown only in this answer


class Webhooks(CamelModel):
    records: list[Webhook]


class Delivery(CamelModel):
    delivery_id: str
    event_id: str
    type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None = None
    next_attempt_at: str | None = None


class DeliveryListRequest(ListRequest):
    pass


class Redelivery(CamelModel):
    """Nothing to say yet; a body, if sent, must still be a JSON object."""
