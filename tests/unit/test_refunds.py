"""Refunds through the layer: racing refunds never exceed the original, and commission shares add up."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.aws import EmbeddedAws
from tests.unit.dynamodb_harness import Interleaving, seeded
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import catalog, reconciliation, refunds, transfers
from wallet.errors import Conflict
from wallet.ledger import SystemAccount
from wallet.models.catalog import CommissionRule, OperationType
from wallet.models.transfers import RefundRequest


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


@pytest.mark.parametrize("seed", range(2))
def test_ten_racing_refunds_of_ten_on_a_fifty_payment_exactly_five_succeed(world: LedgerWorld, seed: int) -> None:
    rule = CommissionRule(
        operation_type=OperationType.TRANSFER, issuer_id=world.issuers["EUR"].id, percent=Decimal(1), fixed=Decimal(0)
    )
    catalog.set_commission_rule(rule, STAFF)
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "50.50")
    payer = world.customer("alice")
    paid = transfers.execute(
        payer, transfers.prepare(payer, alice, bob, Decimal(50)), idempotency_key=None, fingerprint=""
    )

    def refund(number: int) -> str:
        while True:
            try:
                request = RefundRequest(amount=Decimal(10))
                refunds.refund(
                    world.customer("bob"),
                    paid.business_process_id,
                    request,
                    idempotency_key=f"r{number}",
                    fingerprint="",
                )
                return "refunded"
            except refunds.RefundExceedsOriginal:
                return "refused"
            except Conflict:
                continue  # the client's retry with the same key: safe to repeat

    race = Interleaving(seeded(seed))
    outcomes = race.run({f"refund-{number}": lambda number=number: refund(number) for number in range(10)})
    assert sorted(outcome.value() for outcome in outcomes.values()) == ["refunded"] * 5 + ["refused"] * 5
    assert world.balance(alice) == (Decimal("50.50"), 0)  # the 0.50 commission came back in five shares
    assert world.balance(bob) == (0, 0)
    assert world.system_balance("EUR", SystemAccount.COMMISSION) == 0
    assert reconciliation.reconcile().clean


# No deadline: the property is about sums, and a loaded machine is no counterexample.
@settings(deadline=None)
@given(
    original=st.integers(1, 10**6),
    commission=st.integers(0, 10**4),
    cuts=st.lists(st.integers(1, 10**6), max_size=6),
)
def test_commission_shares_of_refunds_adding_up_to_the_original_add_up_to_the_commission(
    original: int, commission: int, cuts: list[int]
) -> None:
    paid, charged = Decimal(original) / 100, Decimal(commission) / 100
    points = sorted({min(cut, original) for cut in cuts} | {original})
    shares, before = [], Decimal(0)
    for point in points:
        after = refunds.commission_share(charged, paid, Decimal(point) / 100, 2)
        shares.append(after - before)
        before = after
    assert sum(shares) == charged
    assert all(share >= 0 for share in shares)
