"""The approval workflow's contract past its start: what a screening answers, the tasks of its own steps, and its
executions' end. Only the workflow's and the screening functions build these (the requests function starts the
workflow with a ScreeningSubject, wallet.models.requests)."""

from typing import Any

from pydantic import Field

from wallet.models.base import CamelModel
from wallet.models.enums import CaseInsensitiveEnum


class ScreeningResult(CamelModel):
    cleared: bool
    reason: str | None = None


class WorkflowStep(CaseInsensitiveEnum):
    AWAIT_DECISION = "AWAIT_DECISION"
    DECLINE_BY_SCREENING = "DECLINE_BY_SCREENING"
    EXPIRE = "EXPIRE"
    FAIL_SAFE = "FAIL_SAFE"


class WorkflowTask(CamelModel):
    step: WorkflowStep
    request_identifier: str
    task_token: str | None = None
    # A screening function's answer exactly as it came: the workflow declines on anything but a clear pass.
    verdict: Any = None
    failure: dict[str, str] | None = None


class ExecutionStatusChange(CamelModel):
    """The detail of Step Functions' "Execution Status Change" event; executions are named after their request."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: str


class ExecutionEnded(CamelModel):
    """The approval workflow's execution ended FAILED, TIMED_OUT or ABORTED (the template's rule): the
    EventBridge event's parts the workflow reads. Not Powertools' EventBridgeModel: importing its parser package
    costs about as much as pydantic itself at each cold start of every function that imports these models."""

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: ExecutionStatusChange
