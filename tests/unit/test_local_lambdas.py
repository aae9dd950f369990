"""Each function runs as in its own container: exactly its own variables and Lambda's reserved ones, its own copy
of the layer and its caches, its Timeout and the real remaining time (one process running every function would
share them all, and moto runs every function with one environment)."""

import json
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from local.aws import EmbeddedAws
from local.lambdas import FunctionTimedOut, LocalLambdas
from tests.conftest import Api, embedded_world, running_functions

EVENTS = Path(__file__).parents[2] / "events"
SUBJECT = json.loads((EVENTS / "card_provider/screening-subject.json").read_text())


@pytest.fixture
def world_parameters() -> dict[str, str]:
    return {"AmlDeniedNames": "Mallory Denied"}


def _instead_of_screening(
    lambdas: LocalLambdas, function: str, step: str, monkeypatch: pytest.MonkeyPatch, instead: Any
) -> None:
    """Runs `instead(real step, subject)` when the function screens, in the function's own copy of the layer."""
    screening = lambdas.layer_module(function, "wallet.screening")
    real = getattr(screening, step)
    monkeypatch.setattr(screening, step, lambda subject: instead(real, subject))


def _environment_seen(
    lambdas: LocalLambdas, function: str, step: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    seen: dict[str, str] = {}

    def recording(real: Any, subject: Any) -> Any:
        seen.update(os.environ)
        return real(subject)

    _instead_of_screening(lambdas, function, step, monkeypatch, recording)
    lambdas.invoke(function, SUBJECT)
    return seen


def test_a_function_reading_a_variable_it_was_not_given_fails(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert os.environ["APPROVAL_WORKFLOW_ARN"]  # the process has every function's variables (the layer's tests)

    def reading_the_workflow(real: Any, subject: Any) -> Any:
        return real(subject) if os.environ["APPROVAL_WORKFLOW_ARN"] else None  # given to RequestsFunction only

    _instead_of_screening(lambdas, "CardProviderFunction", "card_provider", monkeypatch, reading_the_workflow)
    with pytest.raises(KeyError, match="APPROVAL_WORKFLOW_ARN"):
        lambdas.invoke("CardProviderFunction", SUBJECT)


def test_each_function_sees_its_own_variables_and_lambdas_reserved_ones_with_its_own_values(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = _environment_seen(lambdas, "CardProviderFunction", "card_provider", monkeypatch)
    aml = _environment_seen(lambdas, "AmlCheckFunction", "aml_check", monkeypatch)
    for name, seen in (("CardProviderFunction", provider), ("AmlCheckFunction", aml)):
        assert seen["AWS_LAMBDA_FUNCTION_NAME"] == name
        assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "us-east-1"
        assert seen["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"  # the template's Globals
        assert seen["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        assert seen["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
        assert seen["_HANDLER"] == "app.lambda_handler"
        assert seen["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3")
        assert seen["USERS_TABLE"]  # the template's Globals reach every function
    assert Path(provider["LAMBDA_TASK_ROOT"]).name == "card_provider"
    assert Path(aml["LAMBDA_TASK_ROOT"]).name == "aml_check"
    assert provider["CARD_PROVIDER_LIMIT"]
    assert "CARD_PROVIDER_LIMIT" not in aml
    assert aml["AML_DENIED_NAMES"] == "Mallory Denied"
    assert "AML_DENIED_NAMES" not in provider
    for given_to_others in ("APPROVAL_WORKFLOW_ARN", "WEBHOOK_QUEUE_URL", "ADMIN_LOGIN"):
        assert given_to_others not in provider
        assert given_to_others not in aml
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ  # the test's own thread is no function


def test_a_function_makes_its_clients_with_its_own_aws_settings(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(lambdas._variables["CardProviderFunction"], "AWS_MAX_ATTEMPTS", "7")  # given to it alone
    retries = []

    def making_a_client(real: Any, subject: Any) -> Any:
        retries.append(boto3.client("sqs").meta.config.retries)
        return real(subject)

    _instead_of_screening(lambdas, "CardProviderFunction", "card_provider", monkeypatch, making_a_client)
    lambdas.invoke("CardProviderFunction", SUBJECT)
    assert retries == [{"mode": "legacy", "total_max_attempts": 7}]


def test_each_function_has_its_own_copy_of_the_layer_and_its_caches(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    aml_config = lambdas.layer_module("AmlCheckFunction", "wallet.config")
    provider_config = lambdas.layer_module("CardProviderFunction", "wallet.config")
    assert aml_config is not provider_config
    lambdas.invoke("AmlCheckFunction", SUBJECT)
    lambdas.invoke("CardProviderFunction", SUBJECT)
    # Each function's settings were read from its own environment, into its own cache.
    assert aml_config.settings().aml_denied_names == "Mallory Denied"
    assert provider_config.settings().aml_denied_names == ""


def test_a_new_runtime_starts_the_functions_cold(lambdas: LocalLambdas, embedded_aws: EmbeddedAws) -> None:
    lambdas.invoke("AmlCheckFunction", SUBJECT)
    config = lambdas.layer_module("AmlCheckFunction", "wallet.config")
    limits = lambdas.layer_module("TransfersFunction", "wallet.limits")
    limits._rules_cache[("TRANSFER", "EUR", "individual", "c-1")] = (time.monotonic() + 30, None)
    assert config.settings.cache_info().currsize == 1
    lambdas.close()
    LocalLambdas(embedded_aws).close()  # a new deployment: its containers start with nothing cached
    assert config.settings.cache_info().currsize == 0
    assert limits._rules_cache == {}


def test_a_functions_clients_outlive_their_world_but_no_worlds_hooks_outlive_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new world keeps a function's AWS clients (making one costs milliseconds); each call of a kept client runs
    the hooks of the world running, never those of the world it was made in."""
    seen: list[str] = []

    def described(world: EmbeddedAws, client: Any) -> None:
        client.describe_table(TableName=world.references["UsersTable"])

    def hooked(name: str) -> None:
        def hook(**_: Any) -> None:
            seen.append(name)

        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("provide-client-params.dynamodb.DescribeTable", hook)

    with embedded_world({}) as first, running_functions(first, monkeypatch) as runtime:
        hooked("first")  # before the client is made: botocore would copy it into the client
        client = _users_client_of_auth(runtime)
        described(first, client)
    with embedded_world({}) as second, running_functions(second, monkeypatch) as runtime:
        assert runtime.layer_module("AuthFunction", "wallet.aws").dynamodb() is client
        hooked("second")
        described(second, client)
    assert seen == ["first", "second"]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # a setting clients are made with: made anew
    with embedded_world({}) as third, running_functions(third, monkeypatch) as runtime:
        assert runtime.layer_module("AuthFunction", "wallet.aws").dynamodb() is not client


@pytest.mark.parametrize("made_by", ["an invocation", "the test"])
def test_a_hook_a_test_leaves_on_a_functions_client_never_runs_in_a_later_world(
    made_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    with embedded_world({}) as first, running_functions(first, monkeypatch) as runtime:
        aws = runtime.layer_module("AuthFunction", "wallet.aws")
        aws.dynamodb.cache_clear()  # as in a new process: no earlier world made it
        client = _users_client_of_auth(runtime) if made_by == "an invocation" else aws.dynamodb()
        client.meta.events.register("before-parameter-build.dynamodb", lambda **_: seen.append("leaked"))  # left on
        _users_client_of_auth(runtime)
        assert seen
    seen.clear()
    with embedded_world({}) as second, running_functions(second, monkeypatch) as runtime:
        _users_client_of_auth(runtime)
    assert seen == []


def test_a_client_keeping_retry_state_is_made_anew_in_each_world(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")  # its retries spend a quota the client keeps
    clients = []
    for _ in range(2):
        with embedded_world({}) as world, running_functions(world, monkeypatch) as runtime:
            clients.append(_users_client_of_auth(runtime))
    first, second = clients
    assert first.meta.config.retries["mode"] == "standard"
    assert second is not first


def _users_client_of_auth(runtime: LocalLambdas) -> Any:
    return _auth_clients(runtime).dynamodb()


def _auth_clients(runtime: LocalLambdas) -> ModuleType:
    """AuthFunction's wallet.aws, after an invocation that used (and made if it had none) its DynamoDB client, to
    look a user up, and its secrets provider: a new world keeps only the clients an invocation made."""
    runtime.invoke("AuthFunction", json.loads((EVENTS / "auth/password-recovery.json").read_text()))
    return runtime.layer_module("AuthFunction", "wallet.aws")


def test_a_kept_secrets_provider_reads_each_worlds_own_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    values = []
    for _ in range(2):
        with embedded_world({}) as world, running_functions(world, monkeypatch) as runtime:
            secrets = _auth_clients(runtime).secrets()
            values.append((secrets, secrets.get(world.references["TokenSigningSecret"], max_age=300)))
    (first, first_value), (second, second_value) = values
    assert second is first  # kept on its client, with the value it had cached forgotten
    assert second_value != first_value


def test_a_hook_no_client_relays_is_refused(embedded_aws: EmbeddedAws) -> None:
    with pytest.raises(ValueError, match="no client relays before-send"):
        boto3.DEFAULT_SESSION.events.register("before-send.dynamodb", lambda **_: None)  # type: ignore[union-attr]


def _working(cpu_seconds: float) -> None:
    started = time.process_time()
    while time.process_time() - started < cpu_seconds:  # work, which the Timeout counts
        pass


def _slowly(real: Any, subject: Any) -> Any:
    _working(1.1)
    return real(subject)


def test_the_remaining_time_counts_down_from_the_timeout(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    remaining: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining.append(context.get_remaining_time_in_millis())
        _working(0.05)
        remaining.append(context.get_remaining_time_in_millis())
        return {}

    monkeypatch.setitem(lambdas._handlers, "CardProviderFunction", handler)
    lambdas.invoke("CardProviderFunction", SUBJECT)
    assert 9_000 < remaining[0] <= 10_000  # the template's Timeout: 10 s
    assert remaining[1] <= remaining[0] - 50


def test_an_invocation_past_its_timeout_fails_as_on_lambda(
    lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambdas.functions["CardProviderFunction"], "timeout_seconds", 1)
    _instead_of_screening(lambdas, "CardProviderFunction", "card_provider", monkeypatch, _slowly)
    with pytest.raises(FunctionTimedOut, match=r"Task timed out after 1\.00 seconds"):
        lambdas.invoke("CardProviderFunction", SUBJECT)
    # A caller of lambda:Invoke (Step Functions' task) gets Lambda's error for it.
    answer = boto3.client("lambda").invoke(
        FunctionName=f"arn:aws:lambda:us-east-1:123456789012:function:CardProviderFunction:{lambdas.aws.world_id}",
        Payload=json.dumps(SUBJECT).encode(),
    )
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "Sandbox.Timedout"


def test_a_function_timed_out_behind_the_api_is_a_502(
    api: Api, admin_token: str, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway answers a proxy integration whose Lambda timed out (within its 29 s) as any failed one."""
    monkeypatch.setattr(lambdas.functions["SetupFunction"], "timeout_seconds", 0)
    answer = api.get("/currencies", admin_token)
    assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"})


def test_a_function_invoked_asynchronously_does_not_spend_its_callers_time(
    api: Api, admin_token: str, lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda answers an asynchronous invocation at once; here it runs before answering, on its own clock."""
    monkeypatch.setattr(lambdas.functions["CoinsFunction"], "timeout_seconds", 1)
    monkeypatch.setitem(lambdas._handlers, "ReconciliationFunction", lambda event, context: _working(1.1))
    answer = api.post("/ledger/reconciliation/run", None, admin_token)
    assert answer.status_code == 202, answer.text
