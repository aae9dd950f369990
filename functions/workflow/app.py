"""The approval workflow's own steps, called by the state machine in statemachines/approval.asl.json, and its
safety net: the rule on executions that end FAILED, TIMED_OUT or ABORTED. Each decision writes its event in
its own transaction; the workflow announces nothing itself."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import approval, screening
from wallet.models.requests import RequestStatus
from wallet.models.workflow import ExecutionEnded, WorkflowStep, WorkflowTask
from wallet.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "detail-type" in event:
        return _execution_ended(ExecutionEnded.model_validate(event))
    return _step(WorkflowTask.model_validate(event))


def _step(task: WorkflowTask) -> dict[str, Any]:
    request_id = task.request_identifier
    logger.append_keys(requestIdentifier=request_id, step=task.step.value)
    status: RequestStatus
    match task.step:
        case WorkflowStep.AWAIT_DECISION:
            status = approval.await_decision(request_id, task.task_token or "")
        case WorkflowStep.DECLINE_BY_SCREENING:
            status = approval.decline_by_screening(request_id, screening.decline_reason(task.verdict))
        case WorkflowStep.EXPIRE:
            status = approval.expire(request_id)
        case WorkflowStep.FAIL_SAFE:
            error = (task.failure or {}).get("Error", "an error")
            status = approval.fail_safe(request_id, f"A step of the approval failed ({error})")
    return {"status": status.value}


def _execution_ended(event: ExecutionEnded) -> dict[str, Any]:
    """No execution may leave its request SCREENING or PENDING with money held; any number of deliveries
    decline it once (a request already final stays as it is)."""
    execution = event.detail
    logger.warning("Approval workflow ended unfinished", extra={"execution": execution.execution_arn})
    status = approval.fail_safe(execution.name, f"The approval workflow ended {execution.status}")
    return {"status": status.value}


wallet.cold_start.init_done()
