"""Worlds restored from a provisioned copy (local/moto_snapshot.py, EmbeddedAws._restore): each is the world that
provisioning makes, with its own id and its own generated secrets, and none sees what an earlier one wrote."""

import json
import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import botocore_stubber
from moto.stepfunctions.parser.backend.execution import Execution

from local import aws as local_aws
from local.aws import EmbeddedAws
from tests.conftest import ADMIN_PASSWORD, TEMPLATE, _forget_cached_clients, running_functions
from wallet import logins

PARAMETERS = {"AdminLogin": "admin@wallet.test", "SystemAccountShards": "4"}


def _described() -> dict[str, Any]:
    """What a world's resources look like through the API, its data and ids aside."""
    dynamodb, sqs, stepfunctions = boto3.client("dynamodb"), boto3.client("sqs"), boto3.client("stepfunctions")
    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        tables[name] = {key: table.get(key) for key in ("KeySchema", "GlobalSecondaryIndexes", "StreamSpecification")}
        tables[name]["ttl"] = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        tables[name]["items"] = dynamodb.scan(TableName=name)["Count"]
    queues = {
        url.rsplit("/", 1)[1]: sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy", "ApproximateNumberOfMessages"]
        )["Attributes"]
        for url in sqs.list_queues()["QueueUrls"]
    }
    events = boto3.client("events")
    rules = {
        rule["Name"]: (rule["EventPattern"], events.list_targets_by_rule(Rule=rule["Name"])["Targets"])
        for rule in events.list_rules()["Rules"]
    }
    machines = {
        machine["name"]: stepfunctions.describe_state_machine(stateMachineArn=machine["stateMachineArn"])["definition"]
        for machine in stepfunctions.list_state_machines()["stateMachines"]
    }
    secrets = sorted(secret["Name"] for secret in boto3.client("secretsmanager").list_secrets()["SecretList"])
    identities = boto3.client("ses").list_identities()["Identities"]
    return {
        "tables": tables,
        "queues": queues,
        "rules": rules,
        "machines": machines,
        "secrets": secrets,
        "ses": identities,
    }


def _secret(world: EmbeddedAws, name: str) -> str:
    client = boto3.client("secretsmanager")
    [version] = client.list_secret_version_ids(SecretId=world.references[name])["Versions"]  # as provisioned: one
    return str(client.get_secret_value(SecretId=world.references[name], VersionId=version["VersionId"])["SecretString"])


def _naming(value: Any, text: str, path: str, seen: set[int]) -> list[str]:
    """Where in moto's objects `text` is written: the path of each string holding it."""
    if isinstance(value, str):
        return [path] if text in value else []
    if id(value) in seen or isinstance(value, type):
        return []
    seen.add(id(value))
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _naming(item, text, f"{path}[{key!r}]", seen)]
    if isinstance(value, list | tuple | set):
        return [found for index, item in enumerate(value) for found in _naming(item, text, f"{path}[{index}]", seen)]
    if hasattr(value, "__dict__"):
        return _naming(vars(value), text, f"{path}<{type(value).__name__}>", seen)
    return []


def _put_user_item(world: EmbeddedAws, pk: str, sk: str) -> None:
    boto3.client("dynamodb").put_item(TableName=world.references["UsersTable"], Item={"pk": {"S": pk}, "sk": {"S": sk}})


def _write_something(world: EmbeddedAws) -> None:
    _put_user_item(world, "written", "by a test")
    boto3.client("sqs").send_message(QueueUrl=world.references["WebhookEventsQueue"], MessageBody="{}")


def test_a_restored_world_is_the_provisioned_one_with_its_own_id_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_aws, "_SEEDED", {})

    def world() -> EmbeddedAws:
        return EmbeddedAws(TEMPLATE, parameters=PARAMETERS, secret_values={"AdminPasswordSecret": ADMIN_PASSWORD})

    with world() as provisioned:
        expected = _described()
        first = (provisioned.world_id, _secret(provisioned, "TokenSigningSecret"), dict(provisioned.references))
        _write_something(provisioned)
    assert first[0] in json.dumps(expected["machines"])  # the Lambda tasks name the world
    # ... and nothing else moto keeps does, so the restore's renaming misses none.
    [kept] = local_aws._SEEDED[TEMPLATE].values()
    places = _naming(kept.moto.backends, first[0], "", set())
    assert places
    assert all(place.endswith("<StateMachine>['definition']") for place in places), places

    def not_again() -> None:
        raise AssertionError("a world of the same template and parameters is provisioned again")

    monkeypatch.setattr(EmbeddedAws, "_provision", not_again)
    seen = [first]
    for _ in range(2):  # the second restore must not see what the first restored world wrote
        with world() as restored:
            described = _described()
            assert described["machines"] == {
                name: definition.replace(first[0], restored.world_id)
                for name, definition in expected["machines"].items()
            }
            assert first[0] not in json.dumps(described["machines"])
            assert described == expected | {"machines": described["machines"]}
            assert restored.references == {
                name: value.replace(first[0], restored.world_id) for name, value in first[2].items()
            }
            token_key = _secret(restored, "TokenSigningSecret")
            assert token_key not in {secret for _, secret, _ in seen}  # each deployment generates its own
            assert _secret(restored, "AdminPasswordSecret") == ADMIN_PASSWORD
            seen.append((restored.world_id, token_key, restored.references))
            _write_something(restored)


