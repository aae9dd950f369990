"""The reconciliation job: its report's figures per currency and per issuer, a tampered ledger's issues and
the metric its alarm watches, the report kept as the latest, and the parallel scan reading every segment."""

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local.lambdas import LocalLambdas
from tests.unit.ledger_world import STAFF, LedgerWorld, build_world
from wallet import catalog, clock, ledger, reconciliation, reconciliation_store
from wallet.config import settings
from wallet.dynamo import every_item
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.models.catalog import NewIssuer
from wallet.observability import metrics as powertools_metrics


@pytest.fixture
def world(lambdas: LocalLambdas) -> LedgerWorld:
    world = build_world()
    world.issuers["EUR2"] = catalog.add_issuer(NewIssuer(currency_code="EUR", name="Second EUR issuer"), STAFF)
    return world


def _fund(world: LedgerWorld) -> dict[str, str]:
    serials = {
        "alice": world.open_account("alice"),
        "bob": world.open_account("bob"),
        "bob2": world.open_account("bob", "EUR2"),  # under the second EUR issuer
        "carol": world.open_account("carol", "JPY"),
    }
    world.credit(serials["alice"], "100.00")
    world.credit(serials["bob"], "30.25")
    world.credit(serials["carol"], "500", "JPY")
    emission = world.issuer_account("EUR2", SystemAccount.EMISSION, "credit-bob2")
    value = Decimal("7.10")
    legs = (Leg(emission, -value), Leg(ledger.customer_account(serials["bob2"]), value))
    ledger.post(Posting("credit-bob2", "TEST_CREDIT", "EUR", legs))
    return serials


def _accounts_by_issuer() -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in every_item("scan", TableName=settings().accounts_table):
        counts[item["issuerId"]] = counts.get(item["issuerId"], 0) + 1
    return counts


