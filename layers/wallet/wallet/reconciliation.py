"""The reconciliation check: the ledger's invariants, verified from what is stored."""

from collections import defaultdict
from decimal import Decimal

from wallet import ledger_store
from wallet.models.accounts import CurrencyTotal, Reconciliation, ReconciliationIssue


def reconcile() -> Reconciliation:
    """Per currency all balances sum to zero; every balance equals the sum of its journal entries;
    no customer balance is negative. Reads everything: an audit tool, not a request path."""
    journal: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in ledger_store.all_entries():
        journal[(entry["account"], entry["bucket"])] += Decimal(entry["amount"])
    totals: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    issues: list[ReconciliationIssue] = []
    seen: set[tuple[str, str]] = set()
    for item in ledger_store.all_accounts():
        state = ledger_store.account_state(item)
        totals[state.currency] += state.available + state.held
        counts[state.currency] += 1
        for bucket, balance in (("available", state.available), ("held", state.held)):
            seen.add((state.key, bucket))
            if balance != journal.get((state.key, bucket), Decimal(0)):
                issues.append(
                    ReconciliationIssue(
                        kind="BALANCE_DIFFERS_FROM_JOURNAL",
                        subject=f"{state.key} {bucket}",
                        detail=f"balance {balance}, journal {journal.get((state.key, bucket), Decimal(0))}",
                    )
                )
            if state.is_customer and balance < 0:
                issues.append(
                    ReconciliationIssue(kind="NEGATIVE_BALANCE", subject=f"{state.key} {bucket}", detail=str(balance))
                )
    for account, bucket in set(journal) - seen:
        issues.append(ReconciliationIssue(kind="ENTRIES_WITHOUT_ACCOUNT", subject=f"{account} {bucket}", detail=""))
    for currency, total in totals.items():
        if total != 0:
            issues.append(ReconciliationIssue(kind="CURRENCY_NOT_BALANCED", subject=currency, detail=f"sum {total}"))
    return Reconciliation(
        clean=not issues,
        currencies=[
            CurrencyTotal(currency=currency, total=total, accounts=counts[currency])
            for currency, total in sorted(totals.items())
        ],
        issues=issues,
    )
