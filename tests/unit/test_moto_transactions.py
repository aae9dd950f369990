"""The embedded world's TransactWriteItems (local/moto_transactions.py): a cancelled transaction leaves every item
and every stream record as it found them; a committed one writes each of its items once."""

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.aws import EmbeddedAws
from wallet.config import settings


def _contents(table: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table's items and its stream's records."""
    items = boto3.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    streams = boto3.client("dynamodbstreams")
    stream_arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"])), [r["dynamodb"] for r in records]


def _writes(table: str, *, condition_holds: bool) -> list[dict[str, Any]]:
    """One of each kind of write, on items that exist and items that do not, then a condition check."""
    key = {"pk": {"S": "kept"}, "sk": {"S": "1"}}
    return [
        {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}, "sk": {"S": "1"}, "n": {"N": "1"}}}},
        {"Put": {"TableName": table, "Item": {"pk": {"S": "replaced"}, "sk": {"S": "1"}, "n": {"N": "2"}}}},
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "updated"}, "sk": {"S": "1"}},
                "UpdateExpression": "SET n = n + :one, m = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "created by update"}, "sk": {"S": "1"}},
                "UpdateExpression": "SET n = :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "deleted"}, "sk": {"S": "1"}}}},
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": key,
                "ConditionExpression": "attribute_exists(pk)" if condition_holds else "attribute_not_exists(pk)",
            }
        },
    ]


@pytest.fixture
def outbox_table(embedded_aws: EmbeddedAws) -> str:
    """The outbox (a table with a stream), holding the items the writes find."""
    table = settings().outbox_table
    for pk in ("kept", "replaced", "updated", "deleted"):
        boto3.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": "1"}, "n": {"N": "5"}})
    return table


def test_a_cancelled_transaction_leaves_every_item_and_stream_record_as_it_was(outbox_table: str) -> None:
    before = _contents(outbox_table)
    with pytest.raises(ClientError) as cancelled:
        boto3.client("dynamodb").transact_write_items(TransactItems=_writes(outbox_table, condition_holds=False))
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _contents(outbox_table) == before
    # The table still takes writes after the rollback, its stream numbered on from where it was.
    boto3.client("dynamodb").transact_write_items(TransactItems=_writes(outbox_table, condition_holds=True))
    _, records = _contents(outbox_table)
    assert records[: len(before[1])] == before[1]
    numbers = [int(record["SequenceNumber"]) for record in records]
    assert numbers == list(range(numbers[0], numbers[0] + len(records)))


def test_a_committed_transaction_writes_each_item(outbox_table: str) -> None:
    _, records_before = _contents(outbox_table)
    boto3.client("dynamodb").transact_write_items(TransactItems=_writes(outbox_table, condition_holds=True))
    items, records = _contents(outbox_table)
    assert {item["pk"]["S"]: item.get("n", {}).get("N") for item in items} == {
        "kept": "5",
        "new": "1",
        "replaced": "2",
        "updated": "6",
        "created by update": "1",
    }
    # In write order (moto records an update that creates its item twice: as the insert, then as the change).
    assert list(dict.fromkeys(record["Keys"]["pk"]["S"] for record in records[len(records_before) :])) == [
        "new",
        "replaced",
        "updated",
        "created by update",
        "deleted",
    ]
