"""The template is the one source of truth: it must lint, build, and route every handler's paths."""

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from local.template import ROOT, Template
from tests.conftest import tool

TEMPLATE = Template()


@pytest.mark.slow
def test_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [tool("cfn-lint"), str(ROOT / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_is_on_demand_with_point_in_time_recovery() -> None:
    tables = TEMPLATE.resources_of("AWS::DynamoDB::Table")
    assert tables
    for name, props in tables.items():
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


def test_every_function_has_its_own_policies() -> None:
    for name, props in TEMPLATE.resources_of("AWS::Serverless::Function").items():
        assert props.get("Policies"), f"{name} would run with no rights or with a shared role"


@pytest.mark.slow
@pytest.mark.xdist_group("sam_build")
def test_sam_build_packs_every_function_and_the_layer(sam_build: Path) -> None:
    for name, function in TEMPLATE.functions().items():
        module_file = function.handler.rpartition(".")[0] + ".py"
        assert (sam_build / name / module_file).is_file(), name
    assert (sam_build / "WalletLayer" / "python" / "wallet" / "identity.py").is_file()
    assert (sam_build / "WalletLayer" / "python" / "jwt").is_dir()
    assert not (sam_build / "WalletLayer" / "python" / "boto3").exists(), "boto3 comes with the runtime"


@pytest.mark.slow
@pytest.mark.xdist_group("sam_build")
def test_the_layer_ships_the_bytecode_of_every_module(sam_build: Path) -> None:
    """Lambda's /opt is read-only: a module without its bytecode would be compiled at every cold start. The
    bytecode is unchecked-hash (PEP 552 flags 0b01): a zip keeps no exact modification times to check."""
    sources = list((sam_build / "WalletLayer" / "python").rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        bytecode = Path(importlib.util.cache_from_source(str(source)))
        assert bytecode.is_file(), source
        assert int.from_bytes(bytecode.read_bytes()[4:8], "little") == 0b01, bytecode


@pytest.mark.slow
@pytest.mark.xdist_group("sam_build")
def test_native_libraries_match_the_functions_architecture(sam_build: Path) -> None:
    """sam build was seen packing x86-64 binaries for arm64; check every shared object's ELF machine."""
    [architecture] = TEMPLATE.body["Globals"]["Function"]["Architectures"]
    expected_machine = {"x86_64": 0x3E, "arm64": 0xB7}[architecture]
    shared_objects = list((sam_build / "WalletLayer").rglob("*.so"))
    assert shared_objects, "argon2 and pydantic-core ship native code"
    for library in shared_objects:
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == expected_machine, f"{library.name} is not {architecture}"


# The routes anyone may call (../shared/API.md); every other route runs the API's token authorizer first.
PUBLIC_PATHS = re.compile(r"^/(authorization|registration(/.*)?|password/recovery(/.*)?|openapi\.json)$")


def test_public_routes_are_exactly_the_contracts_and_each_has_the_stricter_throttle() -> None:
    api = TEMPLATE.api()
    assert api["Auth"]["DefaultAuthorizer"], "every route not declared public must run the authorizer"
    throttled = {(setting["HttpMethod"], setting["ResourcePath"]) for setting in api["MethodSettings"]}
    for route in TEMPLATE.routes():
        assert route.public == bool(PUBLIC_PATHS.match(route.path)), f"{route.method} {route.path}"
        if route.public:
            # The Stage resource writes "/" inside a path as "~1".
            setting = (route.method, "/" + route.path.replace("/", "~1"))
            assert setting in throttled, f"add {setting} to WalletApi's MethodSettings with the public limits"


def test_sam_deploy_finds_every_function_authorised_or_declared_public() -> None:
    """`sam deploy --guided` asks "<function> has no authentication. Is this okay? [y/N]" for each function
    it finds without Auth, and stops on the default N: it must find none."""
    from samcli.commands.deploy.auth_utils import auth_per_resource
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    stacks, _ = SamLocalStackProvider.get_stacks(str(ROOT / "template.yaml"))
    unauthenticated = [name for name, authorised in auth_per_resource(stacks) if not authorised]
    assert unauthenticated == []


def test_one_api_stage_and_gateway_answers_in_the_error_shape() -> None:
    api = TEMPLATE.api()
    assert api["OpenApiVersion"] == "3.0"  # no extra "Stage" stage
    responses = api["GatewayResponses"]
    kinds = ("DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN", "RESOURCE_NOT_FOUND", "UNAUTHORIZED")
    for kind in (*kinds, "ACCESS_DENIED", "THROTTLED"):
        body = responses[kind]["ResponseTemplates"]["application/json"]
        shape = json.loads(body.replace("$context.error.messageString", '"m"'))
        assert set(shape) == {"code", "message", "details"}, kind
    assert responses["THROTTLED"]["StatusCode"] == "429"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["RESOURCE_NOT_FOUND"]["StatusCode"] == "404"


@pytest.mark.slow
def test_sam_deploy_guided_passes_every_prompt_with_its_defaults(tmp_path: Path) -> None:
    """Enter at every prompt: it must get as far as AWS itself (here: no credentials), never stop on a prompt."""
    for name in ("template.yaml", "samconfig.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "statemachines").symlink_to(ROOT / "statemachines")
    no_aws = {"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    no_aws |= {"AWS_EC2_METADATA_DISABLED": "true", "SAM_CLI_TELEMETRY": "0"}
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | no_aws
    result = subprocess.run(
        [tool("sam"), "deploy", "--guided"],
        cwd=tmp_path,
        input="\n" * 200,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert "Unable to locate credentials" in output, output[-3000:]
    assert "Security Constraints Not Satisfied" not in output
    assert "Stack Name [wallet-dev]" in output


def test_operations_cover_every_table_function_alarm_and_custom_resource() -> None:
    """Bullet 6 of production readiness, for whatever is added later: a new table, function or alarm that
    skips it fails here, not in an incident."""
    resources = TEMPLATE.resources
    tables = TEMPLATE.resources_of("AWS::DynamoDB::Table")
    for name, props in tables.items():
        assert props.get("DeletionProtectionEnabled") == {"Fn::If": ["ProtectsTables", True, False]}, name

    def watched(alarm: str) -> set[str]:
        queries = TEMPLATE.resources_of("AWS::CloudWatch::Alarm")[alarm]["Metrics"]
        return {
            dimension["Value"]["Ref"]
            for query in queries
            for dimension in query.get("MetricStat", {}).get("Metric", {}).get("Dimensions", [])
            if dimension["Name"] == "TableName"
        }

    assert watched("TableWriteThrottlesAlarm") == set(tables)
    assert watched("TableReadThrottlesAlarm") == set(tables)

    def kept(group: str) -> bool:
        resource = resources[group]
        return resource["Type"] == "AWS::Logs::LogGroup" and resource["Properties"]["RetentionInDays"] == {
            "Ref": "LogRetentionDays"
        }

    for name, props in TEMPLATE.resources_of("AWS::Serverless::Function").items():
        assert kept(props["LoggingConfig"]["LogGroup"]["Ref"]), name
    for name, props in TEMPLATE.resources_of("AWS::Serverless::StateMachine").items():
        [destination] = props["Logging"]["Destinations"]
        assert kept(destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]), name

    alarms = TEMPLATE.resources_of("AWS::CloudWatch::Alarm")
    assert alarms
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name

    custom = [name for name, resource in resources.items() if resource["Type"].startswith("Custom::")]
    custom += list(TEMPLATE.resources_of("AWS::CloudFormation::CustomResource"))
    assert custom
    for name in custom:
        assert resources[name]["Properties"].get("ServiceTimeout"), f"{name} would hang the stack for an hour"


def test_cloudwatch_may_use_the_alarm_topics_key() -> None:
    """An alarm cannot publish to a topic whose key CloudWatch may not use (aws/sns's policy never lets it)."""
    [key] = TEMPLATE.resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][:1]
    assert TEMPLATE.resources[key]["Type"] == "AWS::KMS::Key"
    granted = {
        action
        for statement in TEMPLATE.resources[key]["Properties"]["KeyPolicy"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Principal"].get("Service") == "cloudwatch.amazonaws.com"
        for action in statement["Action"]
    }
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= granted
