"""Webhook subscriptions: subscribe, list, stop, the delivery log and redelivery."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import webhooks
from wallet.api import caller, create_app
from wallet.models.base import Page
from wallet.models.webhooks import (
    Delivery,
    DeliveryListRequest,
    NewWebhook,
    Redelivery,
    Webhook,
    WebhookCreated,
    Webhooks,
)
from wallet.observability import logger, metrics

app = create_app()
WebhookId = Annotated[str, Path(alias="webhookId", max_length=64)]


@app.post("/webhooks", status_code=201, summary="Subscribe a URL to events; the signing secret is shown only here")
def subscribe(new: NewWebhook) -> WebhookCreated:
    return webhooks.subscribe(caller(app), new)


@app.get("/webhooks", summary="The caller's webhook subscriptions (no secrets)")
def list_webhooks() -> Webhooks:
    return webhooks.list_webhooks(caller(app))


@app.delete("/webhooks/<webhookId>", summary="Stop a subscription: nothing more is delivered to it")
def stop(webhook_id: WebhookId) -> Webhook:
    return webhooks.stop(caller(app), webhook_id)


@app.post("/webhooks/<webhookId>/deliveries/view", summary="A subscription's deliveries, newest first")
def deliveries(webhook_id: WebhookId, request: DeliveryListRequest = DeliveryListRequest()) -> Page[Delivery]:
    return webhooks.deliveries(caller(app), webhook_id, request)


@app.post("/webhooks/deliveries/<deliveryId>/redeliver", status_code=202, summary="Send a delivery again now")
def redeliver(
    delivery_id: Annotated[str, Path(alias="deliveryId", max_length=64)], _: Redelivery = Redelivery()
) -> Delivery:
    return webhooks.redeliver(caller(app), delivery_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
