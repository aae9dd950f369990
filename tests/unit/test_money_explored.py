"""A state machine that explores the money code the way a hostile world would use it.

Amounts are drawn from what the accounts hold (most operations succeed); idempotency keys are
replayed with the same and another body, and from another organisation; transfers are posted from
reads taken steps earlier; AWS-shaped failures are injected at any call, before and after it took
effect, then the client retries; transfers and decisions (accept, decline, expiry) race in
interleavings hypothesis chooses call by call. The model below is written without the code's
helpers. After every step: the ledger reconciles, every bucket and every issuer's system accounts
match the model, and each operation id moved money at most once (which reconciliation cannot see).

CI runs a bounded, derandomised exploration; `make soak` runs many more with a printed seed."""

import contextlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import start_embedded_aws
from tests.unit import dynamodb_harness
from tests.unit.dynamodb_harness import Interleaving
from tests.unit.ledger_world import STAFF, build_world
from wallet import approval, catalog, ledger_store, payments, reconciliation, requests_store, transfers
from wallet.config import settings as wallet_settings
from wallet.dynamo import every_item
from wallet.errors import Conflict
from wallet.idempotency import fingerprint
from wallet.ledger import InsufficientFunds, SystemAccount, WrongState
from wallet.models.catalog import CommissionRule, NewBank, OperationType
from wallet.models.requests import RequestKind, RequestStatus
from wallet.models.requests_api import BankTopUp

SOAK = os.environ.get("WALLET_SOAK_EXAMPLES")
OWNERS = {"a": "EUR", "b": "EUR", "c": "EUR", "d": "JPY", "e": "JPY"}
DIGITS = {"EUR": 2, "JPY": 0}
# (percent, fixed) per operation and currency; JPY charges nothing.
RULES = {(OperationType.TRANSFER, "EUR"): ("1", "0"), (OperationType.BANK_TOP_UP, "EUR"): ("0.5", "0.10")}
FAILURES: dict[str, Callable[[str], Exception]] = {
    "throttled": dynamodb_harness.throttled,
    "cancelled": dynamodb_harness.cancelled,
    "timed out": dynamodb_harness.timed_out,
}


