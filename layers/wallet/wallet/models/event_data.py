"""The events integrators receive: `{id, type, occurredAt, data}`, one JSON Schema per type (for the
OpenAPI document's `webhooks` section and for receivers that validate what they get). Apart from
wallet.models.events: a function that commits events needs their types, not these models."""

from typing import Any, Literal

from pydantic import ConfigDict, create_model

from wallet.models.accounts import Coin
from wallet.models.base import CamelModel
from wallet.models.events import EventType
from wallet.models.requests import RequestCore
from wallet.money import Money


class TransferData(CamelModel):
    business_process_id: str
    source_coin_serial: str
    destination_coin_serial: str
    amount: Money
    commission: Money
    total_amount: Money
    currency: str
    description: str | None = None


class RequestData(RequestCore):
    """A top-up or withdrawal request as it stands after the change, with the reason for it."""

    reason: str | None = None


class OperationData(CamelModel):
    """Refunds and reversals: the operation and what it gives back (more fields may come)."""

    model_config = ConfigDict(extra="allow")
    business_process_id: str


DATA_MODELS: dict[EventType, type[CamelModel]] = {
    EventType.TRANSFER_COMPLETED: TransferData,
    EventType.TRANSFER_REFUNDED: OperationData,
    EventType.TOP_UP_CREDITED: RequestData,
    EventType.TOP_UP_REVERSED: RequestData,
    EventType.TOP_UP_REQUEST_CREATED: RequestData,
    EventType.TOP_UP_REQUEST_ACCEPTED: RequestData,
    EventType.TOP_UP_REQUEST_DECLINED: RequestData,
    EventType.TOP_UP_REQUEST_EXPIRED: RequestData,
    EventType.WITHDRAWAL_HELD: RequestData,
    EventType.WITHDRAWAL_ACCEPTED: RequestData,
    EventType.WITHDRAWAL_DECLINED: RequestData,
    EventType.WITHDRAWAL_EXPIRED: RequestData,
    EventType.COIN_OPENED: Coin,
    EventType.COIN_FROZEN: Coin,
    EventType.COIN_UNFROZEN: Coin,
    EventType.COIN_CLOSED: Coin,
}


def envelope_model(event_type: EventType) -> type[CamelModel]:
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{event_type.value.replace('.', '_').title().replace('_', '')}Event",
        __base__=CamelModel,
        id=(str, ...),
        type=(Literal[event_type.value], ...),  # type: ignore[valid-type]
        occurred_at=(str, ...),
        sequences=(dict[str, int], ...),
        data=(DATA_MODELS[event_type], ...),
    )


def event_schemas() -> dict[str, dict[str, Any]]:
    """Each event type's JSON Schema, as it travels (by alias: camelCase)."""
    return {
        event_type.value: envelope_model(event_type).model_json_schema(by_alias=True, mode="serialization")
        for event_type in EventType
    }
