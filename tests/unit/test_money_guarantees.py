"""Each money guarantee with the test that fails without it: races run as chosen interleavings of
DynamoDB calls (tests/unit/dynamodb_harness.py), so every one is deterministic."""

from decimal import Decimal

import pytest

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from tests.unit.dynamodb_harness import Interleaving, scripted, seeded
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import (
    accounts,
    approval,
    aws,
    catalog,
    ledger,
    ledger_store,
    payments,
    reconciliation,
    refunds,
    requests_store,
    transfers,
)
from wallet.auth import Caller
from wallet.config import settings
from wallet.errors import Conflict
from wallet.idempotency import fingerprint
from wallet.ledger import Leg, Posting, SystemAccount, WrongState
from wallet.models.accounts import StatementRequest
from wallet.models.catalog import CommissionRule, NewBank, OperationType
from wallet.models.events import EventType
from wallet.models.requests import RequestKind, RequestStatus
from wallet.models.requests_api import BankTopUp, BankWithdrawal
from wallet.models.transfers import RefundRequest
from wallet.money import in_digits


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {"DecisionTimeoutSeconds": "600"}  # a withdrawal started here waits: nothing decides behind the test


@pytest.fixture
def world(embedded_aws: EmbeddedAws) -> LedgerWorld:
    return build_world()


def _spend(world: LedgerWorld, serial: str, amount: str, process_id: str) -> ledger.Posted:
    transit = world.issuer_account("EUR", SystemAccount.TRANSIT, process_id)
    value = Decimal(amount)
    legs = (Leg(ledger.customer_account(serial), -value), Leg(transit, value))
    return ledger.post(Posting(process_id, "SPEND", "EUR", legs))


# --- the customer-account version guard ---


def test_a_stale_read_that_could_cover_the_debit_is_read_again_not_written_over(world: LedgerWorld) -> None:
    alice, bob = world.open_account("alice"), world.open_account("bob")
    world.credit(alice, "10.00")
    stale = ledger_store.read_accounts([ledger.customer_account(alice), ledger.customer_account(bob)])
    _spend(world, alice, "8.00", "spend-1")  # written after our read: 2.00 left
    legs = (Leg(ledger.customer_account(alice), Decimal(-5)), Leg(ledger.customer_account(bob), Decimal(5)))
    with pytest.raises(ledger.InsufficientFunds):  # the stale 10.00 would cover it; the fresh 2.00 does not
        ledger.post(Posting("t-1", "TRANSFER", "EUR", legs), accounts=stale)
    assert (world.balance(alice), world.balance(bob)) == ((Decimal("2.00"), 0), (0, 0))
    assert reconciliation.reconcile().clean


def test_two_spends_that_both_read_before_either_writes_spend_once(world: LedgerWorld) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "10.00")
    race = Interleaving(scripted("first", "second"))  # both read 10.00, then the first writes
    outcomes = race.run(
        {"first": lambda: _spend(world, alice, "6.00", "s-1"), "second": lambda: _spend(world, alice, "6.00", "s-2")}
    )
    assert race.trace[:3] == [("first", "BatchGetItem"), ("second", "BatchGetItem"), ("first", "TransactWriteItems")]
    assert not outcomes["first"].value().replayed
    assert isinstance(outcomes["second"].error, ledger.InsufficientFunds)
    assert world.balance(alice) == (Decimal("4.00"), 0)
    assert reconciliation.reconcile().clean


@pytest.mark.parametrize("seed", range(3))
def test_twenty_interleaved_spends_spend_exactly_what_the_balance_allows(world: LedgerWorld, seed: int) -> None:
    alice = world.open_account("alice")
    world.credit(alice, "70.00")  # seven spends of 10.00 fit, thirteen must be refused

    def spend(number: int) -> str:
        while True:
            try:
                _spend(world, alice, "10.00", f"spend-{number}")
                return "spent"
            except ledger.InsufficientFunds:
                return "refused"
            except ledger.Contention:
                continue  # the client's retry: the same operation, safe to repeat

    race = Interleaving(seeded(seed))
    outcomes = race.run({f"spend-{number}": lambda number=number: spend(number) for number in range(20)})
    assert sorted(outcome.value() for outcome in outcomes.values()) == ["refused"] * 13 + ["spent"] * 7
    assert world.balance(alice) == (0, 0)
    assert reconciliation.reconcile().clean


