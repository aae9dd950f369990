"""The reconciliation check: the ledger's invariants, verified from what is stored."""

from collections import defaultdict
from decimal import Decimal

from wallet import catalog_store, ledger_store
from wallet.models.accounts import CurrencyTotal, IssuerTotal, Reconciliation, ReconciliationIssue
from wallet.money import in_digits


def reconcile() -> Reconciliation:
    """Each issuer's books (its customers' and its own accounts, in its currency) sum to zero, and so
    does each currency; every balance equals the sum of its journal entries; no customer balance is
    negative. Reads everything: an audit tool, not a request path."""
    journal: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in ledger_store.all_entries():
        journal[(entry["account"], entry["bucket"])] += Decimal(entry["amount"])
    books: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # (issuer, currency) -> sum of balances
    counts: dict[tuple[str, str], int] = defaultdict(int)
    issues: list[ReconciliationIssue] = []
    seen: set[tuple[str, str]] = set()
    for item in ledger_store.all_accounts():
        state = ledger_store.account_state(item)
        book = (item.get("issuerId", ""), state.currency)
        books[book] += state.available + state.held
        counts[book] += 1
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
    totals: dict[str, Decimal] = defaultdict(Decimal)
    accounts: dict[str, int] = defaultdict(int)
    for (issuer, currency), total in books.items():
        totals[currency] += total
        accounts[currency] += counts[(issuer, currency)]
        if total != 0:
            issues.append(
                ReconciliationIssue(kind="ISSUER_NOT_BALANCED", subject=f"{issuer} {currency}", detail=f"sum {total}")
            )
    for currency, total in totals.items():
        if total != 0:
            issues.append(ReconciliationIssue(kind="CURRENCY_NOT_BALANCED", subject=currency, detail=f"sum {total}"))
    digits = catalog_store.fractional_digits_by_currency()
    return Reconciliation(
        clean=not issues,
        currencies=[
            CurrencyTotal(
                currency=currency, total=in_digits(total, digits.get(currency, 0)), accounts=accounts[currency]
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
