"""The embedded world enforces AWS's rules where moto alone is kinder (local/strict.py)."""

import json
import time
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas
from local.strict import EventuallyConsistentRead, normalised_number
from tests.conftest import TEMPLATE
from wallet import aws
from wallet.config import settings


@pytest.mark.parametrize(
    ("stored", "read_back"),
    [
        ("10.00", "10"),
        ("100", "100"),
        ("0.00", "0"),
        ("-0", "0"),
        ("-10.20", "-10.2"),
        ("007.50", "7.5"),
        ("1E+2", "100"),
    ],
)
def test_numbers_come_back_as_dynamodb_stores_them(stored: str, read_back: str) -> None:
    assert normalised_number(stored) == read_back


def test_the_world_stores_numbers_normalised(embedded_aws: EmbeddedAws) -> None:
    table = settings().accounts_table
    aws.dynamodb().put_item(TableName=table, Item={"pk": "n", "sk": "n", "amount": Decimal("10.00")})
    aws.dynamodb().update_item(
        TableName=table,
        Key={"pk": "n", "sk": "n"},
        UpdateExpression="ADD #total :x",
        ExpressionAttributeNames={"#total": "total"},
        ExpressionAttributeValues={":x": Decimal("0.50")},
    )
    item = aws.dynamodb().get_item(TableName=table, Key={"pk": "n", "sk": "n"}, ConsistentRead=True)["Item"]
    assert (str(item["amount"]), str(item["total"])) == ("10", "0.5")


def test_a_read_by_key_without_consistent_read_fails(embedded_aws: EmbeddedAws) -> None:
    key = {"pk": "k", "sk": "k"}
    with pytest.raises(EventuallyConsistentRead):
        aws.dynamodb().get_item(TableName=settings().accounts_table, Key=key)
    with pytest.raises(EventuallyConsistentRead):
        aws.dynamodb().batch_get_item(RequestItems={settings().accounts_table: {"Keys": [key]}})


def test_cancellation_reasons_are_injected_per_item_as_dynamodb_gives_them(embedded_aws: EmbeddedAws) -> None:
    assert embedded_aws.strict
    table = settings().accounts_table
    embedded_aws.strict.cancel_transaction(
        lambda item: "TransactionConflict" if item["Put"]["Item"]["pk"] == "b" else None
    )
    writes = [{"Put": {"TableName": table, "Item": {"pk": pk, "sk": "x"}}} for pk in ("a", "b")]
    with pytest.raises(ClientError) as cancelled:
        aws.dynamodb().transact_write_items(TransactItems=writes)
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled.value.response["CancellationReasons"]] == [
        "None",
        "TransactionConflict",
    ]
    aws.dynamodb().transact_write_items(TransactItems=writes)  # once only
    assert aws.dynamodb().scan(TableName=table, Select="COUNT")["Count"] >= 2


@pytest.mark.parametrize(("sort_key", "actual"), [(None, "NULL"), (Decimal(7), "N"), ({"at": "2026"}, "M")])
def test_an_index_key_of_another_type_than_declared_is_refused_by_every_put(
    embedded_aws: EmbeddedAws, sort_key: object, actual: str
) -> None:
    """gsi1sk is declared a string: AWS refuses a write giving it another type, NULL included (moto took
    a NULL index key in a transaction or a batch, and any other type everywhere). Without it, the index
    simply leaves the item out."""
    table, client = settings().payment_tools_table, aws.dynamodb()
    item = {"pk": "CARD#1", "sk": "CARD", "gsi1pk": "CARDS#org", "gsi1sk": sort_key}
    expected = (
        "One or more parameter values were invalid: Type mismatch for Index Key gsi1sk "
        f"Expected: S Actual: {actual} IndexName: gsi1"
    )
    for write in (
        lambda: client.put_item(TableName=table, Item=item),
        lambda: client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}]),
        lambda: client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]}),
    ):
        with pytest.raises(ClientError) as refused:
            write()
        assert (refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]) == (
            "ValidationException",
            expected,
        )
    assert client.scan(TableName=table)["Items"] == []
    sparse = {key: value for key, value in item.items() if key != "gsi1sk"}
    client.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": sparse}}])
    assert client.scan(TableName=table)["Items"] == [sparse]


def _run(definition: dict[str, Any]) -> dict[str, Any]:
    client = boto3.client("stepfunctions")
    machine = client.create_state_machine(
        name=f"m{time.monotonic_ns()}", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )
    execution = client.start_execution(stateMachineArn=machine["stateMachineArn"], input="{}")
    deadline = time.monotonic() + 20
    while True:
        described = client.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(described)
        time.sleep(0.05)


RUNTIME_ERROR_CAUGHT_BY_STATES_ALL = {
    "StartAt": "Broken",
    "States": {
        # A path missing from the input is a States.Runtime error, raised before the task is called.
        "Broken": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "nothing", "Payload": {"missing.$": "$.notThere"}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Succeed"},
    },
}


def test_states_all_does_not_catch_a_runtime_error(embedded_aws: EmbeddedAws) -> None:
    assert _run(RUNTIME_ERROR_CAUGHT_BY_STATES_ALL)["status"] == "FAILED"


def test_moto_alone_would_catch_it() -> None:
    """What the strict world changes: without it, moto's States.ALL catches States.Runtime."""
    with EmbeddedAws(TEMPLATE, strict=False):
        assert _run(RUNTIME_ERROR_CAUGHT_BY_STATES_ALL)["status"] == "SUCCEEDED"


def test_a_lambda_task_result_the_runtime_cannot_serialise_fails_the_invocation(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto would pass it on as text; the Lambda runtime refuses it (a Decimal it turns into a float)."""
    monkeypatch.setitem(lambdas._handlers, "AmlCheckFunction", lambda event, context: {"at": object()})
    arn = embedded_function_arn(lambdas, "AmlCheckFunction")
    refused = boto3.client("lambda").invoke(FunctionName=arn, Payload=b"{}")
    assert refused["FunctionError"] == "Unhandled"
    assert json.loads(refused["Payload"].read())["errorType"] == "Runtime.MarshalError"
    monkeypatch.setitem(lambdas._handlers, "AmlCheckFunction", lambda event, context: {"amount": Decimal("1.50")})
    answered = boto3.client("lambda").invoke(FunctionName=arn, Payload=b"{}")
    assert json.loads(answered["Payload"].read()) == {"amount": 1.5}


def embedded_function_arn(lambdas: LocalLambdas, function: str) -> str:
    return lambdas.aws.references[f"{function}.Arn"]