# --- the request-state condition ---


def _decision(request_id: str, action: str) -> RequestStatus:
    if action == "expire":
        return approval.expire(request_id)
    return payments.decide(STAFF, RequestKind.TOP_UP, request_id, action == "accept", None).status


@pytest.mark.parametrize(
    ("first", "second"), [("accept", "decline"), ("decline", "accept"), ("accept", "expire"), ("expire", "accept")]
)
def test_a_top_up_decided_from_a_stale_copy_is_refused(world: LedgerWorld, first: str, second: str) -> None:
    alice = world.open_account("alice")
    request = world.pending_request("top-up-1", RequestKind.TOP_UP, alice, "20.00")
    race = Interleaving(scripted(first, second))  # both read the request PENDING, then the first decides
    decisions = {name: lambda name=name: _decision(request.request_identifier, name) for name in (first, second)}
    outcomes = race.run(decisions)
    assert race.trace[:2] == [(first, "GetItem"), (second, "GetItem")]
    decided = outcomes[first].value()
    if second == "expire":
        assert outcomes[second].value() == decided  # the expiry finds the decision that won
    else:
        refused = outcomes[second].error
        assert isinstance(refused, WrongState)
        # An accept moves money: the ledger's request-state guard refuses it; a decline writes the request alone.
        assert refused.message == (
            "The request is no longer in the state this decision needs"
            if second == "accept"
            else "The request is no longer PENDING"
        )
    stored = requests_store.get(request.request_identifier)
    assert stored is not None
    assert stored[0].status == decided
    assert [step.status for step in stored[0].history] == [RequestStatus.PENDING, decided]
    credited = Decimal("20.00") if decided == RequestStatus.ACCEPTED else 0
    assert world.balance(alice) == (credited, 0)
    assert reconciliation.reconcile().clean


def _nulls(value: object, path: str = "") -> list[str]:
    if isinstance(value, dict):
        return [null for key, inner in value.items() for null in _nulls(inner, f"{path}.{key}")]
    if isinstance(value, list):
        return [null for index, inner in enumerate(value) for null in _nulls(inner, f"{path}[{index}]")]
    return [path] if value is None else []


def test_a_request_is_stored_without_the_fields_it_does_not_have(world: LedgerWorld) -> None:
    """No reference, recipient or reason given: the attributes are absent, never NULL (a filter on
    attribute_exists, a NULL-typed index key and every byte stored count on it)."""
    request = world.pending_request("top-up-1", RequestKind.TOP_UP, world.open_account("alice"), "20.00")
    key = {"pk": f"REQUEST#{request.request_identifier}", "sk": "REQUEST"}
    item = aws.dynamodb().get_item(TableName=settings().requests_table, Key=key, ConsistentRead=True)["Item"]
    assert _nulls(item) == []
    assert {"reference", "recipientName", "accountNumber"}.isdisjoint(item)
    assert item["history"] == [{"status": "PENDING", "at": request.created_at}]


@pytest.mark.parametrize("kind", [RequestKind.TOP_UP, RequestKind.WITHDRAWAL])
def test_a_decision_asked_again_after_it_applied_is_refused(world: LedgerWorld, kind: RequestKind) -> None:
    """Only the PENDING check in payments refuses it: the second accept's posting finds the first one's
    operation record (same id) and would pass for a replay, answered as if it had just been decided."""
    alice = world.open_account("alice")
    world.credit(alice, "50.00")
    request = world.pending_request("request-1", kind, alice, "20.00")
    decided = payments.decide(STAFF, kind, request.request_identifier, True, None)
    assert decided.status == RequestStatus.ACCEPTED
    with pytest.raises(WrongState):
        payments.decide(STAFF, kind, request.request_identifier, True, None)
    stored = requests_store.get(request.request_identifier)
    assert stored is not None
    assert [step.status for step in stored[0].history] == [RequestStatus.PENDING, RequestStatus.ACCEPTED]
    assert world.balance(alice) == ((Decimal("70.00"), 0) if kind == RequestKind.TOP_UP else (Decimal("30.00"), 0))
    assert reconciliation.reconcile().clean


