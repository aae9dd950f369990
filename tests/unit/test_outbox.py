"""The transactional outbox: events committed with their change, published from the stream to
EventBridge at least once, in order per account, never lost and never sent twice for one change."""

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from local.streams import LocalStreams, matches
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import account_lifecycle, ledger, refunds, transfers
from wallet.aws import dynamodb
from wallet.config import settings
from wallet.errors import BusinessRuleViolation
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.event_data import envelope_model, event_schemas
from wallet.models.events import EventType
from wallet.models.transfers import RefundRequest
from wallet.observability import metrics as powertools_metrics

Hook = Callable[..., Any]


@pytest.fixture
def world(lambdas: LocalLambdas) -> LedgerWorld:
    return build_world()


@pytest.fixture
def bus(embedded_aws: EmbeddedAws) -> Iterator[Callable[[str, Hook], None]]:
    """Installs failure hooks on the PutEvents calls the publisher makes; removed afterwards."""
    installed: list[tuple[str, Hook]] = []
    events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]

    def install(event_name: str, hook: Hook) -> None:
        events.register(event_name, hook)
        installed.append((event_name, hook))

    yield install
    for event_name, hook in installed:
        events.unregister(event_name, hook)


Drains = Callable[[int], list[float]]


@pytest.fixture
def drain_counting(
    streams: LocalStreams, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Drains:
    """Drains the streams so many times; answers the EventsNotPublished values the publisher emitted (EMF)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # off in the other tests
    powertools_metrics.clear_metrics()  # disabled, Powertools never flushed what earlier tests added

    def drain(times: int) -> list[float]:
        capsys.readouterr()
        for _ in range(times):
            streams.drain()
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return [value for line in lines for value in line.get("EventsNotPublished", [])]

    return drain


TRANSFER = "transfer.completed"


def _refusing(bus: Callable[[str, Hook], None], times: int, pick: Callable[[list[str]], int | None]) -> dict[str, int]:
    """The bus refuses, `times` times, the entry `pick` chooses among a call's entries (by their types)."""
    left = {"left": times}

    def choose(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        chosen = pick([entry["DetailType"] for entry in params["Entries"]]) if left["left"] else None
        if chosen is not None:
            context["refuse"] = chosen
            left["left"] -= 1

    def answer(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if "refuse" not in context:
            return None
        results: list[dict[str, str]] = [{"EventId": f"fake-{n}"} for n in range(len(context["put_events_entries"]))]
        results[context["refuse"]] = {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
        return AWSResponse("", 200, {}, None), {"FailedEntryCount": 1, "Entries": results}

    bus("provide-client-params.events.PutEvents", choose)
    bus("before-call.events.PutEvents", answer)
    return left


def _funded_pair(world: LedgerWorld, owner: str) -> tuple[str, str]:
    source = world.open_account(owner)
    world.credit(source, "100")
    return source, world.open_account(f"{owner}-payee")


def _outbox_events() -> list[dict[str, Any]]:
    items = dynamodb().scan(TableName=settings().outbox_table)["Items"]
    return [item for item in items if item["pk"].startswith("EVENT#")]


def _published(embedded_aws: EmbeddedAws) -> list[dict[str, Any]]:
    return [json.loads(entry["Detail"]) for entry in embedded_aws.outbox.events]


def _by_account(events: list[dict[str, Any]], key: str) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for event in events:
        order.setdefault(event["data"][key], []).append(event["id"])
    return order


def _transfers(world: LedgerWorld, count: int) -> None:
    """`count` transfers from accounts of their own and three from one account, in that order."""
    pairs = [_funded_pair(world, f"payer{index}") for index in range(count)]
    for index, (source, destination) in enumerate(pairs):
        _transfer_as(world, f"payer{index}", source, destination, "1.00", f"key-{index}")
    source, destination = pairs[0]
    for repeat in range(3):
        _transfer_as(world, "payer0", source, destination, "2.00", f"again-{repeat}")


def _transfer_as(world: LedgerWorld, owner: str, source: str, destination: str, amount: str, key: str) -> str:
    caller = world.customer(owner)
    prepared = transfers.prepare(caller, source, destination, Decimal(amount))
    return transfers.execute(caller, prepared, idempotency_key=key, fingerprint=f"fp-{key}").business_process_id


def _assert_each_published_once_in_order(embedded_aws: EmbeddedAws) -> None:
    written = sorted(_outbox_events(), key=lambda item: item["sk"])
    published = _published(embedded_aws)
    assert sorted(event["id"] for event in published) == sorted(item["id"] for item in written)
    transfers_written = [item for item in written if item["type"] == "transfer.completed"]
    transfers_published = [event for event in published if event["type"] == "transfer.completed"]
    assert _by_account(transfers_published, "sourceCoinSerial") == _by_account(transfers_written, "sourceCoinSerial")


def test_a_transfer_commits_one_event_with_its_money(world: LedgerWorld, streams: LocalStreams) -> None:
    source = world.open_account("ann")
    world.credit(source, "50")
    destination = world.open_account("bob")
    process_id = _transfer_as(world, "ann", source, destination, "10.00", "k1")
    again = _transfer_as(world, "ann", source, destination, "10.00", "k1")  # a replay: no second change
    with pytest.raises(BusinessRuleViolation):  # refused: no money moves, so no event
        _transfer_as(world, "ann", source, destination, "1000.00", "k2")
    [event] = [item for item in _outbox_events() if item["type"] == "transfer.completed"]
    assert again == process_id
    assert event["data"] == {
        "businessProcessId": process_id,
        "sourceCoinSerial": source,
        "destinationCoinSerial": destination,
        "amount": "10.00",
        "commission": "0.00",
        "totalAmount": "10.00",
        "currency": "EUR",
    }
    assert sorted(event["organizationIds"]) == ["org-ann", "org-bob"]


@pytest.mark.slow
def test_every_committed_event_reaches_the_bus_once_in_order(
    world: LedgerWorld, streams: LocalStreams, embedded_aws: EmbeddedAws
) -> None:
    _transfers(world, 12)
    streams.drain()
    _assert_each_published_once_in_order(embedded_aws)
    for published in _published(embedded_aws):  # each matches its type's published JSON Schema
        envelope_model(EventType(published["type"])).model_validate(published)
    streams.drain()  # nothing new: nothing sent again
    _assert_each_published_once_in_order(embedded_aws)


@pytest.mark.slow
def test_an_eventbridge_outage_loses_nothing_and_sends_nothing_twice(
    world: LedgerWorld, embedded_aws: EmbeddedAws, bus: Callable[[str, Hook], None], drain_counting: Drains
) -> None:
    _transfers(world, 12)
    outage = {"calls": 0}

    def unreachable(**_: Any) -> None:
        if outage["calls"] < 3:
            outage["calls"] += 1
            raise ClientError({"Error": {"Code": "InternalException", "Message": "down"}}, "PutEvents")

    bus("before-call.events.PutEvents", unreachable)
    emitted = drain_counting(5)  # each poll retries from where the last one stopped
    assert outage["calls"] == 3
    _assert_each_published_once_in_order(embedded_aws)
    assert len(emitted) == 3  # each failed call counted where EventsNotPublishedAlarm sees it
    assert min(emitted) >= 1


@pytest.mark.slow
def test_entries_the_bus_refuses_are_sent_again_without_resending_the_others(
    world: LedgerWorld, embedded_aws: EmbeddedAws, bus: Callable[[str, Hook], None], drain_counting: Drains
) -> None:
    _transfers(world, 12)
    refusals = _refusing(bus, 2, lambda types: 2 if len(types) > 3 else None)
    emitted = drain_counting(4)
    assert refusals["left"] == 0
    _assert_each_published_once_in_order(embedded_aws)
    assert emitted == [1, 1]  # each refusal counted where EventsNotPublishedAlarm sees it, nothing else


@pytest.mark.slow
def test_a_consumer_failing_midway_resends_only_what_did_not_reach_the_bus(
    world: LedgerWorld, streams: LocalStreams, embedded_aws: EmbeddedAws, bus: Callable[[str, Hook], None]
) -> None:
    _transfers(world, 12)
    calls = {"count": 0}

    def crash_on_the_second_call(**_: Any) -> None:
        calls["count"] += 1
        if calls["count"] == 2:
            raise RuntimeError("the function's container died")

    bus("before-call.events.PutEvents", crash_on_the_second_call)
    for _ in range(4):
        streams.drain()
    assert calls["count"] > 2
    _assert_each_published_once_in_order(embedded_aws)


def test_a_consumer_failing_before_it_publishes_loses_nothing(
    world: LedgerWorld, lambdas: LocalLambdas, streams: LocalStreams, embedded_aws: EmbeddedAws
) -> None:
    _transfers(world, 2)
    failures = {"left": 2}

    def throttled(**_: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "BatchGetItem")

    # The consumer's own client (its copy of the layer's), made before a session hook would not see it.
    client_events = lambdas.layer_module("PublisherFunction", "wallet.aws").dynamodb().meta.events
    client_events.register("before-call.dynamodb.BatchGetItem", throttled)
    try:
        for _ in range(4):
            streams.drain()
    finally:
        client_events.unregister("before-call.dynamodb.BatchGetItem", throttled)
    assert failures["left"] == 0
    _assert_each_published_once_in_order(embedded_aws)


def test_a_posting_over_the_transaction_limit_is_refused_before_writing(world: LedgerWorld) -> None:
    serial = world.open_account("cat")
    process_id = "too-many"
    emission = world.issuer_account("EUR", SystemAccount.EMISSION, process_id)
    legs = (Leg(emission, Decimal(-99)), *(Leg(ledger.customer_account(serial), Decimal(1)) for _ in range(99)))
    with pytest.raises(ValueError, match="one transaction takes 100"):
        ledger.post(Posting(process_id, "TEST_CREDIT", "EUR", legs))
    assert world.balance(serial) == (Decimal(0), Decimal(0))


def test_the_stream_filter_takes_only_new_events() -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "EVENT#"}]}}}}
    event = {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "EVENT#abc"}}}}
    assert matches(pattern, event)
    assert not matches(pattern, event | {"eventName": "REMOVE"})
    assert not matches(pattern, {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "PUBLISHED#x"}}}})


