"""A merchant in a sale: a burst of payments to one account, each DynamoDB call taking its turn as
DynamoDB would serve it (tests/unit/dynamodb_harness.py). None is refused, each moves once, and the
merchant's statement stays exact."""

from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from tests.unit.dynamodb_harness import Interleaving, seeded
from tests.unit.ledger_world import LedgerWorld, build_world
from wallet import ledger, ledger_store, reconciliation
from wallet.ledger import Leg, Posting

PAYMENTS = 64
PRICE = Decimal("2.50")


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _pay(payer: str, merchant: str, process_id: str) -> ledger.Posted:
    legs = (Leg(ledger.customer_account(payer), -PRICE), Leg(ledger.customer_account(merchant), PRICE))
    return ledger.post(Posting(process_id, "TRANSFER", "EUR", legs))


@pytest.mark.slow
def test_a_burst_of_64_payments_to_one_account_refuses_none_and_keeps_its_statement_exact(
    world: LedgerWorld,
) -> None:
    merchant = world.open_account("merchant")
    world.credit(merchant, "100.00")  # an opening balance the running balances start from
    payers = [world.open_account(f"payer-{number}") for number in range(PAYMENTS)]
    for payer in payers:
        world.credit(payer, "10.00")

    race = Interleaving(seeded(2026))
    outcomes = race.run(
        {
            f"pay-{number}": lambda payer=payer, number=number: _pay(payer, merchant, f"pay-{number}")
            for number, payer in enumerate(payers)
        }
    )

    refused = [name for name, outcome in outcomes.items() if outcome.error is not None]
    assert refused == []
    assert not any(outcome.value().replayed for outcome in outcomes.values())
    assert world.balance(merchant) == (Decimal("100.00") + PAYMENTS * PRICE, 0)
    assert {world.balance(payer) for payer in payers} == {(Decimal("7.50"), 0)}  # each paid exactly once
    assert reconciliation.reconcile().clean
    # Credits only raise the balance, so commit order is the order of balanceAfter: each one is the one
    # before it plus its own amount, from the opening balance to the final one.
    entries = [
        item
        for item in ledger_store.all_entries()
        if item["account"] == ledger.customer_account(merchant) and item["type"] == "TRANSFER"
    ]
    running = Decimal("100.00")
    for entry in sorted(entries, key=lambda item: Decimal(item["balanceAfter"])):
        running += Decimal(entry["amount"])
        assert Decimal(entry["balanceAfter"]) == running
    assert (len(entries), running) == (PAYMENTS, Decimal("100.00") + PAYMENTS * PRICE)
