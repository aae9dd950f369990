"""Per-issuer books: a transfer between two issuers of one currency settles through both transit accounts."""

from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import accounts, catalog, ledger, reconciliation, refunds, transfers
from wallet.ledger import SystemAccount
from wallet.models.accounts import NewCoin
from wallet.models.catalog import CommissionRule, NewIssuer, OperationType
from wallet.models.transfers import RefundRequest


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _transit(issuer_id: str) -> Decimal:
    return sum(ledger.balance_of(ledger.system_shards(issuer_id, SystemAccount.TRANSIT)), Decimal(0))


def test_each_issuers_books_sum_to_zero_across_a_transfer_and_its_refund(world: LedgerWorld) -> None:
    first = world.issuers["EUR"]
    second = catalog.add_issuer(NewIssuer(currency_code="EUR", name="Second EUR issuer"), STAFF)
    catalog.set_commission_rule(
        CommissionRule(operation_type=OperationType.TRANSFER, issuer_id=first.id, percent=Decimal(2), fixed=Decimal(0)),
        STAFF,
    )
    alice = world.open_account("alice")
    world.credit(alice, "100.00")
    carol = accounts.open_coin(world.customer("carol"), NewCoin(issuer_id=second.id)).coin_serial
    payer = world.customer("alice")
    paid = transfers.execute(
        payer, transfers.prepare(payer, alice, carol, Decimal(50)), idempotency_key=None, fingerprint=""
    )
    assert (_transit(first.id), _transit(second.id)) == (Decimal(50), Decimal(-50))
    report = reconciliation.reconcile()
    assert report.clean, report.issues
    books = {(book.issuer_id, book.currency): book.total for book in report.issuers}
    assert (books[(first.id, "EUR")], books[(second.id, "EUR")]) == (0, 0)

    refunds.refund(
        world.customer("carol"),
        paid.business_process_id,
        RefundRequest(amount=Decimal(20)),
        idempotency_key=None,
        fingerprint="",
    )
    assert (_transit(first.id), _transit(second.id)) == (Decimal(30), Decimal(-30))
    assert world.balance(alice) == (Decimal("69.40"), 0)  # 100 - 51.00 + 20.40 (with the commission's share)
    assert reconciliation.reconcile().clean


def test_reconciliation_names_an_issuer_whose_books_do_not_sum_to_zero(world: LedgerWorld) -> None:
    """Money moved between two issuers' accounts with no transit legs: each currency still sums to zero."""
    second = catalog.add_issuer(NewIssuer(currency_code="EUR", name="Second EUR issuer"), STAFF)
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    carol = accounts.open_coin(world.customer("carol"), NewCoin(issuer_id=second.id)).coin_serial
    legs = (
        ledger.Leg(ledger.customer_account(alice), Decimal(-4)),
        ledger.Leg(ledger.customer_account(carol), Decimal(4)),
    )
    ledger.post(ledger.Posting("unsettled", "TEST", "EUR", legs))
    report = reconciliation.reconcile()
    assert sorted((issue.kind, issue.subject) for issue in report.issues) == sorted(
        [("ISSUER_NOT_BALANCED", f"{world.issuers['EUR'].id} EUR"), ("ISSUER_NOT_BALANCED", f"{second.id} EUR")]
    )
