"""The reconciliation job's rate, on the embedded world (moto in this process): items read per minute.

A real ledger is built first (one credit through the ledger), then grown by copying its items under new keys with
BatchWriteItem (a customer account and its entry, and the emission shard's matching entry, for each copy), so the
reconciliation reads a ledger of the shape it meets on AWS and must still find it clean. The job's own code runs:
`reconciliation.run`, parallel scans and all. moto's speed is not DynamoDB's, and threads share one interpreter
here, so segments cannot speed moto up: these figures only show that the job's own work keeps up with its reads.
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import botocore.session
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.parsers import create_parser

from bench import ledger as bench_ledger
from wallet import clock, config, dynamo, ledger, ledger_store, reconciliation
from wallet.aws import dynamodb
from wallet.models.accounts import ReconciliationRun

BATCH = 25  # BatchWriteItem's limit


@dataclass(frozen=True)
class ClientPace:
    """What one interpreter does per item once DynamoDB has answered: parse the Scan page as botocore does,
    turn DynamoDB JSON into Python values as the layer's client does, and check the item (the job's folds)."""

    items: int
    seconds: float

    @property
    def items_per_minute(self) -> float:
        return self.items * 60 / self.seconds


@dataclass(frozen=True)
class Rate:
    segments: int
    items: int
    seconds: float
    clean: bool

    @property
    def items_per_minute(self) -> float:
        return self.items * 60 / self.seconds


def _grow(issuer: bench_ledger.Issuer, copies: int) -> None:
    """`copies` more customers, each credited 1.00 from one emission shard: balanced, as the ledger would write."""
    serial = issuer.open_account("model")
    ledger.post(issuer.credit(serial, "1.00", "model-credit"))
    model_account = ledger_store.get_account_item(ledger.customer_account(serial))
    assert model_account is not None
    entries = dynamo.every_item("scan", TableName=config.settings().journal_table)
    model_entry = next(item for item in entries if item.get("account") == ledger.customer_account(serial))
    emission_entry = next(item for item in entries if item.get("account", "").startswith("SYSTEM#"))
    emission_key = emission_entry["account"]
    accounts, journal = [], []
    for number in range(copies):
        key = f"COIN#bench{number:08d}"
        accounts.append({**model_account, "pk": key})
        journal.append({**model_entry, "pk": key, "account": key, "sk": f"{model_entry['sk']}#{number}"})
        journal.append({**emission_entry, "sk": f"{emission_entry['sk']}#{number}"})
    _write(config.settings().accounts_table, accounts)
    _write(config.settings().journal_table, journal)
    emission = ledger_store.get_account_item(emission_key)
    assert emission is not None
    dynamodb().update_item(  # the emission shard's balance, as its copied entries sum
        TableName=config.settings().accounts_table,
        Key={"pk": emission_key, "sk": "ACCOUNT"},
        UpdateExpression="SET available = :balance",
        ExpressionAttributeValues={":balance": Decimal(emission["available"]) - copies},
    )


def _write(table: str, items: list[dict[str, object]]) -> None:
    for start in range(0, len(items), BATCH):
        request = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH]]}
        while request:
            request = dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def measure(copies: int, segment_counts: tuple[int, ...]) -> tuple[list[Rate], ClientPace]:
    with bench_ledger.embedded_world():
        issuer = bench_ledger.Issuer.create()
        _grow(issuer, copies)
        rates = []
        for segments in segment_counts:
            with _segments(segments):
                started = clock.monotonic()
                report = reconciliation.run(ReconciliationRun())
                rates.append(Rate(segments, report.items_scanned, clock.monotonic() - started, report.clean))
        return rates, _client_pace()


def _client_pace() -> ClientPace:
    """The job's per-item work without moto: the tables' items as Scan pages on the wire, then parsed,
    deserialised and folded."""
    settings = config.settings()
    entries = dynamo.every_item(
        "scan",
        TableName=settings.journal_table,
        FilterExpression="begins_with(sk, :entry)",
        ProjectionExpression="#account, #bucket, #amount",
        ExpressionAttributeNames={"#account": "account", "#bucket": "bucket", "#amount": "amount"},
        ExpressionAttributeValues={":entry": "ENTRY#"},
    )
    accounts = dynamo.every_item("scan", TableName=settings.accounts_table)
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    shape = botocore.session.get_session().get_service_model("dynamodb").operation_model("Scan").output_shape
    parser = create_parser("json")

    def wire(items: list[dynamo.Item]) -> dict[str, object]:
        page = {"Items": [{name: serializer.serialize(value) for name, value in item.items()} for item in items]}
        return {"body": json.dumps(page).encode(), "headers": {}, "status_code": 200}

    def items_of(page: dict[str, object]) -> Iterator[dynamo.Item]:
        for raw in parser.parse(page, shape)["Items"]:
            yield {name: deserializer.deserialize(value) for name, value in raw.items()}

    entry_page, account_page = wire(entries), wire(accounts)
    started = clock.monotonic()
    journal = reconciliation.sum_entries(items_of(entry_page)).sums
    states = (ledger_store.account_state(item) for item in items_of(account_page))
    reconciliation.check_accounts(journal, {bench_ledger.CURRENCY: 2}, states)
    return ClientPace(len(entries) + len(accounts), clock.monotonic() - started)


@contextmanager
def _segments(segments: int) -> Iterator[None]:
    """The job's RECONCILIATION_SEGMENTS for one run."""
    previous = os.environ.get("RECONCILIATION_SEGMENTS")
    os.environ["RECONCILIATION_SEGMENTS"] = str(segments)
    config.settings.cache_clear()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("RECONCILIATION_SEGMENTS", None)
        else:
            os.environ["RECONCILIATION_SEGMENTS"] = previous
        config.settings.cache_clear()
