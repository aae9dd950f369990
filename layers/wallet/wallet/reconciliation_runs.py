"""The reconciliation as administrators use it over the API: the latest run's report, and a run started in the
reconciliation function (wallet.reconciliation runs there, scanning every table)."""

import json

from wallet import clock, reconciliation_store
from wallet.auth import Caller
from wallet.aws import lambda_
from wallet.config import settings
from wallet.errors import NotFound
from wallet.models.accounts import ReconciliationReport, ReconciliationRun, ReconciliationStarted, ReconciliationTrigger
from wallet.models.roles import Role


def latest(caller: Caller) -> ReconciliationReport:
    caller.require(Role.ADMINISTRATOR)
    report = reconciliation_store.latest()
    if report is None:
        raise NotFound("No reconciliation has run yet: POST /ledger/reconciliation/run starts one")
    return report


def start(caller: Caller) -> ReconciliationStarted:
    """Starts a run in the reconciliation function, asynchronously (it scans every table: minutes on a
    large ledger, past any API call's limit); its report replaces the latest when it ends."""
    caller.require(Role.ADMINISTRATOR)
    request = ReconciliationRun(trigger=ReconciliationTrigger.REQUEST, requested_by=caller.login)
    lambda_().invoke(
        FunctionName=settings().reconciliation_function_arn,
        InvocationType="Event",
        Payload=json.dumps(request.model_dump(mode="json", by_alias=True)).encode(),
    )
    return ReconciliationStarted(requested_at=clock.iso(clock.now()))