def _run(
    lambdas: LocalLambdas, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scheduled event through the job's handler: its answer, and the metrics it emitted (EMF)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # off in the other tests
    powertools_metrics.clear_metrics()  # disabled, Powertools never flushed what earlier tests in this process added
    capsys.readouterr()
    answer = lambdas.invoke("ReconciliationFunction", {"trigger": "SCHEDULE"})
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = [line for line in emitted if "ReconciliationIssues" in line]
    return answer, metrics


def test_a_clean_ledger_reports_each_currency_and_issuer_balanced(
    world: LedgerWorld,
    lambdas: LocalLambdas,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fund(world)
    answer, metrics = _run(lambdas, capsys, monkeypatch)

    report = reconciliation_store.latest()
    assert report is not None
    assert (answer["reportId"], answer["clean"], answer["issueCount"]) == (report.report_id, True, 0)
    assert report.clean
    assert report.issues == []
    assert report.trigger == "SCHEDULE"
    accounts = _accounts_by_issuer()
    eur, eur2, jpy = (world.issuers[code].id for code in ("EUR", "EUR2", "JPY"))
    assert {(total.issuer_id, total.currency, str(total.total), total.accounts) for total in report.issuers} == {
        (eur, "EUR", "0.00", accounts[eur]),
        (eur2, "EUR", "0.00", accounts[eur2]),
        (jpy, "JPY", "0", accounts[jpy]),
    }
    assert [(total.currency, str(total.total), total.accounts) for total in report.currencies] == [
        ("EUR", "0.00", accounts[eur] + accounts[eur2]),
        ("JPY", "0", accounts[jpy]),
    ]
    assert report.items_scanned == sum(accounts.values()) + 2 * 4  # each posting here has two legs
    assert metrics["ReconciliationIssues"] == [0]


def test_a_tampered_balance_is_reported_and_counted_in_the_metric(
    world: LedgerWorld,
    lambdas: LocalLambdas,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serials = _fund(world)
    boto3.client("dynamodb").update_item(  # money made outside the ledger: no entry, no counterpart
        TableName=settings().accounts_table,
        Key={"pk": {"S": ledger.customer_account(serials["bob2"])}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET available = :made",
        ExpressionAttributeValues={":made": {"N": "12.10"}},
    )
    answer, metrics = _run(lambdas, capsys, monkeypatch)

    report = reconciliation_store.latest()
    assert report is not None
    eur2 = world.issuers["EUR2"].id
    assert {(issue.kind, issue.subject, issue.detail) for issue in report.issues} == {
        (
            "BALANCE_DIFFERS_FROM_JOURNAL",
            f"{ledger.customer_account(serials['bob2'])} available",
            "balance 12.10, journal 7.10",
        ),
        ("ISSUER_NOT_BALANCED", f"{eur2} EUR", "sum 5.00"),
        ("CURRENCY_NOT_BALANCED", "EUR", "sum 5.00"),
    }
    assert (answer["clean"], answer["issueCount"], report.issue_count) == (False, 3, 3)
    totals = {total.issuer_id: str(total.total) for total in report.issuers}
    assert totals == {world.issuers["EUR"].id: "0.00", eur2: "5.00", world.issuers["JPY"].id: "0"}
    assert metrics["ReconciliationIssues"] == [3]
    # What ReconciliationAlarm watches: namespace Wallet, dimension service=wallet.
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Wallet"
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert metrics["service"] == "wallet"


def test_the_parallel_scan_reads_every_segment(world: LedgerWorld) -> None:
    _fund(world)
    one = reconciliation.reconcile(segments=1)
    for segments in (2, 5, 16):
        assert reconciliation.reconcile(segments=segments) == one
    assert one.clean


def test_a_run_that_started_earlier_does_not_replace_a_later_report(world: LedgerWorld) -> None:
    from wallet.models.accounts import ReconciliationRun

    later = reconciliation.run(ReconciliationRun())
    earlier = later.model_copy(update={"report_id": "earlier", "started_at": "2000-01-01T00:00:00.000Z"})
    assert not reconciliation_store.put_latest(earlier)
    latest = reconciliation_store.latest()
    assert latest is not None
    assert latest.report_id == later.report_id
    assert clock.iso(clock.now()) >= later.finished_at >= later.started_at


def test_issues_past_the_reported_number_are_counted_not_listed(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet.models.accounts import ReconciliationRun

    serials = _fund(world)
    monkeypatch.setattr(reconciliation, "MAX_REPORTED_ISSUES", 1)
    boto3.client("dynamodb").update_item(
        TableName=settings().accounts_table,
        Key={"pk": {"S": ledger.customer_account(serials["alice"])}, "sk": {"S": "ACCOUNT"}},
        UpdateExpression="SET available = :made",
        ExpressionAttributeValues={":made": {"N": "101.00"}},
    )
    report = reconciliation.run(ReconciliationRun())
    assert (len(report.issues), report.issue_count, report.clean) == (1, 3, False)


def test_a_difference_seen_by_one_pass_only_is_not_reported(
    world: LedgerWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A posting committing while the tables are read shows for one pass; the confirming pass clears it."""
    from wallet.models.accounts import ReconciliationRun

    serials = _fund(world)
    key = {"pk": {"S": ledger.customer_account(serials["alice"])}, "sk": {"S": "ACCOUNT"}}
    table = settings().accounts_table
    client = boto3.client("dynamodb")
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET available = :moved",
        ExpressionAttributeValues={":moved": {"N": "90.00"}},
    )
    passes = reconciliation._reconcile

    def in_flight_then_committed(segments: int) -> tuple[Any, int]:
        answer = passes(segments)  # the first pass sees the balance without its entry
        client.update_item(  # ... which the second finds as the journal says
            TableName=table,
            Key=key,
            UpdateExpression="SET available = :settled",
            ExpressionAttributeValues={":settled": {"N": "100.00"}},
        )
        return answer

    monkeypatch.setattr(reconciliation, "_reconcile", in_flight_then_committed)
    report = reconciliation.run(ReconciliationRun())
    assert report.clean
    assert report.issue_count == 0
    assert report.items_scanned == 2 * (sum(_accounts_by_issuer().values()) + 2 * 4)  # both passes read all
