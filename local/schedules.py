"""EventBridge Scheduler's schedules from the template, fired in this process: each rate schedule invokes its
target function with the schedule's Input once per period, the first a period after the start, as Scheduler does
for a schedule without a start date. (The embedded world creates no Scheduler resources: moto would keep a
schedule but never fire it.)"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.lambdas import LocalLambdas
from local.poller import Poller
from local.template import resolve

RATE = re.compile(r"^rate\((\d+) (minute|hour|day)s?\)$")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    name: str
    function: str
    period_seconds: int
    payload: dict[str, Any]


def template_schedules(lambdas: LocalLambdas) -> list[Schedule]:
    found = []
    for name, props in lambdas.aws.template.resources_of("AWS::Scheduler::Schedule").items():
        expression = str(resolve(props["ScheduleExpression"], lambdas.aws.references))
        rate = RATE.match(expression)
        if not rate:  # cron() and at() would need a calendar here; no schedule of ours uses one
            raise ValueError(f"{name}: only rate() schedules run locally, not {expression}")
        target = props["Target"]  # its role is IAM's business, which the embedded world does not play
        # the function's ARN as the embedded world names it: ...:function:<name>:<world id>
        function = str(resolve(target["Arn"], lambdas.aws.references)).split(":function:")[-1].partition(":")[0]
        period = int(rate.group(1)) * UNIT_SECONDS[rate.group(2)]
        found.append(Schedule(name, function, period, json.loads(target.get("Input", "{}"))))
    return found


class Schedules:
    def __init__(self, lambdas: LocalLambdas, clock: Callable[[], float] = time.monotonic):
        self.lambdas = lambdas
        self.clock = clock
        self.schedules = template_schedules(lambdas)
        started = clock()
        self.due = {schedule.name: started + schedule.period_seconds for schedule in self.schedules}
        self._poller = Poller("local-schedules", 1, self.fire_due)

    def start(self) -> "Schedules":
        if self.schedules:
            self._poller.start()
        return self

    def stop(self) -> None:
        self._poller.stop()

    def fire_due(self) -> list[str]:
        """Invokes each schedule whose time has come (once, however late), and answers their names."""
        fired = []
        for schedule in self.schedules:
            if self.clock() >= self.due[schedule.name]:
                self.due[schedule.name] = self.clock() + schedule.period_seconds
                self.lambdas.invoke(schedule.function, schedule.payload)
                fired.append(schedule.name)
        return fired
