"""`make run` fires the template's schedules as EventBridge Scheduler would: the reconciliation every
ReconciliationRate, with the schedule's own input."""

from local.lambdas import LocalLambdas
from local.schedules import Schedule, Schedules
from wallet import reconciliation_store


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_the_reconciliation_schedule_runs_the_job_once_per_period(lambdas: LocalLambdas) -> None:
    clock = Clock()
    schedules = Schedules(lambdas, clock)
    assert schedules.schedules == [
        Schedule("ReconciliationSchedule", "ReconciliationFunction", 3600, {"trigger": "SCHEDULE"})
    ]
    assert schedules.fire_due() == []  # the first run comes a period after the start
    assert reconciliation_store.latest() is None

    clock.now += 3600
    assert schedules.fire_due() == ["ReconciliationSchedule"]
    first = reconciliation_store.latest()
    assert first is not None
    assert first.trigger == "SCHEDULE"
    assert schedules.fire_due() == []  # once per period

    clock.now += 3600
    assert schedules.fire_due() == ["ReconciliationSchedule"]
    second = reconciliation_store.latest()
    assert second is not None
    assert second.report_id != first.report_id
