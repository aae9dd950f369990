"""Events for integrations: each decided request is announced on EventBridge."""

import json

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from wallet.aws import events
from wallet.config import settings
from wallet.models.requests import MoneyRequest, RequestKind
from wallet.observability import logger, metrics

EVENT_NAMES = {RequestKind.TOP_UP: "TopUp", RequestKind.WITHDRAWAL: "Withdrawal"}
NOT_PUBLISHED_METRIC = "EventsNotPublished"


def announce(request: MoneyRequest) -> str:
    """`TopUpAccepted`, `WithdrawalDeclined`, ...: the detail is the request as the API shows it.

    The money has moved already: an event EventBridge refuses is never dropped silently (an error log line
    and the EventsNotPublished metric, which raises an alarm), but the caller still gets its answer."""
    detail_type = f"{EVENT_NAMES[request.kind]}{request.status.value.title()}"
    entry = {
        "Source": settings().event_source,
        "DetailType": detail_type,
        "Detail": json.dumps(request.model_dump(mode="json", by_alias=True)),
    }
    try:
        answer = events().put_events(Entries=[entry])
        failures = [result for result in answer.get("Entries", []) if result.get("ErrorCode")]
        if answer.get("FailedEntryCount", 0) or failures:
            _not_published(entry, failures[0].get("ErrorCode", "") if failures else "", failures)
    except (ClientError, BotoCoreError) as error:
        _not_published(entry, type(error).__name__, str(error))
    return detail_type


def _not_published(entry: dict[str, str], code: str, cause: object) -> None:
    logger.error(
        "Event not published",
        extra={"detailType": entry["DetailType"], "detail": entry["Detail"], "errorCode": code, "cause": str(cause)},
    )
    metrics.add_metric(name=NOT_PUBLISHED_METRIC, unit=MetricUnit.Count, value=1)
