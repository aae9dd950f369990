"""Set-up by the administrator: currencies, issuers, the bank catalog and commission rules."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import catalog, limits
from wallet.api import caller, create_app
from wallet.models.base import Page, PageSize
from wallet.models.catalog import (
    Bank,
    CommissionRule,
    Currency,
    Issuer,
    NewBank,
    NewCurrency,
    NewIssuer,
    StoredCommissionRule,
)
from wallet.models.limits import LimitRule, LimitRules
from wallet.models.roles import STAFF_ROLES, Role
from wallet.observability import logger, metrics

app = create_app()
PageSizeQuery = Annotated[PageSize, Query(alias="pageSize")]
PageTokenQuery = Annotated[str | None, Query(alias="pageToken", max_length=2048)]


@app.post("/currencies", status_code=201, summary="Create a currency")
def create_currency(new: NewCurrency) -> Currency:
    caller(app).require(Role.ADMINISTRATOR)
    return catalog.add_currency(new, caller(app))


@app.get("/currencies", summary="List currencies")
def list_currencies(page_size: PageSizeQuery = 20, page_token: PageTokenQuery = None) -> Page[Currency]:
    return catalog.listing(Currency, page_size, page_token)


@app.post("/issuers", status_code=201, summary="Create an issuer, with its emission, commission and transit accounts")
def create_issuer(new: NewIssuer) -> Issuer:
    caller(app).require(Role.ADMINISTRATOR)
    return catalog.add_issuer(new, caller(app))


@app.get("/issuers", summary="List issuers")
def list_issuers(page_size: PageSizeQuery = 20, page_token: PageTokenQuery = None) -> Page[Issuer]:
    return catalog.listing(Issuer, page_size, page_token)


@app.post("/bank-catalog", status_code=201, summary="Add a bank; its BIC and SWIFT codes are unique")
def create_bank(new: NewBank) -> Bank:
    caller(app).require(Role.ADMINISTRATOR)
    return catalog.add_bank(new, caller(app))


@app.get("/bank-catalog", summary="List banks")
def list_banks(page_size: PageSizeQuery = 20, page_token: PageTokenQuery = None) -> Page[Bank]:
    return catalog.listing(Bank, page_size, page_token)


@app.post("/commissions", status_code=201, summary="Set the commission rule of an operation type and issuer")
def set_commission(rule: CommissionRule) -> StoredCommissionRule:
    caller(app).require(Role.ADMINISTRATOR)
    return catalog.set_commission_rule(rule, caller(app))


@app.get("/commissions", summary="List commission rules")
def list_commissions(page_size: PageSizeQuery = 20, page_token: PageTokenQuery = None) -> Page[StoredCommissionRule]:
    return catalog.listing(StoredCommissionRule, page_size, page_token)


@app.post("/limits", status_code=201, summary="Set a limit rule for a role or an account (administrator)")
def set_limit(rule: LimitRule) -> LimitRule:
    caller(app).require(Role.ADMINISTRATOR)
    return limits.set_rule(rule, caller(app))


@app.get("/limits", summary="List limit rules (staff)")
def list_limits() -> LimitRules:
    caller(app).require(*STAFF_ROLES)
    return limits.list_rules()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
