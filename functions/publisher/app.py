"""Publishes the outbox's committed events to EventBridge, fed by the outbox table's DynamoDB stream."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Any

from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import publisher
from wallet.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=DynamoDBStreamEvent)
def lambda_handler(event: DynamoDBStreamEvent, context: LambdaContext) -> dict[str, Any]:
    streamed = [
        publisher.StreamedEvent(str(record.dynamodb.sequence_number), record.dynamodb.new_image)
        for record in event.records
        if record.dynamodb and record.dynamodb.new_image
    ]
    resume_at = publisher.publish(streamed)
    # Partial batch response: the stream resumes from this record; everything before it is done.
    return {"batchItemFailures": [{"itemIdentifier": resume_at}] if resume_at else []}


wallet.cold_start.init_done()