def test_a_world_stops_with_an_execution_that_has_not_begun(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Execution, "start", lambda self: None)  # its thread never begins: it has no status
    world = EmbeddedAws(TEMPLATE, parameters=PARAMETERS).start()
    boto3.client("stepfunctions").start_execution(stateMachineArn=world.references["ApprovalWorkflow"], input="{}")
    world.stop()
    assert not botocore_stubber.enabled  # moto is stopped: the next world starts afresh


def test_a_seeded_step_runs_once_per_kind_and_leaves_the_unseeded_kind_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local_aws, "_SEEDED", {})
    runs: list[str] = []

    def seeded(world: EmbeddedAws) -> None:
        runs.append(world.world_id)
        _write_something(world)

    for _ in range(2):
        with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world:
            world.seed("written", lambda: seeded(world))
            assert _described()["tables"]["UsersTable"]["items"] == 1
    assert len(runs) == 1
    with EmbeddedAws(TEMPLATE, parameters=PARAMETERS):
        assert _described()["tables"]["UsersTable"]["items"] == 0
    with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world:
        _put_user_item(world, "written", "first")
        world.seed("written", lambda: seeded(world))  # on what the test wrote: run, not restored over it
        assert _described()["tables"]["UsersTable"]["items"] == 2
    assert len(runs) == 2


def test_a_late_workflow_thread_never_sets_up_the_next_worlds_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """A workflow thread of an ended world makes its Lambda client whenever it reaches its step (moto's
    boto_client_for: boto3.client). Had boto3 no default session then, the thread set one up, and could set it
    after the next world had set up its own: that world's e-mails went out unseen by its outbox."""
    reached, released = threading.Event(), threading.Event()
    set_up = boto3.setup_default_session

    def late(**kwargs: Any) -> None:  # a thread's set-up held until the next world has started
        if threading.current_thread() is not threading.main_thread():
            reached.set()
            released.wait(5)
        set_up(**kwargs)

    monkeypatch.setattr(boto3, "setup_default_session", late)
    EmbeddedAws(TEMPLATE, parameters=PARAMETERS).start().stop()
    thread = threading.Thread(target=boto3.client, args=("lambda",), daemon=True)
    thread.start()
    reached.wait(0.5)  # without a default session the thread gets here at once; with one it never does
    world = EmbeddedAws(TEMPLATE, parameters=PARAMETERS).start()
    try:
        released.set()
        thread.join(5)
        boto3.client("ses").send_email(
            Source=world.references["SenderEmail"],
            Destination={"ToAddresses": ["late@example.com"]},
            Message={"Subject": {"Data": "S"}, "Body": {"Text": {"Data": "B"}}},
        )
        assert [message["body"] for message in world.outbox.records("late@example.com")] == ["B"]
    finally:
        world.stop()


def test_a_step_on_a_world_already_written_to_is_not_kept_for_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_aws, "_SEEDED", {})
    with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world:
        _write_something(world)
        world.seed("written", lambda: _write_something(world))  # the same item again: still one
    with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world:
        _put_user_item(world, "seeded", "only")
        assert _described()["tables"]["UsersTable"]["items"] == 1
    with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world:
        world.seed("written", lambda: None)  # run here, as nothing was kept: no item from the first world
        assert _described()["tables"]["UsersTable"]["items"] == 0


def test_a_bootstrap_that_reads_a_generated_password_is_run_in_each_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_aws, "_SEEDED", {})
    for _ in range(2):
        _forget_cached_clients()
        with EmbeddedAws(TEMPLATE, parameters=PARAMETERS) as world, running_functions(world, monkeypatch):
            for name, value in world.process_environment().items():
                monkeypatch.setenv(name, value)
            password = boto3.client("secretsmanager").get_secret_value(
                SecretId=world.references["AdminPasswordSecret"]
            )["SecretString"]
            assert logins.log_in(PARAMETERS["AdminLogin"], password).members
    _forget_cached_clients()


def test_moto_mock_aws_started_in_a_world_nests_in_it(embedded_aws: EmbeddedAws) -> None:
    with mock_aws():  # neither resets the world's moto nor stops it at its end
        pass
    table = boto3.client("dynamodb").describe_table(TableName=embedded_aws.references["UsersTable"])["Table"]
    assert table["TableStatus"] == "ACTIVE"


def test_a_world_refuses_to_start_inside_moto_mock_aws() -> None:
    with mock_aws(), pytest.raises(RuntimeError, match="cannot start inside moto's mock_aws"):
        EmbeddedAws(TEMPLATE, parameters=PARAMETERS).start()
