"""The ledger's DynamoDB footprint, measured through the layer on the project's embedded moto (no AWS account).

Counts only: the calls a posting makes and the items it writes. moto's speed says nothing about DynamoDB's,
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

from aws_lambda_powertools.utilities import parameters
from botocore.awsrequest import AWSResponse

from local.aws import EmbeddedAws
from local.template import Template
from tests.unit.dynamodb_harness import Interleaving, seeded
from wallet import accounts, audit, auth, aws, catalog, clock, config, identity_store, ledger
from wallet.auth import Caller
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.accounts import NewCoin
from wallet.models.catalog import NewCurrency, NewIssuer
from wallet.models.identity import User
from wallet.models.roles import OrganizationType, Role

FUNCTION = "CoinsFunction"  # a function whose environment names the ledger's tables
CURRENCY = "EUR"
ACCOUNT_SORT_KEY = "ACCOUNT"  # an account's balance item; its journal entries share its pk with other sort keys
WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READ_OPERATIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
ITEM_ACTIONS = ("Put", "Update", "Delete")  # the actions of a TransactWriteItems element that write an item

ItemKey = tuple[str, str, str]  # (TableName, pk, sk)


@contextmanager
def embedded_world(parameters: dict[str, str] | None = None) -> Iterator[EmbeddedAws]:
    """moto provisioned from template.yaml with its default parameters (so the default shard count) or the
    given ones, and the layer reading the environment CoinsFunction gets on Lambda."""
    template = Template()
    _forget_cached_clients()
    world = EmbeddedAws(template, parameters=parameters).start()
    os.environ.update(world.function_environment(template.functions()[FUNCTION].environment))
    config.settings.cache_clear()
    try:
        yield world
    finally:
        world.stop()
        _forget_cached_clients()


def _forget_cached_clients() -> None:
    """Each world has its own moto, tables and secret: nothing cached from another one may be used."""
    config.settings.cache_clear()
    aws.dynamodb.cache_clear()
    parameters.clear_caches()  # the token signing key, which Powertools caches


def template_shards() -> int:
    return int(Template().parameters()["SystemAccountShards"])


def shards_in_use() -> int:
    return config.settings().system_account_shards


@dataclass(frozen=True)
class Issuer:
    """One currency's issuer and its customers' accounts, set up through the layer as the set-up API does."""

    id: str

    @classmethod
    def create(cls) -> "Issuer":
        catalog.add_currency(NewCurrency(code=CURRENCY, name="Euro", fractional_digits=2), STAFF)
        return cls(catalog.add_issuer(NewIssuer(currency_code=CURRENCY, name=f"Issuer {CURRENCY}"), STAFF).id)

    def open_account(self, owner: str) -> str:
        return accounts.open_coin(customer(owner), NewCoin(issuer_id=self.id)).coin_serial

    def emission_shard(self, shard: int) -> str:
        return ledger.system_account(self.id, SystemAccount.EMISSION, shard)

    def credit(self, serial: str, amount: str, process_id: str) -> Posting:
        """Money in, from the emission account's shard the process id hashes to."""
        value = Decimal(amount)
        emission = self.emission_shard(ledger.shard_for(process_id))
        legs = (Leg(emission, -value), Leg(ledger.customer_account(serial), value))
        return Posting(process_id, "CREDIT", CURRENCY, legs)

    @staticmethod
    def transfer(source: str, destination: str, amount: str, process_id: str) -> Posting:
        value = Decimal(amount)
        legs = (Leg(ledger.customer_account(source), -value), Leg(ledger.customer_account(destination), value))
        return Posting(process_id, "TRANSFER", CURRENCY, legs)


# Who sets the platform up in the benches (recorded on the audit trail).
STAFF = Caller("user-bench-admin", "admin@wallet.example", "org-system", OrganizationType.SYSTEM, Role.ADMINISTRATOR)