def test_a_decision_records_its_reason_and_time(world: LedgerWorld) -> None:
    request = world.pending_request("top-up-1", RequestKind.TOP_UP, world.open_account("alice"), "20.00")
    payments.decide(STAFF, RequestKind.TOP_UP, request.request_identifier, False, "Duplicate payment")
    stored = requests_store.get(request.request_identifier)
    assert stored is not None
    last = stored[0].history[-1]
    assert (last.status, last.reason) == (RequestStatus.DECLINED, "Duplicate payment")
    assert stored[1]["updatedAt"] == last.at != request.updated_at


def test_a_retried_await_decision_changes_only_the_token_and_only_while_pending(world: LedgerWorld) -> None:
    request = world.pending_request("top-up-1", RequestKind.TOP_UP, world.open_account("alice"), "20.00")
    assert approval.await_decision(request.request_identifier, "token-2") == RequestStatus.PENDING
    stored = requests_store.get(request.request_identifier)
    assert stored is not None
    assert (stored[0], stored[1]["taskToken"]) == (request, "token-2")
    # The step retried once more, a decision landing between its read and its write: the decision stands.
    race = Interleaving(scripted("await", "decide", "decide", "decide"))
    outcomes = race.run(
        {
            "await": lambda: approval.await_decision(request.request_identifier, "token-3"),
            "decide": lambda: payments.decide(STAFF, RequestKind.TOP_UP, request.request_identifier, True, None),
        }
    )
    decision = [("decide", "GetItem"), ("decide", "BatchGetItem"), ("decide", "TransactWriteItems")]
    assert race.trace == [("await", "GetItem"), *decision, ("await", "TransactWriteItems"), ("await", "GetItem")]
    assert outcomes["await"].value() == RequestStatus.ACCEPTED
    stored = requests_store.get(request.request_identifier)
    assert stored is not None
    assert (stored[0].status, stored[1]["taskToken"]) == (RequestStatus.ACCEPTED, "token-2")


# --- idempotency keys: one effect per key and organisation ---


class Money:
    """A bank, and customers of two organisations with funded euro accounts."""

    def __init__(self, world: LedgerWorld):
        self.world = world
        self.bank = catalog.add_bank(
            NewBank(name="B", bic="DEUTDEFF", swift="DEUTDEFFXXX", country="DE"), STAFF
        ).bank_id
        self.coins = {name: world.open_account(name) for name in ("alice", "bob", "carol")}
        for serial in self.coins.values():
            world.credit(serial, "100.00")

    def top_up(self, owner: str, amount: str, key: str | None) -> str:
        body = BankTopUp.model_validate({"coinSerial": self.coins[owner], "amount": amount, "bankId": self.bank})
        return payments.top_up_at_once(STAFF, body, key).request_identifier

    def withdraw(self, owner: str, amount: str, key: str | None) -> str:
        body = BankWithdrawal.model_validate(
            {
                "coinSerial": self.coins[owner],
                "amount": amount,
                "bankId": self.bank,
                "accountNumber": "DE8937040044",
                "recipientName": owner,
            }
        )
        return payments.create_withdrawal(self.world.customer(owner), body, key).request_identifier

    def transfer(self, owner: str, to: str, amount: str, key: str | None) -> str:
        caller = self.world.customer(owner)
        prepared = transfers.prepare(caller, self.coins[owner], self.coins[to], Decimal(amount))
        digest = fingerprint("transfer", owner, to, amount)
        return transfers.execute(caller, prepared, idempotency_key=key, fingerprint=digest).business_process_id

    def balance(self, owner: str) -> tuple[Decimal, Decimal]:
        return self.world.balance(self.coins[owner])


@pytest.fixture
def money(world: LedgerWorld) -> Money:
    return Money(world)


