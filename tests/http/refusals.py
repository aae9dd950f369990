"""Refusals over HTTP: the error shape they answer in, and one world that many refusals share.

A world per test was a third of the suite's CPU for tests that each send one request the API must refuse. They
share one world per module instead, and each proves it left that world as it found it (every table's items,
every message sent, every workflow execution): a refusal writes nothing, so the next test sees the world a
fresh one would show it."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from local.aws import EmbeddedAws
from tests.conftest import ADMIN_LOGIN, ADMIN_PASSWORD, Api, embedded_world, running_functions, served

# The shared world's tokens outlive the module's tests on a busy machine (an expired token is its own test case).
SHARED_WORLD_PARAMETERS = {"TokenTtlMinutes": "1440"}


def assert_error(answer: Any, status: int, code: str, field: str | None = None) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    if field:
        assert field in [detail["field"] for detail in body["details"]], body
    return body  # type: ignore[no-any-return]


def world_contents(world: EmbeddedAws) -> dict[str, Any]:
    """What a request can leave behind in the world."""
    dynamodb, stepfunctions = boto3.client("dynamodb"), boto3.client("stepfunctions")
    tables = {
        table: sorted(
            json.dumps(item, sort_keys=True)
            for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
            for item in page["Items"]
        )
        for table in dynamodb.list_tables()["TableNames"]
    }
    executions = [
        execution["executionArn"]
        for machine in stepfunctions.list_state_machines()["stateMachines"]
        for execution in stepfunctions.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    ]
    return {"tables": tables, "messages": world.outbox.records(), "executions": executions}


@dataclass
class SharedWorld:
    world: EmbeddedAws
    api: Api
    admin_token: str
    tokens: dict[str, str] = field(default_factory=dict)
    contents: dict[str, Any] = field(default_factory=dict)

    def remember(self) -> None:
        """Takes the world as it now stands as the one each test must leave."""
        self.contents = world_contents(self.world)

    def assert_unchanged(self) -> None:
        now = world_contents(self.world)
        changed, self.contents = now != self.contents, now  # the next test is judged on its own change only
        assert not changed, "a refused request changed the world"


@contextmanager
def shared_world() -> Iterator[SharedWorld]:
    """A world, served, with an administrator's token (a module adds what its tests need, then `remember()`s)."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        embedded_world(SHARED_WORLD_PARAMETERS) as world,
        running_functions(world, monkeypatch) as runtime,
        served(runtime) as api,
    ):
        yield SharedWorld(world, api, api.token(ADMIN_LOGIN, ADMIN_PASSWORD))
