"""The ledger under concurrency, injected failures and random sequences of postings."""

import contextlib
from collections.abc import Callable
from decimal import Decimal

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from local.aws import EmbeddedAws
from tests.conftest import start_embedded_aws
from tests.unit import dynamodb_harness
from tests.unit.ledger_world import LedgerWorld, build_world
from wallet import ledger, reconciliation
from wallet.ledger import Bucket, Leg, Posting, SystemAccount


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


AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
YEN = st.integers(min_value=1, max_value=50_000).map(Decimal)


class PostingSequences(RuleBasedStateMachine):
    """Random credits, debits, holds, releases, settlements and transfers in two currencies, failing
    ones included: after every step the ledger reconciles and matches a simple model of it."""

    def __init__(self) -> None:
        super().__init__()
        self.aws = start_embedded_aws(SystemAccountShards="2")
        self.model: dict[str, dict[Bucket, Decimal]] = {}
        self.currency_of: dict[str, str] = {}
        self.steps = 0

    def teardown(self) -> None:
        self.aws.stop()

    @initialize()
    def open_accounts(self) -> None:
        self.world = build_world()
        for owner, currency in (("a", "EUR"), ("b", "EUR"), ("c", "EUR"), ("d", "JPY"), ("e", "JPY")):
            serial = self.world.open_account(owner, currency)
            self.model[serial] = dict.fromkeys(Bucket, Decimal(0))
            self.currency_of[serial] = currency

    def _process(self) -> str:
        self.steps += 1
        return f"step-{self.steps}"

    def _post(self, legs: tuple[Leg, ...], currency: str) -> bool:
        """Posts and mirrors the effect in the model; a refusal must leave the model as it was."""
        after = {serial: dict(buckets) for serial, buckets in self.model.items()}
        for leg in legs:
            if leg.account.startswith("COIN#"):
                after[leg.account.removeprefix("COIN#")][leg.bucket] += leg.amount
        covered = all(value >= 0 for buckets in after.values() for value in buckets.values())
        try:
            ledger.post(Posting(self._process(), "PROPERTY", currency, legs))
        except ledger.InsufficientFunds:
            assert not covered
            return False
        assert covered
        self.model = after
        return True

    def _issuer(self, serial: str, kind: SystemAccount) -> Leg:
        return Leg(self.world.issuer_account(self.currency_of[serial], kind, f"step-{self.steps + 1}"), Decimal(0))

    def _amount(self, serial: str, data: st.DataObject) -> Decimal:
        return data.draw(YEN if self.currency_of[serial] == "JPY" else AMOUNTS)

    @rule(data=st.data())
    def credit(self, data: st.DataObject) -> None:
        serial = data.draw(st.sampled_from(list(self.model)))
        amount = self._amount(serial, data)
        emission = self._issuer(serial, SystemAccount.EMISSION).account
        self._post((Leg(emission, -amount), Leg(f"COIN#{serial}", amount)), self.currency_of[serial])

    @rule(data=st.data(), bucket=st.sampled_from(Bucket))
    def debit(self, data: st.DataObject, bucket: Bucket) -> None:
        serial = data.draw(st.sampled_from(list(self.model)))
        amount = self._amount(serial, data)
        transit = self._issuer(serial, SystemAccount.TRANSIT).account
        self._post((Leg(f"COIN#{serial}", -amount, bucket), Leg(transit, amount)), self.currency_of[serial])

    @rule(data=st.data(), hold=st.booleans())
    def hold_or_release(self, data: st.DataObject, hold: bool) -> None:
        serial = data.draw(st.sampled_from(list(self.model)))
        amount = self._amount(serial, data)
        source, target = (Bucket.AVAILABLE, Bucket.HELD) if hold else (Bucket.HELD, Bucket.AVAILABLE)
        account = f"COIN#{serial}"
        self._post((Leg(account, -amount, source), Leg(account, amount, target)), self.currency_of[serial])

    @rule(data=st.data())
    def transfer_with_commission(self, data: st.DataObject) -> None:
        source = data.draw(st.sampled_from(list(self.model)))
        peers = [serial for serial in self.model if self.currency_of[serial] == self.currency_of[source]]
        destination = data.draw(st.sampled_from([peer for peer in peers if peer != source]))
        amount, fee = self._amount(source, data), self._amount(source, data)
        commission = self._issuer(source, SystemAccount.COMMISSION).account
        legs = (Leg(f"COIN#{source}", -(amount + fee)), Leg(f"COIN#{destination}", amount), Leg(commission, fee))
        self._post(legs, self.currency_of[source])

    @precondition(lambda self: self.model)
    @invariant()
    def ledger_reconciles_and_matches_the_model(self) -> None:
        report = reconciliation.reconcile()
        assert report.clean, report.issues
        for serial, buckets in self.model.items():
            available, held = self.world.balance(serial)
            assert (available, held) == (buckets[Bucket.AVAILABLE], buckets[Bucket.HELD])


TestPostingSequences = PostingSequences.TestCase
TestPostingSequences.settings = settings(
    max_examples=15,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,  # the same sequences on every run: CI failures reproduce
    suppress_health_check=[HealthCheck.too_slow],
)
