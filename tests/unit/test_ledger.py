"""The ledger's guarantees, in the layer: balanced legs, one write, exactly once, funds and versions."""

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.aws import EmbeddedAws
from tests.unit.dynamodb_harness import Interleaving, scripted
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import account_lifecycle, accounts, aws, catalog, clock, ledger, ledger_store, limits_store, reconciliation
from wallet.config import settings
from wallet.errors import BusinessRuleViolation
from wallet.ledger import Bucket, Leg, Posting, Refusable, SystemAccount
from wallet.models.account_status import AccountStatus
from wallet.models.catalog import NewCurrency, NewIssuer
from wallet.models.events import EventType


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _transfer(world: LedgerWorld, source: str, destination: str, amount: str, process_id: str) -> ledger.Posted:
    value = Decimal(amount)
    legs = (Leg(ledger.customer_account(source), -value), Leg(ledger.customer_account(destination), value))
    return ledger.post(Posting(process_id, "TRANSFER", "EUR", legs))


def test_a_credit_moves_money_from_emission_and_balances_to_zero(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "100.00")
    assert world.balance(alice) == (Decimal("100.00"), 0)
    assert world.system_balance("EUR", SystemAccount.EMISSION) == Decimal("-100.00")
    assert reconciliation.reconcile().clean