def test_a_staff_top_up_with_the_same_key_credits_once(money: Money) -> None:
    first = money.top_up("alice", "5.00", "top-up-1")
    assert money.top_up("alice", "5.00", "top-up-1") == first
    assert money.balance("alice") == (Decimal("105.00"), 0)
    with pytest.raises(Conflict, match="Idempotency-Key"):
        money.top_up("alice", "6.00", "top-up-1")
    assert money.top_up("alice", "5.00", None) != money.top_up("alice", "5.00", None)  # no key: two top-ups
    assert money.balance("alice") == (Decimal("115.00"), 0)
    assert reconciliation.reconcile().clean


def test_a_transfers_event_carries_each_accounts_version_after_it(money: Money) -> None:
    money.transfer("alice", "bob", "5.00", None)
    outbox = aws.dynamodb().scan(TableName=settings().outbox_table)["Items"]
    [event] = [item for item in outbox if item.get("type") == EventType.TRANSFER_COMPLETED.value]
    keys = {name: ledger.customer_account(money.coins[name]) for name in ("alice", "bob")}
    states = ledger_store.read_accounts(list(keys.values()))
    assert event["sequences"] == {money.coins[name]: states[key].version for name, key in keys.items()}


def test_a_withdrawal_with_the_same_key_holds_once(money: Money, lambdas: LocalLambdas) -> None:
    first = money.withdraw("alice", "5.00", "w-1")
    assert money.withdraw("alice", "5.00", "w-1") == first
    with pytest.raises(Conflict, match="Idempotency-Key"):
        money.withdraw("alice", "6.00", "w-1")
    assert money.balance("alice") == (Decimal("95.00"), Decimal("5.00"))


def test_a_transfer_with_the_same_key_moves_money_once(money: Money) -> None:
    first = money.transfer("alice", "bob", "5.00", "t-1")
    assert money.transfer("alice", "bob", "5.00", "t-1") == first
    with pytest.raises(Conflict, match="Idempotency-Key"):
        money.transfer("alice", "bob", "6.00", "t-1")
    assert (money.balance("alice"), money.balance("bob")) == ((Decimal("95.00"), 0), (Decimal("105.00"), 0))


def test_the_same_key_from_two_organisations_names_two_operations(money: Money, lambdas: LocalLambdas) -> None:
    """Keys are each organisation's own: another customer's key never replays, nor refuses, mine."""
    assert money.transfer("alice", "carol", "1.00", "shared") != money.transfer("bob", "carol", "2.00", "shared")
    assert money.withdraw("alice", "3.00", "shared") != money.withdraw("bob", "4.00", "shared")
    assert money.balance("alice") == (Decimal("96.00"), Decimal("3.00"))
    assert money.balance("bob") == (Decimal("94.00"), Decimal("4.00"))
    assert money.balance("carol") == (Decimal("103.00"), 0)
    assert reconciliation.reconcile().clean


def test_a_refund_key_is_each_organisations_own(money: Money) -> None:
    """The recipient and staff both refund part of one transfer with the same key: two refunds."""
    paid = money.transfer("alice", "bob", "20.00", None)

    def refund(caller: Caller, amount: str) -> str:
        request = RefundRequest(amount=Decimal(amount))
        digest = fingerprint("refund", paid, amount)
        return refunds.refund(caller, paid, request, idempotency_key="shared", fingerprint=digest).business_process_id

    bob = money.world.customer("bob")
    assert refund(bob, "5.00") == refund(bob, "5.00")  # a retry: refunded once
    assert refund(STAFF, "3.00") != refund(bob, "5.00")
    assert (money.balance("alice"), money.balance("bob")) == ((Decimal("88.00"), 0), (Decimal("112.00"), 0))
    assert reconciliation.reconcile().clean


def test_a_retry_is_told_by_what_its_body_says_not_by_how_it_is_written() -> None:
    """The same fields in another order are the same request; figures held as Decimals fingerprint too."""
    assert fingerprint("transfer", {"amount": "5.00", "to": "bob"}) == fingerprint(
        "transfer", {"to": "bob", "amount": "5.00"}
    )
    assert fingerprint("refund", Decimal("5.00")) != fingerprint("refund", Decimal("6.00"))


