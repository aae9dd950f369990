"""AWS clients, created once per container on first use, and the one read a call may put off until it changes
something."""

from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from typing import Any, NamedTuple

import boto3

# Operations that change nothing: every other one first makes a deferred read still due.
READING_OPERATIONS = ("Get", "BatchGet", "Query", "Scan", "Describe", "List")


class DeferredRead(NamedTuple):
    """A strongly consistent read of one item whose `check` must pass before the call changes anything (the
    caller's token state): it rides in the call's first BatchGetItem (wallet.dynamo.batch_get), and is made on
    its own before any change on any service, or when the call ends, if it is still due then."""

    table: str
    key: dict[str, Any]
    projection: str
    check: Callable[[dict[str, Any] | None], None]


deferred_read: ContextVar[DeferredRead | None] = ContextVar("deferred_read", default=None)


def settle_deferred_read() -> None:
    """Makes the deferred read now (one GetItem) if it is still due; its check may raise."""
    due = deferred_read.get()
    if due is None:
        return
    deferred_read.set(None)
    answer = dynamodb().get_item(
        TableName=due.table, Key=due.key, ConsistentRead=True, ProjectionExpression=due.projection
    )
    due.check(answer.get("Item"))


def _settle_before_changes(model: Any, **_: Any) -> None:
    if not model.name.startswith(READING_OPERATIONS):
        settle_deferred_read()


def _guarded(client: Any) -> Any:
    client.meta.events.register("before-call", _settle_before_changes)
    return client


@cache
def dynamodb() -> Any:
    # The resource's client converts between Python values and DynamoDB's typed JSON.
    return _guarded(boto3.resource("dynamodb").meta.client)


@cache
def ses() -> Any:
    return _guarded(boto3.client("ses"))


@cache
def sns() -> Any:
    return _guarded(boto3.client("sns"))


@cache
def stepfunctions() -> Any:
    return _guarded(boto3.client("stepfunctions"))


@cache
def events() -> Any:
    return _guarded(boto3.client("events"))


@cache
def secrets() -> Any:
    """Powertools' secrets provider (it caches values) on a client made like the others."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    return SecretsProvider(boto3_client=boto3.client("secretsmanager"))


@cache
def sqs() -> Any:
    return _guarded(boto3.client("sqs"))


@cache
def lambda_() -> Any:
    return boto3.client("lambda")


def forget_clients() -> None:
    """The next call of each factory creates its client anew (after a SnapStart restore)."""
    for factory in (dynamodb, ses, sns, stepfunctions, events, secrets, sqs, lambda_):
        factory.cache_clear()