def test_unbalanced_legs_are_refused_before_anything_is_written(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    with pytest.raises(ValueError, match="sum to zero"):
        ledger.post(Posting("p-1", "BROKEN", "EUR", (Leg(ledger.customer_account(alice), Decimal(5)),)))
    assert ledger_store.get_process("p-1") is None


@pytest.mark.parametrize("amounts", [(), (Decimal(0), Decimal(0)), (Decimal(5), Decimal(0), Decimal(-5))])
def test_an_operation_needs_legs_and_none_of_them_zero(world: LedgerWorld, amounts: tuple[Decimal, ...]) -> None:
    alice = world.open_account("alice")
    legs = tuple(Leg(ledger.customer_account(alice), amount) for amount in amounts)
    with pytest.raises(ValueError, match=r"^an operation needs legs with non-zero amounts$"):
        ledger.post(Posting("p-1", "BROKEN", "EUR", legs))
    assert ledger_store.get_process("p-1") is None


def test_an_account_that_does_not_exist_takes_no_part(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    with pytest.raises(ledger.NotFound, match=r"^No such account$") as refused:
        _transfer(world, alice, "no-such-coin", "1.00", "t-1")
    assert refused.value.details == [{"field": "coinSerial", "issue": "not found"}]
    assert world.balance(alice) == (Decimal("10.00"), 0)


def test_spending_more_than_the_balance_is_refused(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    with pytest.raises(ledger.InsufficientFunds, match=r"^The account's balance does not cover this operation$"):
        _transfer(world, alice, bob, "10.01", "t-1")
    assert world.balance(alice) == (Decimal("10.00"), 0)
    assert ledger_store.get_process("t-1") is None


def test_the_same_business_process_posts_once(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    first = _transfer(world, alice, bob, "4.00", "t-1")
    again = _transfer(world, alice, bob, "4.00", "t-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert (first.business_process_id, again.business_process_id, again.created_at) == ("t-1", "t-1", first.created_at)
    assert world.balance(bob) == (Decimal("4.00"), 0)
    assert reconciliation.reconcile().clean


def test_a_retry_of_an_operation_that_spent_the_whole_balance_is_answered_as_its_replay(world: LedgerWorld) -> None:
    """The retry finds no money left, because this very operation took it: a replay, not a refusal."""
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    first = _transfer(world, alice, bob, "10.00", "t-1")
    again = _transfer(world, alice, bob, "10.00", "t-1")
    assert (again.replayed, again.business_process_id, again.created_at) == (True, "t-1", first.created_at)
    with pytest.raises(ledger.InsufficientFunds):  # another operation finds it empty
        _transfer(world, alice, bob, "10.00", "t-2")
    assert (world.balance(alice), world.balance(bob)) == ((0, 0), (Decimal("10.00"), 0))


def test_the_operation_record_keeps_its_currency_and_every_leg(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    posted = _transfer(world, alice, bob, "4.00", "t-1")
    stored = ledger_store.get_process("t-1")
    assert stored is not None
    payer, payee = ledger.customer_account(alice), ledger.customer_account(bob)
    assert (stored["currency"], stored["type"], stored["createdAt"]) == ("EUR", "TRANSFER", posted.created_at)
    assert stored["legs"] == [
        {"account": payer, "bucket": "available", "amount": Decimal(-4)},
        {"account": payee, "bucket": "available", "amount": Decimal(4)},
    ]
    assert (posted.record["currency"], posted.record["legs"]) == (stored["currency"], stored["legs"])


def test_a_posting_given_the_accounts_just_read_writes_without_reading_them_again(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    payer, payee = ledger.customer_account(alice), ledger.customer_account(bob)
    legs = (Leg(payer, Decimal(-4)), Leg(payee, Decimal(4)))
    fresh = ledger_store.read_accounts([payer, payee])
    given = Interleaving(scripted())
    given.run({"given": lambda: ledger.post(Posting("t-1", "TRANSFER", "EUR", legs), accounts=fresh)})
    assert given.trace == [("given", "TransactWriteItems")]
    unread = Interleaving(scripted())
    unread.run({"unread": lambda: ledger.post(Posting("t-2", "TRANSFER", "EUR", legs))})
    assert unread.trace == [("unread", "BatchGetItem"), ("unread", "TransactWriteItems")]
    assert (world.balance(alice), world.balance(bob)) == ((Decimal("2.00"), 0), (Decimal("8.00"), 0))


def test_holds_release_and_settle(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "50.00")
    account = ledger.customer_account(alice)
    hold = (Leg(account, Decimal(-30), Bucket.AVAILABLE), Leg(account, Decimal(30), Bucket.HELD))
    ledger.post(Posting("h-1", "HOLD", "EUR", hold))
    assert world.balance(alice) == (Decimal(20), Decimal(30))
    release = (Leg(account, Decimal(-10), Bucket.HELD), Leg(account, Decimal(10), Bucket.AVAILABLE))
    ledger.post(Posting("r-1", "RELEASE", "EUR", release))
    transit = world.issuer_account("EUR", SystemAccount.TRANSIT, "s-1")
    ledger.post(Posting("s-1", "SETTLE", "EUR", (Leg(account, Decimal(-20), Bucket.HELD), Leg(transit, Decimal(20)))))
    assert world.balance(alice) == (Decimal(30), 0)
    assert world.system_balance("EUR", SystemAccount.TRANSIT) == Decimal(20)
    with pytest.raises(ledger.InsufficientFunds):
        ledger.post(Posting("s-2", "SETTLE", "EUR", (Leg(account, Decimal(-1), Bucket.HELD), Leg(transit, Decimal(1)))))
    assert reconciliation.reconcile().clean


def test_statement_entries_carry_the_balance_after_each_leg(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    _transfer(world, alice, bob, "3.50", "t-1")
    entries, _ = ledger_store.statement_page(
        ledger.customer_account(alice), since=None, until=None, page_size=10, page_token=None
    )
    assert [(entry["type"], entry["amount"], entry["balanceAfter"]) for entry in entries] == [
        ("TRANSFER", Decimal("-3.50"), Decimal("6.50")),
        ("TEST_CREDIT", Decimal("10.00"), Decimal("10.00")),
    ]


def test_an_account_in_another_currency_cannot_take_part(world: LedgerWorld) -> None:
    euros, yen = world.open_account("alice"), world.open_account("alice", "JPY")
    world.credit(euros, "10.00")
    with pytest.raises(ledger.BusinessRuleViolation, match=r"^The account is not in EUR$") as refused:
        _transfer(world, euros, yen, "1.00", "t-1")
    assert refused.value.code == "CURRENCY_MISMATCH"


def test_a_version_moved_since_the_read_makes_the_posting_read_again(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    stale = ledger_store.read_accounts([ledger.customer_account(alice)])
    world.credit(alice, "5.00")  # someone else writes after our read
    legs = (Leg(ledger.customer_account(alice), Decimal(-12)), Leg(ledger.customer_account(bob), Decimal(12)))
    ledger.post(Posting("t-1", "TRANSFER", "EUR", legs), accounts=stale)
    assert world.balance(alice) == (Decimal("3.00"), 0)
    assert reconciliation.reconcile().clean


def test_system_accounts_are_sharded_across_items(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    for number in range(40):
        world.credit(alice, "1.00", process_id=f"c-{number}")
    touched = {
        key
        for key in ledger.system_shards(world.issuers["EUR"].id, SystemAccount.EMISSION)
        if ledger.balance_of([key])[0] != 0
    }
    assert len(touched) == 4  # every shard of the test world's four
    assert world.system_balance("EUR", SystemAccount.EMISSION) == Decimal(-40)


@pytest.mark.parametrize("world_parameters", [{"SystemAccountShards": "9"}])  # 27 accounts: two batches of 25
def test_an_issuers_accounts_are_all_written_even_when_a_batch_comes_back_unprocessed(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = aws.dynamodb()
    write, batches = client.batch_write_item, []

    def throttled_once(RequestItems: dict[str, list[Any]]) -> Any:
        batches.append(sum(len(requests) for requests in RequestItems.values()))
        if len(batches) > 1:
            return write(RequestItems=RequestItems)
        ((table, requests),) = RequestItems.items()
        write(RequestItems={table: requests[:-1]})
        return {"UnprocessedItems": {table: requests[-1:]}}  # as DynamoDB answers when throttled

    monkeypatch.setattr(client, "batch_write_item", throttled_once)
    catalog.add_currency(NewCurrency(code="GBP", name="GBP", fractional_digits=2), STAFF)
    issuer = catalog.add_issuer(NewIssuer(currency_code="GBP", name="Issuer GBP"), STAFF)
    keys = [key for kind in SystemAccount for key in ledger.system_shards(issuer.id, kind)]
    assert (len(keys), batches) == (27, [25, 1, 2])
    assert sorted(ledger_store.read_accounts(keys)) == sorted(keys)


def test_reconciliation_finds_a_balance_written_behind_the_ledgers_back(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    account = ledger.customer_account(alice)
    state = ledger_store.read_accounts([account])[account]
    ledger_store.write_operation([ledger_store.customer_balance_update(state, Decimal(11), Decimal(0))])
    report = reconciliation.reconcile()
    assert not report.clean
    assert {issue.kind for issue in report.issues} == {
        "BALANCE_DIFFERS_FROM_JOURNAL",
        "ISSUER_NOT_BALANCED",
        "CURRENCY_NOT_BALANCED",
    }


def test_reconciliation_reports_a_customer_balance_below_zero_and_never_a_system_accounts(world: LedgerWorld) -> None:
    """Emission accounts are negative by design; a customer's balance below zero is money made."""
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    account = ledger.customer_account(alice)
    state = ledger_store.read_accounts([account])[account]
    ledger_store.write_operation([ledger_store.customer_balance_update(state, Decimal(-1), Decimal(0))])
    negative = [issue for issue in reconciliation.reconcile().issues if issue.kind == "NEGATIVE_BALANCE"]
    assert [(issue.subject, issue.detail) for issue in negative] == [(f"{account} available", "-1.00")]


def test_a_statement_reads_a_window_of_time_page_by_page(world: LedgerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = world.open_account("alice")
    for day in (1, 2, 3):
        monkeypatch.setattr(clock, "now", lambda day=day: datetime.fromisoformat(f"2026-03-0{day}T12:00:00+00:00"))
        world.credit(alice, f"{day}.00")
    account = ledger.customer_account(alice)

    def amounts(since: str | None, until: str | None, page_size: int = 10) -> list[list[Decimal]]:
        pages, token = [], None
        for _ in range(3):  # a page token that leads nowhere new must not loop for ever
            entries, token = ledger_store.statement_page(
                account, since=since, until=until, page_size=page_size, page_token=token
            )
            pages.append([entry["amount"] for entry in entries])
            if token is None:
                break
        return pages

    assert amounts(None, None) == [[3, 2, 1]]  # newest first
    assert amounts("2026-03-02", None) == [[3, 2]]
    assert amounts(None, "2026-03-02T23:59") == [[2, 1]]
    assert amounts("2026-03-02", "2026-03-02T23:59") == [[2]]
    assert amounts(None, None, page_size=2) in ([[3, 2], [1]], [[3, 2], [1], []])


def test_an_organisations_accounts_are_its_own(world: LedgerWorld) -> None:
    euros, yen, bobs = world.open_account("alice"), world.open_account("alice", "JPY"), world.open_account("bob")
    listed = accounts.list_coins(world.customer("alice")).coins
    assert sorted(coin.coin_serial for coin in listed) == sorted([euros, yen])
    assert [coin.coin_serial for coin in accounts.list_coins(world.customer("bob")).coins] == [bobs]


def test_a_posting_read_before_a_freeze_is_refused_and_goes_through_after_the_unfreeze(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    key = ledger.customer_account(alice)
    before_freeze = ledger_store.read_accounts([key, ledger.customer_account(bob)])
    account_lifecycle.freeze(STAFF, alice)
    legs = (Leg(key, Decimal(-4)), Leg(ledger.customer_account(bob), Decimal(4)))
    with pytest.raises(ledger.AccountFrozen):  # the read said ACTIVE; the write finds the version moved
        ledger.post(Posting("t-1", "TRANSFER", "EUR", legs), accounts=before_freeze)
    assert ledger_store.get_account_item(key)["status"] == "FROZEN"  # type: ignore[index]
    assert world.balance(alice) == (Decimal("10.00"), 0)
    account_lifecycle.unfreeze(STAFF, alice)
    ledger.post(Posting("t-1", "TRANSFER", "EUR", legs), accounts=before_freeze)  # read again: active
    assert (world.balance(alice), world.balance(bob)) == ((Decimal("6.00"), 0), (Decimal("4.00"), 0))
    assert reconciliation.reconcile().clean


def test_a_freeze_moves_the_version_to_what_its_event_announces_so_no_older_read_passes(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    key = ledger.customer_account(alice)
    oldest = ledger_store.read_accounts([key, ledger.customer_account(bob)])
    _transfer(world, alice, bob, "4.00", "t-1")
    account_lifecycle.freeze(STAFF, alice)
    legs = (Leg(key, Decimal(-5)), Leg(ledger.customer_account(bob), Decimal(5)))
    with pytest.raises(ledger.AccountFrozen):  # its version was two writes ago: read again, frozen
        ledger.post(Posting("t-2", "TRANSFER", "EUR", legs), accounts=oldest)
    assert world.balance(alice) == (Decimal("6.00"), 0)
    outbox = aws.dynamodb().scan(TableName=settings().outbox_table)["Items"]
    frozen = [
        item for item in outbox if item["pk"].startswith("EVENT#") and item["type"] == EventType.COIN_FROZEN.value
    ]
    assert [int(event["sequences"][alice]) for event in frozen] == [ledger_store.read_accounts([key])[key].version]


def test_a_closed_or_frozen_account_takes_no_part_but_a_frozen_one_may_release_a_hold(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    account_lifecycle.close(world.customer("bob"), bob)
    with pytest.raises(ledger.AccountInactive, match=r"^The account is closed$") as refused:
        world.credit(bob, "1.00")
    assert (refused.value.code, refused.value.details) == (
        "ACCOUNT_INACTIVE",
        [{"field": "coinSerial", "issue": "closed"}],
    )
    world.credit(alice, "10.00")
    key = ledger.customer_account(alice)
    ledger.post(Posting("h-1", "HOLD", "EUR", (Leg(key, Decimal(-4)), Leg(key, Decimal(4), Bucket.HELD))))
    account_lifecycle.freeze(STAFF, alice)
    with pytest.raises(ledger.AccountFrozen, match=r"^The account is frozen$") as refused:
        world.credit(alice, "1.00")
    assert (refused.value.code, refused.value.details) == (
        "ACCOUNT_FROZEN",
        [{"field": "coinSerial", "issue": "frozen"}],
    )
    release = (Leg(key, Decimal(-4), Bucket.HELD), Leg(key, Decimal(4)))
    open_to = (AccountStatus.ACTIVE, AccountStatus.FROZEN)
    ledger.post(Posting("r-1", "RELEASE", "EUR", release, open_to=open_to))
    assert world.balance(alice) == (Decimal("10.00"), 0)


def test_an_operation_fits_one_transaction_of_at_most_100_writes(world: LedgerWorld) -> None:
    alice, bob, carol = (ledger.customer_account(world.open_account(name)) for name in ("alice", "bob", "carol"))
    world.credit(alice.removeprefix(ledger.CUSTOMER_PREFIX), "100.00")

    def legs(rounds: int) -> tuple[Leg, ...]:  # one record, three balances and a journal entry per leg
        return tuple(
            leg
            for _ in range(rounds)
            for leg in (Leg(alice, Decimal(-2)), Leg(bob, Decimal(1)), Leg(carol, Decimal(1)))
        )

    with pytest.raises(ValueError, match=r"^TRANSFER needs 103 writes; one transaction takes 100$"):
        ledger.post(Posting("t-1", "TRANSFER", "EUR", legs(33)))
    ledger.post(Posting("t-1", "TRANSFER", "EUR", legs(32)))  # exactly 100
    assert ledger.balance_of([alice, bob, carol]) == (Decimal("100.00"), 0)
    assert ledger.balance_of([bob]) == (Decimal(32), 0)


def test_the_journal_holds_one_entry_per_leg(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00", process_id="c-1")
    _transfer(world, alice, bob, "4.00", "t-1")
    entries = sorted(
        (entry["businessProcessId"], entry["leg"], entry["amount"], entry["currency"], entry["type"])
        for entry in ledger_store.all_entries()
    )
    assert entries == [
        ("c-1", 0, -10, "EUR", "TEST_CREDIT"),
        ("c-1", 1, 10, "EUR", "TEST_CREDIT"),
        ("t-1", 0, -4, "EUR", "TRANSFER"),
        ("t-1", 1, 4, "EUR", "TRANSFER"),
    ]


@pytest.mark.parametrize("payers_second_leg", [2, 1])  # interleaved with the payee's legs, or next to the first
def test_each_leg_on_one_bucket_carries_the_balance_after_it(world: LedgerWorld, payers_second_leg: int) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    payer, payee = ledger.customer_account(alice), ledger.customer_account(bob)
    legs = [Leg(payer, Decimal(-3)), Leg(payee, Decimal(3)), Leg(payee, Decimal(1))]
    legs.insert(payers_second_leg, Leg(payer, Decimal(-1)))
    ledger.post(Posting("t-1", "TRANSFER", "EUR", tuple(legs), details={"description": "rent"}))
    entries, _ = ledger_store.statement_page(payer, since=None, until=None, page_size=10, page_token=None)
    assert sorted((entry["leg"], entry["balanceAfter"], entry.get("description")) for entry in entries) == sorted(
        [(0, Decimal(7), "rent"), (1, Decimal(10), None), (payers_second_leg, Decimal(6), "rent")]  # 1, 10: the credit
    )
    assert world.balance(alice) == (Decimal(6), 0)


def _cancelled(*reasons: str) -> ClientError:
    error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
    return ClientError(
        {"Error": error, "CancellationReasons": [{"Code": code} for code in reasons]}, "TransactWriteItems"
    )


def test_a_posting_meeting_conflicts_backs_off_up_to_the_cap_and_gives_up_once_its_time_is_spent(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = world.open_account("alice")
    now, jitter = [0.0], []

    def pause(seconds: float) -> None:
        now[0] += seconds

    def widest(low: float, high: float) -> float:
        jitter.append((low, high))
        return high

    def conflict(writes: list[dict[str, Any]]) -> None:
        raise _cancelled("None", "TransactionConflict", "None", "None")

    monkeypatch.setattr(clock, "monotonic", lambda: now[0])
    monkeypatch.setattr(clock, "pause", pause)
    monkeypatch.setattr(random, "uniform", widest)
    monkeypatch.setattr(ledger_store, "write_operation", conflict)
    with pytest.raises(ledger.Contention, match=r"^The account is being changed by other operations; try again$"):
        world.credit(alice, "1.00")
    assert [low for low, _ in jitter] == [0] * len(jitter)  # full jitter: anything from no wait at all
    doubling = [ledger.BACKOFF_BASE_SECONDS * 2**attempt for attempt in range(8)]
    assert [high for _, high in jitter[:8]] == pytest.approx(
        [min(ledger.BACKOFF_CAP_SECONDS, bound) for bound in doubling]
    )
    assert jitter[7][1] == ledger.BACKOFF_CAP_SECONDS  # reached within the first eight tries
    assert now[0] - jitter[-1][1] < ledger.RETRY_BUDGET_SECONDS <= now[0]  # stopped at the first look past it


def test_a_cancellation_without_reasons_is_retried_and_one_retrying_cannot_cure_is_raised(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = world.open_account("alice")
    write, calls = ledger_store.write_operation, []

    def failing_first(reasons: tuple[str, ...]) -> Any:
        def first_call_fails(writes: list[dict[str, Any]]) -> None:
            calls.append(reasons)
            if len(calls) == 1:
                raise _cancelled(*reasons)
            write(writes)

        return first_call_fails

    monkeypatch.setattr(clock, "pause", lambda seconds: None)
    monkeypatch.setattr(ledger_store, "write_operation", failing_first(()))
    world.credit(alice, "1.00")
    assert (len(calls), world.balance(alice)) == (2, (Decimal("1.00"), 0))
    calls.clear()
    monkeypatch.setattr(ledger_store, "write_operation", failing_first(("None", "ValidationError", "None", "None")))
    with pytest.raises(ClientError):
        world.credit(alice, "2.00")
    assert (len(calls), world.balance(alice)) == (1, (Decimal("1.00"), 0))


@pytest.mark.parametrize("condition", ["request state", "limit"])
def test_a_posting_with_its_own_conditions_cancelled_by_a_conflict_is_tried_again_not_refused(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch, condition: str
) -> None:
    """Only a failed condition on the request's state (the guard) or a limit's counter refuses the posting;
    a conflict on an account while those conditions held is a race: tried again."""
    alice = world.open_account("alice")
    request = {"pk": "REQUEST#r-1", "sk": "REQUEST"}
    guard = {
        "Put": {
            "TableName": settings().requests_table,
            "Item": request,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    counter = limits_store.counter_key(alice, "TEST_CREDIT", "DAY#2026-03-01", "COUNT")
    limit = Refusable(
        limits_store.counter_use(counter, Decimal(1), Decimal(5), 2_000_000_000),
        BusinessRuleViolation("The daily count is reached", code="LIMIT_EXCEEDED"),
    )
    write, calls = ledger_store.write_operation, []

    def conflict_first(writes: list[dict[str, Any]]) -> None:
        calls.append(len(writes))
        if len(calls) == 1:  # the account's update met another transaction; the last write's condition held
            raise _cancelled("None", "None", "TransactionConflict", "None", "None", "None")
        write(writes)

    monkeypatch.setattr(clock, "pause", lambda seconds: None)
    monkeypatch.setattr(ledger_store, "write_operation", conflict_first)
    emission = world.issuer_account("EUR", SystemAccount.EMISSION, "c-1")
    legs = (Leg(emission, Decimal(-1)), Leg(ledger.customer_account(alice), Decimal(1)))
    conditions: dict[str, dict[str, Any]] = {"request state": {"guard": guard}, "limit": {"companions": (limit,)}}
    ledger.post(Posting("c-1", "TEST_CREDIT", "EUR", legs, **conditions[condition]))
    assert calls == [6, 6]  # the record, two balances, two journal entries and the condition's write, twice
    assert world.balance(alice) == (Decimal(1), 0)
    written = {"request state": (settings().requests_table, request), "limit": (settings().journal_table, counter)}
    table, key = written[condition]
    assert aws.dynamodb().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") is not None