def test_every_event_type_has_a_json_schema() -> None:
    schemas = event_schemas()
    assert sorted(schemas) == sorted(event_type.value for event_type in EventType)
    transfer = schemas["transfer.completed"]
    assert transfer["properties"]["type"]["const"] == "transfer.completed"
    assert set(transfer["required"]) == {"id", "type", "occurredAt", "sequences", "data"}


def test_a_refund_and_each_change_of_an_accounts_status_commit_their_event(world: LedgerWorld) -> None:
    source = world.open_account("ann")
    world.credit(source, "50")
    destination = world.open_account("bob")
    paid = _transfer_as(world, "ann", source, destination, "10.00", "k1")
    request = RefundRequest(amount=Decimal("4.00"))
    done = refunds.refund(world.customer("bob"), paid, request, idempotency_key="r1", fingerprint="fp")
    refunds.refund(world.customer("bob"), paid, request, idempotency_key="r1", fingerprint="fp")  # a replay
    account_lifecycle.freeze(STAFF, destination)
    account_lifecycle.unfreeze(STAFF, destination)
    account_lifecycle.freeze(STAFF, destination)
    written = {item["type"]: [] for item in _outbox_events()}
    for item in _outbox_events():
        written[item["type"]].append(item["data"])
    [refunded] = written["transfer.refunded"]
    assert refunded["businessProcessId"] == done.business_process_id
    assert (refunded["refundOf"], refunded["amount"], refunded["currency"]) == (paid, "4.00", "EUR")
    assert "requestFingerprint" not in refunded
    assert [data["status"] for data in written["coin.frozen"]] == ["FROZEN", "FROZEN"]
    assert [data["coinSerial"] for data in written["coin.unfrozen"]] == [destination]


