"""A transfer through TransfersFunction's handler, in this process on embedded moto, next to the same DynamoDB
calls made bare through the layer.

Counts: the DynamoDB calls the handler makes for one POST /transfers. Times: only as a ratio, handler over bare,
as both sides run on moto in this process; moto's absolute times say nothing about DynamoDB's.
"""

import gc
import json
import statistics
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench import ledger as bench_ledger
from local.lambdas import LocalLambdas
from local.server import api_gateway_event
from local.template import Route, Template
from wallet import aws, catalog, catalog_store, events, identity_store, ledger, ledger_store, limits
from wallet.commission import quote
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.catalog import CommissionRule, OperationType
from wallet.models.events import EventType
from wallet.models.roles import Role

FUNCTION = "TransfersFunction"
METHOD, PATH, STAGE = "POST", "/transfers", "dev"
FUNDS = "1000000.00"  # the source's balance: far more than every transfer of a run takes
RULE = {"percent": Decimal(1), "fixed": Decimal("0.10")}  # as tests/http/test_transfers.py: commission is a leg
SENDER = bench_ledger.customer("bench-sender")  # the source's owner

Shape = tuple[tuple[str, str], ...]  # a TransactWriteItems' elements as (action, table), in order


@dataclass(frozen=True)
class World:
    lambdas: LocalLambdas
    route: Route
    issuer: bench_ledger.Issuer
    source: str  # coin serials
    destinations: tuple[str, ...]
    token: str  # the source's owner's bearer token

    @classmethod
    @contextmanager
    def embedded(cls, destinations: int = 2) -> Iterator["World"]:
        """A currency, its issuer with a TRANSFER commission rule, a funded source coin and a few destination
        coins, set up through the layer; nothing else, so moto's tables stay small (it copies every table on
        each transaction, and both sides of the ratio should pay for the same tables)."""
        with bench_ledger.embedded_world() as embedded, warnings.catch_warnings():
            # Powertools warns on every invocation that emits no metric; a transfer emits none.
            warnings.filterwarnings("ignore", message="No application metrics to publish")
            issuer = bench_ledger.Issuer.create()
            catalog.set_commission_rule(
                CommissionRule(operation_type=OperationType.TRANSFER, issuer_id=issuer.id, **RULE), bench_ledger.STAFF
            )
            source = issuer.open_account("bench-sender")
            payees = tuple(issuer.open_account(f"bench-payee-{index}") for index in range(destinations))
            ledger.post(issuer.credit(source, FUNDS, "bench-transfers-funding"))
            token = bench_ledger.token_for(SENDER)
            (route,) = (route for route in Template().routes() if (route.method.upper(), route.path) == (METHOD, PATH))
            if route.function != FUNCTION:
                raise RuntimeError(f"{METHOD} {PATH} is served by {route.function}, not {FUNCTION}")
            yield cls(LocalLambdas(embedded), route, issuer, source, payees, token)

    def through_handler(self, destination: str, amount: Decimal) -> None:
        """POST /transfers as API Gateway hands it to the function, answered 201."""
        body = json.dumps(
            {"sourceCoinSerial": self.source, "destinationCoinSerial": destination, "amount": str(amount)}
        ).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        event = api_gateway_event(self.route, METHOD, PATH, headers, body, STAGE)
        answer = self.lambdas.invoke(FUNCTION, event)
        if answer["statusCode"] != 201:
            raise RuntimeError(f"the transfer was refused ({answer['statusCode']}): {answer['body']}")

    def fresh_rules(self) -> None:
        """Reads the limit rules again, as a container does when their cache's 30 s run out. Called before each
        sample, untimed and uncounted, so no sample of either side pays that read: a slow run would otherwise
        see the cache expire during one side's sample and not the other's. The handler's side has its own copy of
        the layer, and so its own cache (local/lambdas.py)."""
        for module in (limits, self.lambdas.layer_module(FUNCTION, "wallet.limits")):
            module.forget_rules()
            module.rule_for(OperationType.TRANSFER.value, bench_ledger.CURRENCY, Role.INDIVIDUAL.value, self.source)

    def bare(self, destination: str, amount: Decimal) -> None:
        """The handler's DynamoDB calls without the handler: one BatchGetItem of both accounts and the caller's
        token state, one GetItem of the commission rule, the limit rules (fresh in the cache before each sample,
        as for the handler), ledger.post of the same 3-leg posting with its event given the accounts just read
        (one TransactWriteItems). No token, no request or response model."""
        # Every call that changes something reads its caller's state, with its first BatchGetItem.
        identity_store.defer_token_state(SENDER.user_id, lambda _state: None)
        source_key, destination_key = ledger.customer_account(self.source), ledger.customer_account(destination)
        accounts = ledger_store.read_accounts([source_key, destination_key])
        rule = catalog_store.get_commission_rule(OperationType.TRANSFER, self.issuer.id)
        source = accounts[source_key]
        limits.rule_for(OperationType.TRANSFER.value, source.currency, Role.INDIVIDUAL.value, self.source)  # fresh
        shown = quote(amount, rule, int(source.item["fractionalDigits"]))
        process_id = str(uuid.uuid4())
        commission = ledger.system_account(self.issuer.id, SystemAccount.COMMISSION, ledger.shard_for(process_id))
        legs = (
            Leg(source_key, -shown.total(True)),
            Leg(destination_key, shown.amount),
            Leg(commission, shown.commission),
        )
        details = {
            "organizationId": source.item["organizationId"],
            "sourceCoinSerial": self.source,
            "destinationCoinSerial": destination,
            "amount": shown.amount,
            "commission": shown.commission,
            "requestFingerprint": "bench",
        }
        event = events.outbox_write(
            EventType.TRANSFER_COMPLETED,
            process_id,
            {"businessProcessId": process_id, "amount": shown.amount, "commission": shown.commission},
            ordering_key=self.source,
            organization_ids=[source.item["organizationId"]],
        )
        posting = Posting(process_id, OperationType.TRANSFER.value, source.currency, legs, details, companions=(event,))
        ledger.post(posting, accounts=accounts)


