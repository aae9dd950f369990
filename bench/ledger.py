"""The ledger's DynamoDB footprint, measured through the layer on the project's embedded moto (no AWS account).

Counts only: which calls a posting makes and which items it writes. moto's speed says nothing about DynamoDB's,
so nothing here is timed.
"""

import os
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from local.aws import EmbeddedAws
from local.template import Template
from wallet import accounts, aws, catalog, config, ledger
from wallet.auth import Caller
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.accounts import NewCoin
from wallet.models.catalog import NewCurrency, NewIssuer
from wallet.models.identity import OrganizationType, Role

FUNCTION = "CoinsFunction"  # a function whose environment names the ledger's tables
CURRENCY = "EUR"
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
ITEM_ACTIONS = ("Put", "Update", "Delete")  # a TransactWriteItems element's actions that write an item


def start_world() -> EmbeddedAws:
    """moto provisioned from template.yaml with its default parameters, and the layer reading CoinsFunction's
    environment, as it would on Lambda."""
    template = Template()
    world = EmbeddedAws(template).start()
    os.environ.update(world.function_environment(template.functions()[FUNCTION].environment))
    config.settings.cache_clear()
    aws.dynamodb.cache_clear()
    return world


def template_shards() -> int:
    return int(Template().parameters()["SystemAccountShards"])


@dataclass
class Issuer:
    """One currency's issuer and its customers' accounts, set up through the layer as the set-up API does."""

    id: str

    @classmethod
    def create(cls) -> "Issuer":
        catalog.add_currency(NewCurrency(code=CURRENCY, name="Euro", fractional_digits=2))
        return cls(catalog.add_issuer(NewIssuer(currency_code=CURRENCY, name=f"Issuer {CURRENCY}")).id)

    def open_account(self, owner: str) -> str:
        caller = Caller(f"user-{owner}", f"{owner}@example.com", f"org-{owner}", OrganizationType.INDIVIDUAL, Role.INDIVIDUAL)
        return accounts.open_coin(caller, NewCoin(issuer_id=self.id)).coin_serial

    def credit(self, serial: str, amount: Decimal, process_id: str) -> Posting:
        """Money in, from the emission account's shard the process id hashes to."""
        emission = ledger.system_account(self.id, SystemAccount.EMISSION, ledger.shard_for(process_id))
        legs = (Leg(emission, -amount), Leg(ledger.customer_account(serial), amount))
        return Posting(process_id, "CREDIT", CURRENCY, legs)

    @staticmethod
    def transfer(source: str, destination: str, amount: Decimal, process_id: str) -> Posting:
        legs = (Leg(ledger.customer_account(source), -amount), Leg(ledger.customer_account(destination), amount))
        return Posting(process_id, "TRANSFER", CURRENCY, legs)


@dataclass
class Calls:
    """The DynamoDB API calls seen on the layer's client, by operation name."""

    operations: Counter[str] = field(default_factory=Counter)
    transact_items: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(count for name, count in self.operations.items() if name in WRITE_OPERATIONS)

    @property
    def reads(self) -> int:
        return sum(count for name, count in self.operations.items() if name in READ_OPERATIONS)


@contextmanager
def counting_calls() -> Iterator[Calls]:
    """Counts every call made through the layer's DynamoDB client, and keeps each TransactWriteItems' items."""
    calls = Calls()

    def before_call(model: Any, **_: Any) -> None:
        calls.operations[model.name] += 1

    def provide_params(params: dict[str, Any], **_: Any) -> None:
        calls.transact_items.append(params["TransactItems"])  # before the resource's type serialisation

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", before_call)
    events.register("provide-client-params.dynamodb.TransactWriteItems", provide_params)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", before_call)
        events.unregister("provide-client-params.dynamodb.TransactWriteItems", provide_params)


@dataclass(frozen=True)
class PostingCalls:
    kind: str
    postings: int
    writes: set[int]  # per posting: one figure if every posting made the same calls
    reads: set[int]
    operations: Counter[str]


def calls_per_posting(issuer: Issuer, samples: int = 3) -> list[PostingCalls]:
    """The calls of single postings: credits from emission, then 2-leg transfers between customer accounts."""
    alice, bob = issuer.open_account("bench-alice"), issuer.open_account("bench-bob")
    credits = [issuer.credit(alice, Decimal("100.00"), f"bench-calls-credit-{i}") for i in range(samples)]
    transfers = [issuer.transfer(alice, bob, Decimal("1.00"), f"bench-calls-transfer-{i}") for i in range(samples)]
    measured = []
    for kind, postings in (("credit from emission", credits), ("transfer, 2 legs", transfers)):
        writes, reads, operations = set(), set(), Counter[str]()
        for posting in postings:
            with counting_calls() as calls:
                ledger.post(posting)
            writes.add(calls.writes)
            reads.add(calls.reads)
            operations += calls.operations
        measured.append(PostingCalls(kind, len(postings), writes, reads, operations))
    return measured


@dataclass(frozen=True)
class HotItems:
    postings: int
    credits: int
    transfers: int
    customers: int
    writes_per_item: Counter[tuple[str, str, str]]  # (TableName, pk, sk) -> postings that wrote it
    emission_shards: dict[str, int]  # every emission shard's item pk -> postings that wrote it (0 included)


def hot_items(issuer: Issuer, postings: int = 1000, customers: int = 100, credit_every: int = 5) -> HotItems:
    """`postings` on one issuer: credits from emission to `customers` accounts, and every `credit_every`-th
    posting a transfer between two of them. Counts, per item, the postings whose TransactWriteItems wrote it."""
    chooser = random.Random(2024)  # noqa: S311 - a reproducible mix, not secrecy
    serials = [issuer.open_account(f"bench-hot-{index:03d}") for index in range(customers)]
    balances = dict.fromkeys(serials, Decimal(0))
    writes_per_item: Counter[tuple[str, str, str]] = Counter()
    credits = transfers = 0
    for index in range(postings):
        funded = [serial for serial, balance in balances.items() if balance >= 1]
        if index % credit_every == credit_every - 1 and len(funded) >= 1:
            source = chooser.choice(funded)
            destination = chooser.choice([serial for serial in serials if serial != source])
            posting = issuer.transfer(source, destination, Decimal("1.00"), f"bench-hot-transfer-{index:04d}")
            balances[source] -= 1
            balances[destination] += 1
            transfers += 1
        else:
            serial = serials[credits % customers]
            posting = issuer.credit(serial, Decimal("10.00"), f"bench-hot-credit-{index:04d}")
            balances[serial] += 10
            credits += 1
        with counting_calls() as calls:
            ledger.post(posting)
        written = {
            (action["TableName"], action["Key"]["pk"] if "Key" in action else action["Item"]["pk"],
             action["Key"]["sk"] if "Key" in action else action["Item"]["sk"])
            for items in calls.transact_items
            for element in items
            for name, action in element.items()
            if name in ITEM_ACTIONS
        }
        writes_per_item.update(written)  # a set: a posting retried after a conflict still counts once per item
    shards = ledger.system_shards(issuer.id, SystemAccount.EMISSION)
    emission = {key: sum(count for (_, pk, _), count in writes_per_item.items() if pk == key) for key in shards}
    return HotItems(postings, credits, transfers, customers, writes_per_item, emission)