def test_an_accounts_events_carry_its_sequence_and_reach_the_bus_in_its_commit_order(
    world: LedgerWorld, streams: LocalStreams, embedded_aws: EmbeddedAws, bus: Callable[[str, Hook], None]
) -> None:
    """Transfers A->B and C->B interleave: B's events are streamed under their sources, yet each carries B's
    version after it, consecutive from the account's opening, and the bus gets them in B's commit order even
    when it refuses one (no later event of B goes out in the same call as an earlier one)."""
    a, c = world.open_account("a"), world.open_account("c")
    b = world.open_account("b")
    for source in (a, c):
        world.credit(source, "100")
    committed = [
        _transfer_as(world, owner, source, b, "1.00", f"{owner}-{turn}")
        for turn in range(3)
        for owner, source in (("a", a), ("c", c))
    ]
    refused = _refusing(bus, 1, lambda types: types.index(TRANSFER) if TRANSFER in types else None)
    for _ in range(3):
        streams.drain()
    assert refused["left"] == 0
    of_b = [event for event in _published(embedded_aws) if b in event["sequences"]]
    assert [event["type"] for event in of_b] == ["coin.opened"] + ["transfer.completed"] * 6
    assert [event["data"].get("businessProcessId") for event in of_b[1:]] == committed
    assert [event["sequences"][b] for event in of_b] == list(range(7))
    assert {event["sequences"][a] for event in of_b if event["data"].get("sourceCoinSerial") == a} == {2, 3, 4}
    [account] = [
        item for item in dynamodb().scan(TableName=settings().accounts_table)["Items"] if item.get("coinSerial") == b
    ]
    assert account["version"] == 6
