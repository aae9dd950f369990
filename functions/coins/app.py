"""Accounts (coins) and their statements, and the ledger's reconciliation check."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import account_lifecycle, accounts, back_office, limits, reconciliation_runs
from wallet.api import caller, create_app
from wallet.models.accounts import (
    Coin,
    Coins,
    CoinValidation,
    NewCoin,
    ReconciliationReport,
    ReconciliationStarted,
    StatementEntry,
    StatementRequest,
    StatusChange,
    ValidCoin,
)
from wallet.models.base import Page
from wallet.models.limits import CoinLimits
from wallet.models.operations import Operation
from wallet.observability import logger, metrics

app = create_app()
CoinSerialPath = Annotated[str, Path(alias="coinSerial", max_length=64)]


@app.post("/coins", status_code=201, summary="Open an account for the caller's organisation")
def open_coin(new: NewCoin) -> Coin:
    return accounts.open_coin(caller(app), new)


@app.get("/coins", summary="The caller's organisation's accounts with their balances; staff name an organisation")
def list_coins(
    organization_id: Annotated[str | None, Query(alias="organizationId", max_length=64)] = None,
) -> Coins:
    return accounts.list_coins(caller(app), organization_id)


@app.post("/coins/<coinSerial>/freeze", summary="Freeze an account: it neither sends nor receives (staff)")
def freeze(coin_serial: CoinSerialPath, change: StatusChange = StatusChange()) -> Coin:
    coin = account_lifecycle.freeze(caller(app), coin_serial)
    logger.info("Froze an account", extra={"coinSerial": coin_serial, "reason": change.reason})
    return coin


@app.post("/coins/<coinSerial>/unfreeze", summary="Unfreeze an account (staff)")
def unfreeze(coin_serial: CoinSerialPath, change: StatusChange = StatusChange()) -> Coin:
    coin = account_lifecycle.unfreeze(caller(app), coin_serial)
    logger.info("Unfroze an account", extra={"coinSerial": coin_serial, "reason": change.reason})
    return coin


@app.post("/coins/<coinSerial>/close", summary="Close an account at zero balance, for good (owner or administrator)")
def close(coin_serial: CoinSerialPath, change: StatusChange = StatusChange()) -> Coin:
    coin = account_lifecycle.close(caller(app), coin_serial)
    logger.info("Closed an account", extra={"coinSerial": coin_serial, "reason": change.reason})
    return coin


@app.post("/coins/validate", summary="Confirm a payee's account: its currency and owner's name")
def validate_coin(request: CoinValidation) -> ValidCoin:
    return accounts.validate_coin(request.coin_serial)


@app.get("/coins/<coinSerial>/limits", summary="The limits on an account and what remains of them (UTC)")
def coin_limits(coin_serial: CoinSerialPath) -> CoinLimits:
    return limits.remaining(caller(app), coin_serial)


@app.post("/transactions/view", summary="An account's statement, newest first")
def statement(request: StatementRequest) -> Page[StatementEntry]:
    return accounts.statement(caller(app), request)


@app.get("/transactions/<businessProcessId>", summary="One operation: a party sees its legs, staff all of them")
def get_operation(business_process_id: Annotated[str, Path(alias="businessProcessId", max_length=128)]) -> Operation:
    return back_office.operation(caller(app), business_process_id)


@app.get(
    "/ledger/reconciliation",
    summary="The latest reconciliation report: the ledger's invariants per currency and issuer (administrator)",
    description="Answers the report the last run stored (the schedule's or one started by POST "
    "/ledger/reconciliation/run); 404 NOT_FOUND until a first run has ended.",
)
def latest_reconciliation() -> ReconciliationReport:
    return reconciliation_runs.latest(caller(app))


@app.post(
    "/ledger/reconciliation/run",
    status_code=202,
    summary="Start a reconciliation now (administrator); its report replaces the latest when it ends",
)
def run_reconciliation() -> ReconciliationStarted:
    return reconciliation_runs.start(caller(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