@dataclass
class Side:
    """One way of making a transfer: its samples' DynamoDB calls, times, and transactions' shapes."""

    calls: list[bench_ledger.Calls]
    milliseconds: list[float]
    shapes: set[Shape]

    @classmethod
    def empty(cls) -> "Side":
        return cls([], [], set())

    def operations(self) -> Counter[str]:
        return sum((calls.operations for calls in self.calls), Counter[str]())

    def median_ms(self) -> float:
        return statistics.median(self.milliseconds)

    def fastest_ms(self) -> float:
        return min(self.milliseconds)

    def paired_ratio(self, other: "Side") -> float:
        """The median of the rounds' own ratios: each round's two transfers ran back to back."""
        return statistics.median(
            mine / theirs for mine, theirs in zip(self.milliseconds, other.milliseconds, strict=True)
        )

    def record(self, world: World, make: Callable[[str, Decimal], None], destination: str, amount: Decimal) -> None:
        world.fresh_rules()
        with bench_ledger.counting_calls() as calls, bench_ledger.recording_transactions(execute=True) as recorded:
            gc.collect()  # as timeit does: a collection falls on neither side's timing
            gc.disable()
            try:
                start = time.perf_counter()
                make(destination, amount)
                elapsed = time.perf_counter() - start
            finally:
                gc.enable()
        self.calls.append(calls)
        self.milliseconds.append(elapsed * 1000)
        self.shapes.update(_shape(transaction) for transaction in recorded)
        _forget_journal(recorded)


@dataclass(frozen=True)
class Transfers:
    samples: int
    handler: Side
    bare: Side


def measure(world: World, samples: int) -> Transfers:
    """One transfer each way first, not kept (the handler module's import, and any first-use cost), then
    `samples` rounds of one transfer each way, back to back. Rounds alternate which side goes first, so neither
    always follows the other; every transfer has its own amount and process id (none is a replay), and the
    destination alternates between the payees."""
    handler, bare = Side.empty(), Side.empty()
    Side.empty().record(world, world.through_handler, world.destinations[0], Decimal("0.01"))
    Side.empty().record(world, world.bare, world.destinations[0], Decimal("0.01"))
    for index in range(samples):
        destination = world.destinations[index % len(world.destinations)]
        amount = Decimal(1) + Decimal(index) / 100
        sides = [(handler, world.through_handler), (bare, world.bare)]
        for side, make in sides if index % 2 == 0 else reversed(sides):
            side.record(world, make, destination, amount)
    return Transfers(samples, handler, bare)


def _forget_journal(transactions: list[list[dict[str, Any]]]) -> None:
    """Deletes the items the transactions put (the process record, the journal entries), so the tables keep
    the same few items all along: moto deep-copies a table once per element of a TransactWriteItems on it, so
    its time grows with the table, and each transfer would slow the next. Balances stay (they are updates)."""
    client = aws.dynamodb()
    for transaction in transactions:
        for element in transaction:
            if put := element.get("Put"):
                client.delete_item(TableName=put["TableName"], Key={"pk": put["Item"]["pk"], "sk": put["Item"]["sk"]})


def _shape(transaction: list[dict[str, Any]]) -> Shape:
    return tuple((action, element[action]["TableName"]) for element in transaction for action in element)