def customer(owner: str) -> Caller:
    """The individual customer `owner`, as their access token names them."""
    return Caller(f"user-{owner}", f"{owner}@example.com", f"org-{owner}", OrganizationType.INDIVIDUAL, Role.INDIVIDUAL)


def token_for(caller: Caller) -> str:
    """A bearer token of `caller`, who is made a user first: every call that changes something reads its user."""
    user = User(
        id=caller.user_id,
        login=caller.login,
        role=caller.role,
        organization_id=caller.organization_id,
        created_at=clock.iso(clock.now()),
    )
    identity_store.create_user(
        user, password_hash="bench: no password", recorded=audit.by(STAFF, "USER_CREATED", user.id)
    )
    return auth.issue_token(caller).token


# --- watching the layer's client ---


@dataclass
class Calls:
    """The DynamoDB API calls made through the layer's client, by operation name."""

    operations: Counter[str] = field(default_factory=Counter)

    @property
    def writes(self) -> int:
        return sum(count for name, count in self.operations.items() if name in WRITE_OPERATIONS)

    @property
    def reads(self) -> int:
        return sum(count for name, count in self.operations.items() if name in READ_OPERATIONS)

    @property
    def others(self) -> int:
        return sum(self.operations.values()) - self.writes - self.reads


@contextmanager
def counting_calls() -> Iterator[Calls]:
    calls = Calls()

    def before_call(model: Any, **_: Any) -> None:
        calls.operations[model.name] += 1

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", before_call)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", before_call)