def model_commission(operation: OperationType, currency: str, amount: Decimal) -> Decimal:
    """percent and fixed, rounded half-up in integer units of the currency: not the code's rounding."""
    if (operation, currency) not in RULES:
        return Decimal(0)
    percent, fixed = (Decimal(part) for part in RULES[(operation, currency)])
    scaled = (amount * percent / 100 + fixed) * 10 ** DIGITS[currency]
    return Decimal(int(scaled * 2 + 1) // 2) / 10 ** DIGITS[currency]


@dataclass
class Account:
    owner: str
    serial: str
    currency: str
    available: Decimal = Decimal(0)
    held: Decimal = Decimal(0)


@dataclass
class Keyed:
    """What a key already did for an organisation: its body and the operation it names."""

    body: tuple[Any, ...]
    result: str


@dataclass
class Model:
    accounts: dict[str, Account] = field(default_factory=dict)
    system: Counter[tuple[str, SystemAccount]] = field(default_factory=Counter)
    moved: set[str] = field(default_factory=set)  # operation ids that moved money
    keys: dict[tuple[str, str, str], Keyed] = field(default_factory=dict)  # (organisation, route, key)


class MoneyExplorer(RuleBasedStateMachine):
    def __init__(self, stats: Counter[str]) -> None:
        super().__init__()
        self.stats = stats
        self.aws = start_embedded_aws(SystemAccountShards="2")
        self.model = Model()
        self.prepared: list[tuple[transfers.PreparedTransfer, str, str, Decimal]] = []
        self.requests = 0
        self.fresh_keys = 0

    def teardown(self) -> None:
        self.aws.stop()

    @initialize()
    def open_and_fund_accounts(self) -> None:
        self.world = build_world()
        for (operation, currency), (percent, fixed) in RULES.items():
            issuer = self.world.issuers[currency].id
            rule = {"operationType": operation, "issuerId": issuer, "percent": percent, "fixed": fixed}
            catalog.set_commission_rule(CommissionRule.model_validate(rule), STAFF)
        bank = NewBank(name="B", bic="DEUTDEFF", swift="DEUTDEFFXXX", country="DE")
        self.bank = catalog.add_bank(bank, STAFF).bank_id
        for owner, currency in OWNERS.items():
            serial = self.world.open_account(owner, currency)
            funding = Decimal(100) if currency == "EUR" else Decimal(10_000)
            posted = self.world.credit(serial, str(funding), currency, process_id=f"funding-{owner}")
            self.model.accounts[owner] = Account(owner, serial, currency, available=funding)
            self.model.system[(currency, SystemAccount.EMISSION)] -= funding
            self.model.moved.add(posted.business_process_id)

    # --- drawing ---

    def _owner(self, data: st.DataObject, currency: str | None = None) -> str:
        owners = [owner for owner, account in self.model.accounts.items() if currency in (None, account.currency)]
        return data.draw(st.sampled_from(owners))

    def _amount(self, data: st.DataObject, currency: str, within: Decimal) -> Decimal:
        """Mostly an amount the balance covers (with room for a commission), sometimes more than it holds."""
        unit = Decimal(1).scaleb(-DIGITS[currency])
        room = int(within / Decimal("1.01") / unit)
        if room >= 1 and data.draw(st.integers(0, 9)) < 9:
            return data.draw(st.integers(1, room)) * unit
        return data.draw(st.integers(max(room, 0) + 1, max(room, 0) + 1000)) * unit

    def _key(self, data: st.DataObject, organisation: str, route: str) -> tuple[str | None, str]:
        """A key and how it relates to earlier ones: none, fresh, or one this or another organisation used."""
        used = [key for key in self.model.keys if key[1] == route]
        how = data.draw(st.sampled_from(["fresh", "none", "replay"] if used else ["fresh", "none"]))
        if how == "none":
            return None, how
        if how == "fresh":
            self.fresh_keys += 1
            return f"key-{self.fresh_keys}", how
        organisation_used, _, key = data.draw(st.sampled_from(used))
        return key, "replay" if organisation_used == organisation else "replay from another organisation"

    # --- the model's effects ---

    def _move(
        self,
        operation: str,
        changes: list[tuple[str, Decimal, Decimal]],
        system: list[tuple[str, SystemAccount, Decimal]],
    ) -> None:
        assert operation not in self.model.moved, f"{operation} moved money twice"
        self.model.moved.add(operation)
        for owner, available, held in changes:
            self.model.accounts[owner].available += available
            self.model.accounts[owner].held += held
        for currency, kind, amount in system:
            self.model.system[(currency, kind)] += amount

    def _count(self, kind: str, succeeded: bool) -> None:
        self.stats[f"{kind}: attempted"] += 1
        self.stats[f"{kind}: succeeded"] += succeeded

    # --- transfers ---

    def _transfer(
        self, owner: str, to: str, amount: Decimal, key: str | None, prepared: transfers.PreparedTransfer | None = None
    ) -> str:
        caller = self.world.customer(owner)
        source, destination = self.model.accounts[owner], self.model.accounts[to]
        prepared = prepared or transfers.prepare(caller, source.serial, destination.serial, amount)
        digest = fingerprint("transfer", source.serial, destination.serial, str(amount))
        return transfers.execute(caller, prepared, idempotency_key=key, fingerprint=digest).business_process_id

    def _expect_transfer(
        self, kind: str, owner: str, to: str, amount: Decimal, key: str | None, how: str, run: Callable[[], str]
    ) -> None:
        """Runs the transfer and checks its outcome against the model, then applies it there."""
        organisation = f"org-{owner}"
        body = (owner, to, amount)
        earlier = self.model.keys.get((organisation, "transfer", key)) if key else None
        currency = self.model.accounts[owner].currency
        commission = model_commission(OperationType.TRANSFER, currency, amount)
        covered = self.model.accounts[owner].available >= amount + commission
        self.stats[f"{kind} keys: {how}"] += 1
        try:
            result = run()
        except InsufficientFunds:
            assert earlier is None, "a replayed key was refused instead of answered"
            assert not covered, "a transfer the balance covers was refused"
            self._count(kind, False)
            return
        except Conflict:
            assert earlier is not None, "a key's first use was refused"
            assert earlier.body != body, "a key replayed with its own body was refused"
            self._count(kind, False)
            return
        self._count(kind, True)
        if earlier is not None:
            assert (earlier.body, earlier.result) == (body, result), "a replayed key answered something else"
            return
        assert covered, "a transfer the balance does not cover went through"
        self._move(
            result,
            [(owner, -(amount + commission), Decimal(0)), (to, amount, Decimal(0))],
            [(currency, SystemAccount.COMMISSION, commission)],
        )
        if key:
            self.model.keys[(organisation, "transfer", key)] = Keyed(body, result)

    def _peer(self, data: st.DataObject, owner: str) -> str:
        currency = self.model.accounts[owner].currency
        return data.draw(st.sampled_from([peer for peer in OWNERS if OWNERS[peer] == currency and peer != owner]))

    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        owner = self._owner(data)
        to = self._peer(data, owner)
        key, how = self._key(data, f"org-{owner}", "transfer")
        earlier = self.model.keys.get((f"org-{owner}", "transfer", key)) if key else None
        if earlier is not None and data.draw(st.booleans()):
            _, to, amount = earlier.body  # the same request again
        else:
            amount = self._amount(data, self.model.accounts[owner].currency, self.model.accounts[owner].available)
        self._expect_transfer("transfer", owner, to, amount, key, how, lambda: self._transfer(owner, to, amount, key))

    @rule(data=st.data())
    def read_for_a_transfer_posted_later(self, data: st.DataObject) -> None:
        owner = self._owner(data)
        to = self._peer(data, owner)
        amount = self._amount(data, self.model.accounts[owner].currency, self.model.accounts[owner].available)
        source, destination = self.model.accounts[owner].serial, self.model.accounts[to].serial
        self.prepared.append(
            (transfers.prepare(self.world.customer(owner), source, destination, amount), owner, to, amount)
        )

    @precondition(lambda self: self.prepared)
    @rule(data=st.data())
    def post_a_transfer_from_a_stale_read(self, data: st.DataObject) -> None:
        prepared, owner, to, amount = self.prepared.pop(data.draw(st.integers(0, len(self.prepared) - 1)))
        versions = {state.key: state.version for state in prepared.accounts.values()}
        current = ledger_store.read_accounts(list(versions))
        self.stats["stale reads posted"] += any(current[key].version != version for key, version in versions.items())
        self.fresh_keys += 1
        key = f"key-{self.fresh_keys}"
        run = lambda: self._transfer(owner, to, amount, key, prepared)  # noqa: E731
        self._expect_transfer("transfer from a stale read", owner, to, amount, key, "fresh", run)

    @rule(data=st.data(), call=st.integers(0, 3), failure=st.sampled_from(sorted(FAILURES)), after=st.booleans())
    def transfer_through_a_failure_then_retry(self, data: st.DataObject, call: int, failure: str, after: bool) -> None:
        owner = self._owner(data)
        to = self._peer(data, owner)
        amount = self._amount(data, self.model.accounts[owner].currency, self.model.accounts[owner].available)
        self.fresh_keys += 1
        key = f"key-{self.fresh_keys}"

        def with_a_failure_then_retried() -> str:
            result = None
            failing = dynamodb_harness.failing_call(call, FAILURES[failure], after_it_ran=after)
            with failing as calls, contextlib.suppress(ClientError, BotoCoreError):
                result = self._transfer(owner, to, amount, key)
            self.stats["injected failures"] += len(calls) > call
            return result or self._transfer(owner, to, amount, key)  # the client's retry: same key, same body

        self._expect_transfer(
            "transfer through a failure", owner, to, amount, key, "fresh", with_a_failure_then_retried
        )

    @rule(data=st.data())
    def transfers_race(self, data: st.DataObject) -> None:
        """Two or three transfers from one account, a key possibly sent twice, interleaved call by call."""
        owner = self._owner(data)
        account = self.model.accounts[owner]
        racers: dict[str, tuple[str, Decimal, str]] = {}
        for number in range(data.draw(st.integers(2, 3))):
            if racers and data.draw(st.booleans()):
                racers[f"racer-{number}"] = next(iter(racers.values()))  # the same request, the same key, again
                continue
            self.fresh_keys += 1
            to = self._peer(data, owner)
            racers[f"racer-{number}"] = (
                to,
                self._amount(data, account.currency, account.available),
                f"key-{self.fresh_keys}",
            )
        before = account.available
        race = Interleaving(lambda waiting: data.draw(st.sampled_from(waiting)))
        outcomes = race.run(
            {
                name: lambda to=to, amount=amount, key=key: self._transfer(owner, to, amount, key)
                for name, (to, amount, key) in racers.items()
            }
        )
        self.stats["interleavings"] += 1
        self.stats["interleaved calls"] += len(race.trace)
        spent, done = Decimal(0), {}
        for name, (to, amount, key) in racers.items():
            outcome = outcomes[name]
            total = amount + model_commission(OperationType.TRANSFER, account.currency, amount)
            self._count("racing transfer", outcome.error is None)
            if outcome.error is not None:
                assert isinstance(outcome.error, InsufficientFunds), outcome.error
                continue
            if key in done:
                assert done[key] == outcome.result, "the same key named two operations"
                continue
            done[key] = outcome.result
            spent += total
            self._move(
                outcome.result,
                [(owner, -total, Decimal(0)), (to, amount, Decimal(0))],
                [(account.currency, SystemAccount.COMMISSION, total - amount)],
            )
            self.model.keys[(f"org-{owner}", "transfer", key)] = Keyed((owner, to, amount), outcome.result)
        assert spent <= before, "the racers spent more than the account held"
        for name, (_, amount, key) in racers.items():
            if outcomes[name].error is not None and key not in done:
                total = amount + model_commission(OperationType.TRANSFER, account.currency, amount)
                assert total > account.available, "a racer was refused though the balance covered it"

    # --- top-ups by staff ---

    @rule(data=st.data())
    def staff_top_up(self, data: st.DataObject) -> None:
        key, how = self._key(data, STAFF.organization_id, "top-up")
        earlier = self.model.keys.get((STAFF.organization_id, "top-up", key)) if key else None
        if earlier is not None and data.draw(st.booleans()):
            owner, amount = earlier.body
        else:
            owner = self._owner(data)
            amount = data.draw(st.integers(1, 200).map(Decimal))
        account = self.model.accounts[owner]
        body = BankTopUp.model_validate({"coinSerial": account.serial, "amount": amount, "bankId": self.bank})
        self.stats[f"top-up keys: {how}"] += 1
        try:
            result = payments.top_up_at_once(STAFF, body, key).request_identifier
        except Conflict:
            assert earlier is not None, "a key's first use was refused"
            assert earlier.body != (owner, amount), "a key replayed with its own body was refused"
            self._count("staff top-up", False)
            return
        self._count("staff top-up", True)
        if earlier is not None:
            assert (earlier.body, earlier.result) == ((owner, amount), result), "a replayed key answered something else"
            return
        commission = model_commission(OperationType.BANK_TOP_UP, account.currency, amount)
        self._move(
            f"{result}:ACCEPTED",
            [(owner, amount - commission, Decimal(0))],
            [
                (account.currency, SystemAccount.EMISSION, -amount),
                (account.currency, SystemAccount.COMMISSION, commission),
            ],
        )
        if key:
            self.model.keys[(STAFF.organization_id, "top-up", key)] = Keyed((owner, amount), result)

    # --- decisions racing each other and the expiry ---

    @rule(
        data=st.data(),
        withdrawal=st.booleans(),
        deciders=st.lists(st.sampled_from(["accept", "decline", "expire"]), min_size=2, max_size=3),
    )
    def decisions_race(self, data: st.DataObject, withdrawal: bool, deciders: list[str]) -> None:
        owner = self._owner(data)
        account = self.model.accounts[owner]
        kind = RequestKind.WITHDRAWAL if withdrawal else RequestKind.TOP_UP
        if withdrawal and account.available < 1:
            return
        amount = data.draw(st.integers(1, int(account.available) if withdrawal else 500).map(Decimal))
        self.requests += 1
        request_id = f"request-{self.requests}"
        self.world.pending_request(request_id, kind, account.serial, str(amount))
        if withdrawal:
            self._move(f"{request_id}:HOLD", [(owner, -amount, amount)], [])

        def decide(action: str) -> RequestStatus:
            if action == "expire":
                return approval.expire(request_id)
            return payments.decide(STAFF, kind, request_id, action == "accept", None).status

        race = Interleaving(lambda waiting: data.draw(st.sampled_from(waiting)))
        outcomes = race.run(
            {f"{action}-{number}": lambda action=action: decide(action) for number, action in enumerate(deciders)}
        )
        self.stats["interleavings"] += 1
        self.stats["interleaved calls"] += len(race.trace)
        stored = requests_store.get(request_id)
        assert stored is not None
        final = stored[0].status
        assert [step.status for step in stored[0].history] == [RequestStatus.PENDING, final], "decided more than once"
        applied = False
        for name, outcome in outcomes.items():
            action = name.split("-")[0]
            self._count(f"{kind.value.lower()} {action}", outcome.error is None and outcome.result == _STATUS[action])
            if outcome.error is not None:
                assert isinstance(outcome.error, WrongState), outcome.error
                continue
            # a decision that lost may answer the final state (the expiry; or the same decision, replayed)
            assert outcome.result == final, f"{name} answered {outcome.result}, the request is {final}"
            applied |= _STATUS[action] == final
        assert applied, "the request ended in a state none of the deciders chose"
        operation = f"{request_id}:{final.value}"
        if kind == RequestKind.TOP_UP and final == RequestStatus.ACCEPTED:
            self._move(operation, [(owner, amount, Decimal(0))], [(account.currency, SystemAccount.EMISSION, -amount)])
        elif kind == RequestKind.WITHDRAWAL and final == RequestStatus.ACCEPTED:
            self._move(operation, [(owner, Decimal(0), -amount)], [(account.currency, SystemAccount.TRANSIT, amount)])
        elif kind == RequestKind.WITHDRAWAL:
            self._move(operation, [(owner, amount, -amount)], [])

    # --- after every step ---

    @precondition(lambda self: self.model.accounts)
    @invariant()
    def money_matches_the_model(self) -> None:
        self.stats["steps checked"] += 1
        report = reconciliation.reconcile()
        assert report.clean, report.issues
        for account in self.model.accounts.values():
            assert self.world.balance(account.serial) == (account.available, account.held), account.owner
        for currency in DIGITS:
            for kind in SystemAccount:
                assert self.world.system_balance(currency, kind) == self.model.system[(currency, kind)], (
                    currency,
                    kind,
                )

    @precondition(lambda self: self.model.accounts)
    @invariant()
    def each_operation_moved_money_at_most_once(self) -> None:
        journal = every_item("scan", TableName=wallet_settings().journal_table)
        records = {item["businessProcessId"]: item for item in journal if item["sk"] == "PROCESS"}
        entries = Counter(item["businessProcessId"] for item in journal if item["sk"].startswith("ENTRY#"))
        assert set(records) == self.model.moved
        assert entries == {process: len(record["legs"]) for process, record in records.items()}


_STATUS = {"accept": RequestStatus.ACCEPTED, "decline": RequestStatus.DECLINED, "expire": RequestStatus.EXPIRED}

EXPLORATION = settings(
    max_examples=int(SOAK or 8),
    stateful_step_count=40 if SOAK else 12,
    deadline=None,
    derandomize=not SOAK,  # CI explores the same runs each time; soak takes --hypothesis-seed
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.slow
def test_money_holds_whatever_the_explorer_does() -> None:
    stats: Counter[str] = Counter()
    run_state_machine_as_test(lambda: MoneyExplorer(stats), settings=EXPLORATION)
    print("\nexploration statistics:")  # shown by `make soak` (pytest -s)
    for name, count in sorted(stats.items()):
        print(f"  {name:<50} {count:>7}")
