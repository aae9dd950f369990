"""The approval workflow's own steps, called by the state machine in statemachines/approval.asl.json."""

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import payments
from wallet.models.requests import WorkflowStep, WorkflowTask
from wallet.observability import logger


@logger.inject_lambda_context
@event_parser(model=WorkflowTask)
def lambda_handler(task: WorkflowTask, context: LambdaContext) -> dict[str, Any]:
    request_id = task.request_identifier
    logger.append_keys(requestIdentifier=request_id, step=task.step.value)
    match task.step:
        case WorkflowStep.AWAIT_DECISION:
            status = payments.await_decision(request_id, task.task_token or "")
        case WorkflowStep.DECLINE_BY_SCREENING:
            status = payments.decline_by_screening(request_id, task.reason or "Declined by screening")
        case WorkflowStep.EXPIRE:
            status = payments.expire(request_id)
        case WorkflowStep.FAIL_SAFE:
            error = (task.failure or {}).get("Error", "an error")
            status = payments.fail_safe(request_id, f"A step of the approval failed ({error})")
        case WorkflowStep.ANNOUNCE:
            return {"event": payments.announce(request_id)}
    return {"status": status.value}
