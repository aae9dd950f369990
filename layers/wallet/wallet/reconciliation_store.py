"""Data access for the reconciliation's reports: the latest one, kept in the journal table under its own key."""

from botocore.exceptions import ClientError

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.models.accounts import ReconciliationReport

# Beside the journal's accounts (entries), process records and limit counters; never an ENTRY# sort key.
LATEST_REPORT_KEY = {"pk": "RECONCILIATION#LATEST", "sk": "REPORT"}


def put_latest(report: ReconciliationReport) -> bool:
    """Stores the report as the latest unless a run that started later stored its own (runs may overlap:
    the schedule's and an administrator's). False if it was not stored."""
    try:
        dynamodb().put_item(
            TableName=settings().journal_table,
            Item={**LATEST_REPORT_KEY, "startedAt": report.started_at, "report": report.model_dump_json()},
            ConditionExpression="attribute_not_exists(pk) OR startedAt <= :started",
            ExpressionAttributeValues={":started": report.started_at},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def latest() -> ReconciliationReport | None:
    item = (
        dynamodb().get_item(TableName=settings().journal_table, Key=LATEST_REPORT_KEY, ConsistentRead=True).get("Item")
    )
    return ReconciliationReport.model_validate_json(item["report"]) if item else None
