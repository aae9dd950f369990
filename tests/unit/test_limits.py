"""Limits through the layer: counters in the posting's transaction hold under racing transfers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from tests.unit.dynamodb_harness import Interleaving, seeded
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import limits, reconciliation, transfers
from wallet.errors import Conflict
from wallet.models.catalog import OperationType
from wallet.models.limits import LimitRule, WindowLimit
from wallet.models.roles import Role


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


@pytest.mark.parametrize("seed", range(2))
def test_ten_racing_transfers_of_twenty_under_a_daily_hundred_exactly_five_succeed(
    world: LedgerWorld, seed: int
) -> None:
    limits.set_rule(
        LimitRule(
            operation_type=OperationType.TRANSFER,
            currency_code="EUR",
            role=Role.INDIVIDUAL,
            daily=WindowLimit(amount=Decimal(100)),
        ),
        STAFF,
    )
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "1000.00")
    payer = world.customer("alice")

    def transfer(number: int) -> str:
        while True:
            try:
                prepared = transfers.prepare(payer, alice, bob, Decimal(20))
                transfers.execute(payer, prepared, idempotency_key=f"t{number}", fingerprint="")
                return "sent"
            except limits.LimitExceeded as refused:
                return f"refused by {refused.details[0]['field']}"
            except Conflict:
                continue  # the client's retry with the same key: safe to repeat

    race = Interleaving(seeded(seed))
    outcomes = race.run({f"transfer-{number}": lambda number=number: transfer(number) for number in range(10)})
    assert sorted(outcome.value() for outcome in outcomes.values()) == ["refused by daily.amount"] * 5 + ["sent"] * 5
    assert world.balance(bob) == (Decimal(100), 0)
    assert reconciliation.reconcile().clean


def test_windows_are_utc_days_and_months() -> None:
    rule = LimitRule(
        operation_type=OperationType.TRANSFER,
        currency_code="EUR",
        coin_serial="c1",
        daily=WindowLimit(count=3),
        monthly=WindowLimit(amount=Decimal(500)),
    )
    at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    used = limits.uses(rule, "c1", Decimal(10), at)
    assert [(use.name, use.key["sk"], use.delta) for use in used] == [
        ("daily.count", "DAY#2026-12-31#COUNT", 1),
        ("monthly.amount", "MONTH#2026-12#AMOUNT", 10),
    ]
    assert [use.expires_at for use in used] == [datetime(2027, 1, 2, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)]
    with pytest.raises(limits.LimitExceeded):
        limits.uses(rule, "c1", Decimal(501), at)  # over the month on its own: refused before any write