@contextmanager
def recording_transactions(*, execute: bool) -> Iterator[list[list[dict[str, Any]]]]:
    """Keeps the TransactItems of every TransactWriteItems call; with execute=False, answers the call with an
    empty success instead of sending it (as botocore's Stubber does), so nothing is written."""
    recorded: list[list[dict[str, Any]]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        recorded.append(params["TransactItems"])  # the layer's own values, before the resource serialises them

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        return None if execute else (AWSResponse(None, 200, {}, None), {})  # type: ignore[arg-type]

    events = aws.dynamodb().meta.events
    events.register("provide-client-params.dynamodb.TransactWriteItems", keep)
    events.register("before-call.dynamodb.TransactWriteItems", answer)
    try:
        yield recorded
    finally:
        events.unregister("provide-client-params.dynamodb.TransactWriteItems", keep)
        events.unregister("before-call.dynamodb.TransactWriteItems", answer)


def written_items(transactions: list[list[dict[str, Any]]]) -> set[ItemKey]:
    keys = set()
    for transaction in transactions:
        for element in transaction:
            for action_name, action in element.items():
                if action_name in ITEM_ACTIONS:
                    key = action.get("Key") or action["Item"]
                    keys.add((action["TableName"], key["pk"], key["sk"]))
    return keys


# --- 1. calls per posting ---


@dataclass(frozen=True)
class PostingCalls:
    kind: str
    postings: int
    writes: list[int]  # one figure per posting
    reads: list[int]
    others: list[int]
    operations: Counter[str]  # summed over the postings


def calls_per_posting(issuer: Issuer, samples: int = 3) -> list[PostingCalls]:
    """The calls of single postings, executed: credits from emission, then 2-leg transfers between customers."""
    alice, bob = issuer.open_account("bench-alice"), issuer.open_account("bench-bob")
    kinds = {
        "credit from emission (2 legs)": [
            issuer.credit(alice, "100.00", f"bench-calls-credit-{index}") for index in range(samples)
        ],
        "transfer customer to customer (2 legs)": [
            issuer.transfer(alice, bob, "1.00", f"bench-calls-transfer-{index}") for index in range(samples)
        ],
    }
    measured = []
    for kind, postings in kinds.items():
        seen = []
        for posting in postings:
            with counting_calls() as calls:
                ledger.post(posting)
            seen.append(calls)
        operations = sum((calls.operations for calls in seen), Counter[str]())
        writes, reads, others = ([getattr(calls, name) for calls in seen] for name in ("writes", "reads", "others"))
        measured.append(PostingCalls(kind, len(postings), writes, reads, others, operations))
    return measured


# --- 2. hot items ---


@dataclass(frozen=True)
class HotItems:
    postings: int
    credits: int
    transfers: int
    customers: int
    postings_per_item: Counter[ItemKey]  # every item written -> the postings that wrote it
    emission_shards: list[int]  # postings that wrote each emission shard's balance item, by shard
    customer_accounts: set[str]  # the customers' balance items' pk


def hot_items(issuer: Issuer, postings: int = 1000, customers: int = 100, transfer_every: int = 5) -> HotItems:
    """`postings` on one issuer: credits from emission to `customers` accounts, every `transfer_every`-th posting
    a transfer between two of them. The layer prepares each posting as usual (it reads the accounts and builds
    the TransactWriteItems); the transaction is recorded, not executed, as moto copies every table on each
    transaction. Executed credits fund the accounts first, so every posting is one the layer would accept."""
    chooser = random.Random(1000)  # noqa: S311 - a reproducible mix, not secrecy
    serials = [issuer.open_account(f"bench-hot-{index:03d}") for index in range(customers)]
    for serial in serials:  # executed, not counted
        ledger.post(issuer.credit(serial, "1000000.00", f"bench-hot-funding-{serial}"))
    postings_per_item: Counter[ItemKey] = Counter()
    credit_count = transfer_count = 0
    with recording_transactions(execute=False) as recorded:
        for index in range(postings):
            if index % transfer_every == transfer_every - 1:
                source, destination = chooser.sample(serials, 2)
                posting = issuer.transfer(source, destination, "1.00", f"bench-hot-transfer-{index:04d}")
                transfer_count += 1
            else:
                serial = serials[credit_count % customers]
                posting = issuer.credit(serial, "10.00", f"bench-hot-credit-{index:04d}")
                credit_count += 1
            recorded.clear()
            ledger.post(posting)
            postings_per_item.update(written_items(recorded))  # a set: a retried posting counts once per item
    shards = [
        sum(count for (_, pk, sk), count in postings_per_item.items() if pk == key and sk == ACCOUNT_SORT_KEY)
        for key in (issuer.emission_shard(shard) for shard in range(shards_in_use()))
    ]
    customer_accounts = {ledger.customer_account(serial) for serial in serials}
    return HotItems(postings, credit_count, transfer_count, customers, postings_per_item, shards, customer_accounts)


# --- 3. a hot account ---


@dataclass(frozen=True)
class Burst:
    payments: int
    refused: int
    failed_writes: int  # TransactWriteItems cancelled (the account moved since its read), retried
    added_calls: list[int]  # per payment, DynamoDB round trips beyond the uncontended read and write


def hot_account_burst(issuer: Issuer, payments: int, seed: int = 2026) -> Burst:
    """`payments` customers each pay 1.00 to one merchant at once; the DynamoDB calls take turns in an order
    the seed chooses (tests/unit/dynamodb_harness.py), as DynamoDB serves each call atomically."""
    merchant = issuer.open_account(f"bench-merchant-{payments}")
    payers = [issuer.open_account(f"bench-payer-{payments}-{index:03d}") for index in range(payments)]
    for payer in payers:
        ledger.post(issuer.credit(payer, "10.00", f"bench-burst-funding-{payer}"))
    race = Interleaving(seeded(seed))
    outcomes = race.run(
        {
            f"pay-{index}": lambda payer=payer, index=index: ledger.post(
                issuer.transfer(payer, merchant, "1.00", f"bench-burst-{payments}-{index:03d}")
            )
            for index, payer in enumerate(payers)
        }
    )
    refused = sum(1 for outcome in outcomes.values() if outcome.error is not None)
    writes = sum(1 for _, operation in race.trace if operation == "TransactWriteItems")
    per_payment = Counter(name for name, _ in race.trace)
    return Burst(payments, refused, writes - (payments - refused), [per_payment[name] - 2 for name in outcomes])
