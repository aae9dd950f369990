"""The ledger under injected failures: each AWS-shaped error at each call, then the client's retry."""

import contextlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from local.aws import EmbeddedAws
from tests.unit import dynamodb_harness
from tests.unit.ledger_world import LedgerWorld, build_world
from wallet import ledger, reconciliation
from wallet.ledger import Leg, Posting, SystemAccount


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _spend(world: LedgerWorld, serial: str, amount: Decimal, process_id: str) -> ledger.Posted:
    destination = world.issuer_account("EUR", SystemAccount.TRANSIT, process_id)
    legs = (Leg(ledger.customer_account(serial), -amount), Leg(destination, amount))
    return ledger.post(Posting(process_id, "SPEND", "EUR", legs))


FAILURES: dict[str, Callable[[str], Exception]] = {
    "throttled": dynamodb_harness.throttled,
    "cancelled": dynamodb_harness.cancelled,
    "timed out": dynamodb_harness.timed_out,
}


@pytest.mark.parametrize("after_it_ran", [False, True], ids=["before the call", "answer lost"])
@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("call_number", [0, 1])
def test_a_failed_call_then_the_clients_retry_moves_money_once(
    world: LedgerWorld, call_number: int, failure: str, after_it_ran: bool
) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    legs = (Leg(ledger.customer_account(alice), Decimal(-4)), Leg(ledger.customer_account(bob), Decimal(4)))
    posting = Posting("transfer-with-key-1", "TRANSFER", "EUR", legs)
    failing = dynamodb_harness.failing_call(call_number, FAILURES[failure], after_it_ran=after_it_ran)
    with failing as calls, contextlib.suppress(ClientError, BotoCoreError):  # the client saw an error ...
        ledger.post(posting)
    assert calls[: call_number + 1] == ["BatchGetItem", "TransactWriteItems"][: call_number + 1]  # it did fail there
    ledger.post(posting)  # ... and retries with the same idempotency key
    assert world.balance(alice) == (Decimal(6), 0)
    assert world.balance(bob) == (Decimal(4), 0)
    assert reconciliation.reconcile().clean


def test_a_retry_of_a_posting_that_emptied_the_account_is_a_replay_not_a_refusal(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    with dynamodb_harness.failing_call(1, dynamodb_harness.timed_out, after_it_ran=True), pytest.raises(BotoCoreError):
        _spend(world, alice, Decimal(10), "spend-all")
    assert _spend(world, alice, Decimal(10), "spend-all").replayed
    assert world.balance(alice) == (0, 0)
