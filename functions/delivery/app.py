"""Delivers webhooks from the events queue: published events to fan out, and retries that fell due."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import webhook_delivery
from wallet.observability import logger


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=SQSEvent)
def lambda_handler(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
    failures = []
    for record in event.records:
        try:
            message = json.loads(record.body)
            if "deliveryId" in message:
                webhook_delivery.attempt(message["deliveryId"])
            else:  # an event from the bus, as the rule puts it on the queue
                for delivery_id in webhook_delivery.fan_out(message):
                    webhook_delivery.attempt(delivery_id)
        except Exception:  # this message alone goes back to the queue (then to the dead-letter queue)
            logger.exception("Webhook message failed", extra={"messageId": record.message_id})
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


wallet.cold_start.init_done()
