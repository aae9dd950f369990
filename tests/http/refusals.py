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

import pytest
from moto.dynamodb.models import dynamodb_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from local.aws import ACCOUNT_ID, REGION, EmbeddedAws
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
    """What a request can leave behind in the world, read from moto's own stores: every table's items (as a
    consistent scan would return them), every message sent and every workflow execution. (Reading them through
    the API, a scan per table after each test, was a third of the shared world's time.)"""
    tables = {
        name: sorted(json.dumps(item.to_json(), sort_keys=True) for item in table.all_items())
        for name, table in dynamodb_backends[ACCOUNT_ID][REGION].tables.items()
    }
    executions = [
        execution.execution_arn
        for machine in stepfunctions_parser_backends[ACCOUNT_ID][REGION].state_machines
        for execution in machine.executions
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