def test_refunds_never_add_up_to_more_than_the_original(money: Money) -> None:
    paid = money.transfer("alice", "bob", "20.00", None)
    bob = money.world.customer("bob")
    refunds.refund(bob, paid, RefundRequest(amount=Decimal("15.00")), idempotency_key=None, fingerprint="-")
    with pytest.raises(refunds.RefundExceedsOriginal, match="exceed the original"):
        refunds.refund(bob, paid, RefundRequest(amount=Decimal("10.00")), idempotency_key=None, fingerprint="-")
    assert (money.balance("alice"), money.balance("bob")) == ((Decimal("95.00"), 0), (Decimal("105.00"), 0))


def test_two_first_refunds_decided_on_the_same_total_refund_once(money: Money) -> None:
    paid = money.transfer("alice", "bob", "20.00", None)
    bob = money.world.customer("bob")

    def refund() -> str:
        request = RefundRequest(amount=Decimal("15.00"))
        return refunds.refund(bob, paid, request, idempotency_key=None, fingerprint="-").business_process_id

    race = Interleaving(scripted("first", "second", "first", "second"))  # both read, nothing refunded yet
    outcomes = race.run({"first": refund, "second": refund})
    assert [call for _, call in race.trace[:4]] == ["GetItem", "GetItem", "BatchGetItem", "BatchGetItem"]
    assert outcomes["first"].value()
    assert isinstance(outcomes["second"].error, refunds.RefundExceedsOriginal)  # decided again on 15.00 refunded
    assert (money.balance("alice"), money.balance("bob")) == ((Decimal("95.00"), 0), (Decimal("105.00"), 0))
    assert reconciliation.reconcile().clean


# --- commission half-up at a tie, through the operations that charge it ---


def _commission(world: LedgerWorld, operation: OperationType) -> None:
    rule = {"operationType": operation, "issuerId": world.issuers["EUR"].id, "percent": "0.5", "fixed": "0"}
    catalog.set_commission_rule(CommissionRule.model_validate(rule), STAFF)


def test_a_transfer_charges_a_tied_commission_half_up(money: Money) -> None:
    _commission(money.world, OperationType.TRANSFER)
    money.transfer("alice", "bob", "1.00", None)  # 0.5% of 1.00 = 0.005: 0.01 half-up, 0.00 half-even
    assert (money.balance("alice"), money.balance("bob")) == ((Decimal("98.99"), 0), (Decimal("101.00"), 0))
    assert money.world.system_balance("EUR", SystemAccount.COMMISSION) == Decimal("0.01")
    assert reconciliation.reconcile().clean


def test_a_top_up_charges_a_tied_commission_half_up(money: Money) -> None:
    _commission(money.world, OperationType.BANK_TOP_UP)
    money.top_up("alice", "1.00", None)  # 0.005 of commission: 0.99 arrives
    assert money.balance("alice") == (Decimal("100.99"), 0)
    assert money.world.system_balance("EUR", SystemAccount.COMMISSION) == Decimal("0.01")
    assert reconciliation.reconcile().clean


# --- figures shown in their currency's digits ---


def test_balances_and_statements_show_the_currencys_digits_that_dynamodb_trims(money: Money) -> None:
    """DynamoDB gives 100.00 back as 100: a customer is shown 100.00, and 0.50 as 0.50, not 0.5."""
    money.transfer("alice", "bob", "0.50", None)
    alice = money.world.customer("alice")
    [coin] = accounts.list_coins(alice).coins
    assert (str(coin.available_balance), str(coin.held_balance)) == ("99.50", "0.00")
    wanted = StatementRequest.model_validate({"filter": {"coinSerial": money.coins["alice"]}})
    shown = [(str(entry.amount), str(entry.balance_after)) for entry in accounts.statement(alice, wanted).records]
    assert shown == [("-0.50", "99.50"), ("100.00", "100.00")]


def test_a_figure_with_more_digits_than_its_currency_is_shown_as_it_is_never_rounded_away() -> None:
    assert str(in_digits(Decimal("10.005"), 2)) == "10.005"
    assert str(in_digits(Decimal(7), 0)) == "7"
