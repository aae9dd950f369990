"""The ledger's reconciliation job: run by the schedule (EventBridge Scheduler) and by an administrator's
POST /ledger/reconciliation/run; stores its report and emits the metric its alarm watches."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import reconciliation
from wallet.models.accounts import ReconciliationRun
from wallet.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = reconciliation.run(ReconciliationRun.model_validate(event))
    # Alarmed on (ReconciliationAlarm): any difference means money was made or lost somewhere.
    metrics.add_metric(name="ReconciliationIssues", unit=MetricUnit.Count, value=report.issue_count)
    metrics.add_metric(name="ReconciliationItemsScanned", unit=MetricUnit.Count, value=report.items_scanned)
    summary = report.model_dump(
        mode="json", by_alias=True, include={"report_id", "clean", "issue_count", "items_scanned"}
    )
    logger.info("Reconciled the ledger", extra=summary)
    return summary


wallet.cold_start.init_done()
