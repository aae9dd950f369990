"""The reconciliation: the ledger's invariants verified from what is stored, per currency and per issuer,
by a job (the schedule, or an administrator's request: wallet.reconciliation_runs) that stores its report for
the API to answer."""

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from wallet import catalog_store, clock, ledger_store, reconciliation_store
from wallet.config import settings
from wallet.dynamo import Item
from wallet.ledger_store import AccountState
from wallet.models.accounts import (
    CurrencyTotal,
    IssuerTotal,
    Reconciliation,
    ReconciliationIssue,
    ReconciliationReport,
    ReconciliationRun,
)
from wallet.money import in_digits

# A report is one DynamoDB item (400 KB at most): past this many, issues are counted but not listed.
MAX_REPORTED_ISSUES = 100

Book = tuple[str, str]  # (issuer, currency)
Bucket = tuple[str, str]  # (account, "available" | "held")


@dataclass
class _Entries:
    """One journal segment's entries summed by account and bucket."""

    sums: dict[Bucket, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    count: int = 0


@dataclass
class _Accounts:
    """One accounts segment: its books' sums, and what differed from the journal."""

    books: dict[Book, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    counts: dict[Book, int] = field(default_factory=lambda: defaultdict(int))
    issues: list[ReconciliationIssue] = field(default_factory=list)
    seen: set[Bucket] = field(default_factory=set)
    count: int = 0


def sum_entries(entries: Iterator[Item]) -> _Entries:
    folded = _Entries()
    for entry in entries:
        folded.sums[(entry["account"], entry["bucket"])] += Decimal(entry["amount"])
        folded.count += 1
    return folded


def check_accounts(
    journal: dict[Bucket, Decimal], digits: dict[str, int], accounts: Iterator[AccountState]
) -> _Accounts:
    folded = _Accounts()
    for state in accounts:
        places = digits.get(state.currency, 0)
        book = (state.item.get("issuerId", ""), state.currency)
        folded.books[book] += state.available + state.held
        folded.counts[book] += 1
        folded.count += 1
        for bucket, balance in (("available", state.available), ("held", state.held)):
            folded.seen.add((state.key, bucket))
            recorded = journal.get((state.key, bucket), Decimal(0))
            if balance != recorded:
                folded.issues.append(
                    ReconciliationIssue(
                        kind="BALANCE_DIFFERS_FROM_JOURNAL",
                        subject=f"{state.key} {bucket}",
                        detail=f"balance {in_digits(balance, places)}, journal {in_digits(recorded, places)}",
                    )
                )
            if state.is_customer and balance < 0:
                folded.issues.append(
                    ReconciliationIssue(
                        kind="NEGATIVE_BALANCE", subject=f"{state.key} {bucket}", detail=str(in_digits(balance, places))
                    )
                )
    return folded


def _reconcile(segments: int) -> tuple[Reconciliation, int]:
    """Each issuer's books (its customers' and its own accounts, in its currency) sum to zero, and so
    does each currency; every balance equals the sum of its journal entries; no customer balance is
    negative. Reads both tables by parallel scans (the journal first, then the accounts against it); answers
    the figures and how many items were read."""
    digits = catalog_store.fractional_digits_by_currency()
    journal: dict[Bucket, Decimal] = defaultdict(Decimal)
    entries = ledger_store.fold_entries(segments, sum_entries)
    for segment in entries:
        for key, amount in segment.sums.items():
            journal[key] += amount
    accounts = ledger_store.fold_accounts(segments, lambda states: check_accounts(journal, digits, states))
    books: dict[Book, Decimal] = defaultdict(Decimal)
    counts: dict[Book, int] = defaultdict(int)
    issues = [issue for checked in accounts for issue in checked.issues]
    seen: set[Bucket] = set()
    for checked in accounts:
        seen |= checked.seen
        for book, total in checked.books.items():
            books[book] += total
            counts[book] += checked.counts[book]
    for account, bucket_name in sorted(set(journal) - seen):
        issues.append(
            ReconciliationIssue(kind="ENTRIES_WITHOUT_ACCOUNT", subject=f"{account} {bucket_name}", detail="")
        )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    per_currency: dict[str, int] = defaultdict(int)
    for (issuer, currency), total in sorted(books.items()):
        totals[currency] += total
        per_currency[currency] += counts[(issuer, currency)]
        if total != 0:
            issues.append(
                ReconciliationIssue(
                    kind="ISSUER_NOT_BALANCED",
                    subject=f"{issuer} {currency}",
                    detail=f"sum {in_digits(total, digits.get(currency, 0))}",
                )
            )
    for currency, total in sorted(totals.items()):
        if total != 0:
            sum_in_digits = in_digits(total, digits.get(currency, 0))
            issues.append(
                ReconciliationIssue(kind="CURRENCY_NOT_BALANCED", subject=currency, detail=f"sum {sum_in_digits}")
            )
    report = Reconciliation(
        clean=not issues,
        currencies=[
            CurrencyTotal(
                currency=currency, total=in_digits(total, digits.get(currency, 0)), accounts=per_currency[currency]
            )
            for currency, total in sorted(totals.items())
        ],
        issuers=[
            IssuerTotal(
                issuer_id=issuer,
                currency=currency,
                total=in_digits(total, digits.get(currency, 0)),
                accounts=counts[(issuer, currency)],
            )
            for (issuer, currency), total in sorted(books.items())
        ],
        issues=issues,
    )
    return report, sum(segment.count for segment in entries) + sum(checked.count for checked in accounts)


def _confirmed(segments: int) -> tuple[Reconciliation, int]:
    """A scan is not a snapshot: a posting that commits while the tables are read can show as a difference
    for one pass. So a pass that finds any is followed by a second, and only what both show is reported (the
    second's figures); a difference that persists, as money made or lost does, is in both."""
    first, scanned = _reconcile(segments)
    if first.clean:
        return first, scanned
    second, rescanned = _reconcile(segments)
    in_first = {(issue.kind, issue.subject) for issue in first.issues}
    issues = [issue for issue in second.issues if (issue.kind, issue.subject) in in_first]
    return second.model_copy(update={"issues": issues, "clean": not issues}), scanned + rescanned


def reconcile(segments: int | None = None) -> Reconciliation:
    """The figures as stored now (nothing is written)."""
    return _reconcile(segments or settings().reconciliation_segments)[0]


def run(request: ReconciliationRun) -> ReconciliationReport:
    """One reconciliation, its report stored as the latest (unless a run started later already stored its own)."""
    segments = settings().reconciliation_segments
    started = clock.iso(clock.now())
    figures, scanned = _confirmed(segments)
    report = ReconciliationReport(
        **figures.model_dump(exclude={"issues"}),
        issues=figures.issues[:MAX_REPORTED_ISSUES],
        issue_count=len(figures.issues),
        report_id=str(uuid.uuid4()),
        trigger=request.trigger,
        requested_by=request.requested_by,
        started_at=started,
        finished_at=clock.iso(clock.now()),
        items_scanned=scanned,
        segments=segments,
    )
    reconciliation_store.put_latest(report)
    return report
