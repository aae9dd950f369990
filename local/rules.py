"""EventBridge rules on Step Functions executions, delivered as AWS would: moto's Step Functions emits no
"Execution Status Change" events, so a watcher reads ended executions and hands each status change that a
template rule's pattern matches to that rule's function, once.

The watcher reads moto's own store of executions, every one of them: through the API it read only the newest
100 of each state machine (ListExecutions' first page), so on a long-running server a workflow ending after
100 newer ones had started was never delivered; and the calls were most of an idle world's CPU."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.events.models import EventPattern
from moto.stepfunctions.parser.api import ExecutionStatus

from local.aws import ACCOUNT_ID, REGION, workflow_executions
from local.lambdas import LocalLambdas
from local.poller import Poller
from local.template import resolve

DETAIL_TYPE = "Step Functions Execution Status Change"


class ExecutionRules:
    def __init__(self, lambdas: LocalLambdas, poll_seconds: float = 0.1):
        self.lambdas = lambdas
        references = lambdas.aws.references
        self.rules = [
            (EventPattern.load(json.dumps(resolve(pattern, references))), function)
            for function, pattern in lambdas.aws.template.event_rules()
        ]
        self._delivered: set[tuple[str, str]] = set()
        self._poller = Poller("local-execution-rules", poll_seconds, self.deliver_ended)

    def start(self) -> "ExecutionRules":
        if self.rules:
            self._poller.start()
        return self

    def stop(self) -> None:
        self._poller.stop()

    def deliver_ended(self) -> None:
        """Every ended execution's status change, to the rules that match it; each change once."""
        for machine, execution in workflow_executions():
            status: ExecutionStatus | None = execution.exec_status  # its stop date is set before its status
            if status is None or status == ExecutionStatus.RUNNING:
                continue
            change = (execution.execution_arn, status.value)
            if change in self._delivered:
                continue
            self._delivered.add(change)
            event = _status_change(
                {
                    "executionArn": execution.execution_arn,
                    "stateMachineArn": machine.arn,
                    "name": execution.name,
                    "status": status.value,
                    "startDate": execution.start_date,
                    "stopDate": execution.stop_date,
                }
            )
            for pattern, function in self.rules:
                if pattern.matches_event(event):  # type: ignore[arg-type]
                    self.lambdas.invoke(function, event)


def _status_change(execution: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it to a rule's target."""
    stopped = execution.get("stopDate") or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": "aws.states",
        "account": ACCOUNT_ID,
        "time": stopped.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": REGION,
        "resources": [execution["executionArn"]],
        "detail": {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": int(execution["startDate"].timestamp() * 1000),
            "stopDate": int(stopped.timestamp() * 1000),
        },
    }
