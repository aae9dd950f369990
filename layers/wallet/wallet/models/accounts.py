"""Accounts (coins), their statements, and the reconciliation report."""

from typing import Annotated

from pydantic import Field

from wallet.models.account_status import AccountStatus
from wallet.models.base import CamelModel, CoinSerial, Identifier, Instant, ListRequest
from wallet.models.enums import CaseInsensitiveEnum
from wallet.models.identity import OwnerRef
from wallet.money import Money


class StatusChange(CamelModel):
    reason: Annotated[str, Field(max_length=500)] | None = None


class NewCoin(CamelModel):
    issuer_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class IssuerRef(CamelModel):
    id: str
    name: str


class CurrencyRef(CamelModel):
    code: str
    fractional_digits: int


class Coin(CamelModel):
    coin_serial: str
    name: str
    issuer: IssuerRef
    currency: CurrencyRef
    available_balance: Money
    held_balance: Money
    status: AccountStatus
    created_at: str


class Coins(CamelModel):
    coins: list[Coin]


class CoinValidation(CamelModel):
    coin_serial: CoinSerial


class CurrencyCodeRef(CamelModel):
    code: str


class ValidCoin(CamelModel):
    valid: bool = True
    coin_serial: str
    currency: CurrencyCodeRef
    owner: OwnerRef


class StatementFilter(CamelModel):
    coin_serial: CoinSerial
    from_: Instant | None = Field(None, alias="from")
    to: Instant | None = None


class StatementRequest(ListRequest):
    filter: StatementFilter


class StatementEntry(CamelModel):
    business_process_id: str
    type: str
    amount: Money
    balance_after: Money
    bucket: str
    created_at: str
    description: str | None = None


class ReconciliationIssue(CamelModel):
    kind: str
    subject: str
    detail: str


class CurrencyTotal(CamelModel):
    currency: str
    total: Money
    accounts: int


class IssuerTotal(CamelModel):
    """One issuer's own books: its customers' accounts and its system accounts, which sum to zero."""

    issuer_id: str
    currency: str
    total: Money
    accounts: int


class Reconciliation(CamelModel):
    clean: bool
    currencies: list[CurrencyTotal]
    issuers: list[IssuerTotal]
    issues: list[ReconciliationIssue]


class ReconciliationTrigger(CaseInsensitiveEnum):
    SCHEDULE = "SCHEDULE"  # the stack's schedule (EventBridge Scheduler)
    REQUEST = "REQUEST"  # an administrator's POST /ledger/reconciliation/run


class ReconciliationRun(CamelModel):
    """What starts a run: the schedule's input, or the run route's invocation."""

    trigger: ReconciliationTrigger = ReconciliationTrigger.SCHEDULE
    requested_by: str | None = None


class ReconciliationReport(Reconciliation):
    """One run's report: the figures and, at most MAX_REPORTED_ISSUES of its issues (issueCount counts all)."""

    report_id: str
    trigger: ReconciliationTrigger
    requested_by: str | None = None
    started_at: str
    finished_at: str
    items_scanned: int
    segments: int
    issue_count: int


class ReconciliationStarted(CamelModel):
    status: str = "STARTED"
    requested_at: str
    report: str = "/ledger/reconciliation"  # where the report appears when the run ends
