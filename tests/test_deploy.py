"""The deploy, tested here: template.yaml packaged, transformed by the SAM translator and created as a stack in
moto's CloudFormation with the dev environment's parameters; every resource is created and the bootstrap custom
resource runs for real, within the grants its role was deployed with."""

import copy
import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from local.aws import REGION
from local.template import Template
from tests import deployment
from tests.conftest import _forget_cached_clients
from tests.least_privilege import IAM_PREFIX, Call, _calls, statement, ungranted
from tests.moto_cloudformation import SHIMS, loaded_from_layers, running_function, shimmed
from wallet import auth, identity, identity_store
from wallet.models.identity import normalise_login
from wallet.models.roles import OrganizationType, Role

pytestmark = pytest.mark.xdist_group("sam_build")  # deployed from the one build, stacks created once per module
TEMPLATE = Template()
BUCKET = "wallet-dev-artifacts"  # `resolve_s3` makes one bucket per account; any name does here


class Deployed:
    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        stack: dict[str, Any],
        answers: list[dict[str, Any]],
        calls: dict[str, list[Call]],
    ):
        self.template = template
        self.parameters = parameters
        self.stack = stack
        cloudformation = boto3.client("cloudformation")
        resources = cloudformation.describe_stack_resources(StackName=stack["StackName"])["StackResources"]
        # moto lists a resource it did not create (a type it has no model for, a condition that does not hold)
        # as an entry naming nothing.
        self.resources = {
            resource["LogicalResourceId"]: resource for resource in resources if "LogicalResourceId" in resource
        }
        self.answers = answers  # what the custom resources answered CloudFormation
        self.calls = calls  # each function's AWS calls while the stack was created

    @property
    def values(self) -> dict[str, str]:
        """Every parameter's value: the dev environment's, else the template's default."""
        defaults = {name: str(spec.get("Default")) for name, spec in self.template["Parameters"].items()}
        return {**defaults, **self.parameters}

    def physical(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["PhysicalResourceId"])


def _record_calls(calls: dict[str, list[Call]]) -> Any:
    """Every AWS call made while a function runs, as the IAM actions and resources AWS authorises it against."""

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        function = running_function()
        if function is None:
            return
        service = model.service_model.service_name
        calls.setdefault(function, []).extend(_calls(IAM_PREFIX.get(service, service), model.name, params))

    return record


# The dev environment, and the same with every optional resource and setting turned the other way, so that every
# resource of the template is created by one stack or the other.
EVERY_OPTION = {
    "WafRateLimit": "2000",
    "AlarmEmail": "oncall@wallet.example.com",
    "ConfigureApiGatewayAccount": "false",
    "TablesDeletionProtection": "false",
    "AuthReservedConcurrency": "0",
    "SnapStart": "Enabled",
}


class Account:
    """One embedded AWS account for the module: the build's artifacts in its S3, functions run in-process."""

    def __init__(self, config: dict[str, Any], packaged: dict[str, Any], answers: list[dict[str, Any]]):
        self.config = config
        self.packaged = packaged
        self.answers = answers  # what the custom resources answered CloudFormation
        self.calls: dict[str, list[Call]] = {}  # each function's AWS calls, by its physical name


@pytest.fixture(scope="module")
def account(sam_build: Path) -> Iterator[Account]:
    config = deployment.samconfig_deploy()
    region = {"AWS_DEFAULT_REGION": config["region"]}  # the translator names ARNs with it
    # The roles' managed policies (AWSLambdaBasicExecutionRole...) must exist to be attached.
    with mock.patch.dict(os.environ, region), mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        boto3.setup_default_session(region_name=config["region"])
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        packaged = deployment.package(s3, BUCKET, config["s3_prefix"], sam_build)
        with shimmed(before_invocation=_forget_cached_clients) as answers:
            world = Account(config, packaged, answers)
            recorder = _record_calls(world.calls)
            boto3.DEFAULT_SESSION.events.register("provide-client-params", recorder)  # type: ignore[union-attr]
            yield world
            boto3.DEFAULT_SESSION.events.unregister("provide-client-params", recorder)  # type: ignore[union-attr]
        _forget_cached_clients()


@pytest.fixture(scope="module", params=[{}, EVERY_OPTION], ids=["dev", "every-option-flipped"])
def deployed(account: Account, request: pytest.FixtureRequest) -> Deployed:
    """A stack of the packaged template (a stack name per parameter set: both live in the one account)."""
    config = account.config
    stack_name = config["stack_name"] if not request.param else f"{config['stack_name']}-flipped"
    parameters = {**config["parameter_overrides"], **request.param}
    template = deployment.cloudformation(copy.deepcopy(account.packaged), parameters)
    cloudformation = boto3.client("cloudformation")
    with warnings.catch_warnings():
        # moto warns of each type it has no model for: the first test fails on any resource not created.
        warnings.simplefilter("ignore", UserWarning)
        stack_id = cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Capabilities=[config["capabilities"]],
        )["StackId"]
        stack = _settled(cloudformation, stack_name, account.answers)
    answers = [answer for answer in account.answers if answer["StackId"] == stack_id]
    return Deployed(template, parameters, stack, answers, account.calls)


def _settled(
    cloudformation: Any, stack_name: str, answers: list[dict[str, Any]], timeout_seconds: float = 60
) -> dict[str, Any]:
    """The stack once it has left CREATE_IN_PROGRESS (the custom resource answers from its own thread), or once
    a custom resource has answered FAILED (moto leaves the stack in progress then)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        failed = any(answer["Status"] == "FAILED" and answer["StackId"] == stack["StackId"] for answer in answers)
        if stack["StackStatus"] != "CREATE_IN_PROGRESS" or failed or time.monotonic() > deadline:
            return dict(stack)
        time.sleep(0.05)


def test_the_stack_is_created_with_every_resource(deployed: Deployed) -> None:
    assert [answer["Status"] for answer in deployed.answers] == ["SUCCESS"], deployed.answers
    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE"
    conditions = deployed.template.get("Conditions", {})
    expected = {
        name
        for name, resource in deployed.template["Resources"].items()
        if "Condition" not in resource or deployment.holds(resource["Condition"], conditions, deployed.values)
    }
    assert expected - set(deployed.resources) == set(), "moto did not create these: shim their type"
    assert set(deployed.resources) - expected == set(), "created though their condition does not hold"
    unnamed = {name for name, entry in deployed.resources.items() if not entry.get("PhysicalResourceId")}
    assert unnamed == set(), "moto created these without a physical id (a `!Ref` to one resolves to nothing)"
    declared_types = {resource["Type"] for resource in deployed.template["Resources"].values()}
    assert set(SHIMS) <= declared_types, "a shim for a type the template no longer declares: remove it"


def test_the_two_deployments_together_create_every_resource_of_the_template() -> None:
    template = TEMPLATE.body
    conditions = template.get("Conditions", {})
    defaults = {name: str(spec.get("Default")) for name, spec in template["Parameters"].items()}
    dev = {**defaults, **deployment.samconfig_deploy()["parameter_overrides"]}
    for name, resource in template["Resources"].items():
        if condition := resource.get("Condition"):
            outcomes = {deployment.holds(condition, conditions, {**dev, **flipped}) for flipped in ({}, EVERY_OPTION)}
            assert outcomes == {True, False}, f"{name} ({condition}) is created by neither or both deployments"


def test_every_function_is_deployed_with_the_stacks_layer_and_its_handler(deployed: Deployed) -> None:
    [layer] = [
        name for name, entry in deployed.resources.items() if entry["ResourceType"] == "AWS::Lambda::LayerVersion"
    ]
    functions = [name for name, entry in deployed.resources.items() if entry["ResourceType"] == "AWS::Lambda::Function"]
    assert len(functions) == len(TEMPLATE.functions())
    for name in functions:
        configuration = boto3.client("lambda").get_function_configuration(FunctionName=deployed.physical(name))
        assert [layer["Arn"] for layer in configuration["Layers"]] == [deployed.physical(layer)], name
        assert configuration["Handler"] == TEMPLATE.functions()[name].handler


def test_the_api_is_deployed_on_its_one_stage_with_its_throttles_and_access_logs(deployed: Deployed) -> None:
    api = deployed.physical("WalletApi")
    stage = boto3.client("apigateway").get_stage(restApiId=api, stageName=deployed.values["Stage"])
    settings = stage["methodSettings"]
    assert settings["*/*"]["throttlingRateLimit"] == float(deployed.values["ApiRateLimit"])
    assert settings["~1authorization/POST"]["throttlingBurstLimit"] == int(deployed.values["PublicBurstLimit"])
    assert f":log-group:{deployed.physical('ApiAccessLogGroup')}" in stage["accessLogSettings"]["destinationArn"]
    [authorizer] = boto3.client("apigateway").get_authorizers(restApiId=api)["items"]
    assert authorizer["type"] == "TOKEN"
    assert f":function:{deployed.physical('AuthorizerFunction')}/" in authorizer["authorizerUri"]
    responses = boto3.client("apigateway").get_gateway_responses(restApiId=api)["items"]
    assert {"responseType": "UNAUTHORIZED", "statusCode": "401"}.items() <= _only(responses, "UNAUTHORIZED").items()
    outputs = {output["OutputKey"]: output["OutputValue"] for output in deployed.stack["Outputs"]}
    assert outputs["ApiUrl"] == f"https://{api}.execute-api.{REGION}.amazonaws.com/{deployed.values['Stage']}"


def _only(responses: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [response] = [response for response in responses if response["responseType"] == kind]
    return response


def test_the_bootstrap_created_the_system_organisation_and_the_administrator(deployed: Deployed) -> None:
    """Read back through the layer, in the bootstrap function's deployed environment (its tables' names)."""
    function = boto3.client("lambda").get_function_configuration(FunctionName=deployed.physical("BootstrapFunction"))
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=deployed.physical("AdminPasswordSecret"))
    environment = {key: str(value) for key, value in function["Environment"]["Variables"].items()}
    with mock.patch.dict(os.environ, environment):
        _forget_cached_clients()
        organisation = identity_store.get_organization(identity.SYSTEM_ORGANIZATION_ID)
        administrator = identity_store.get_credential(normalise_login(deployed.parameters["AdminLogin"]))
    _forget_cached_clients()
    assert organisation is not None
    assert organisation.type == OrganizationType.SYSTEM
    assert administrator is not None
    assert administrator.role == Role.ADMINISTRATOR
    assert administrator.organization_id == identity.SYSTEM_ORGANIZATION_ID
    assert auth.password_matches(administrator.password_hash, secret["SecretString"])


def test_the_bootstraps_calls_are_granted_by_its_deployed_role(deployed: Deployed) -> None:
    """What tests/least_privilege.py checks against template.yaml, here against the role as deployed."""
    function = deployed.physical("BootstrapFunction")
    assert deployed.calls.get(function), "the bootstrap made no AWS call"
    iam = boto3.client("iam")
    role = deployed.physical("BootstrapFunctionRole")
    statements = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        statements += map(statement, document["Statement"])
    assert ungranted({function: set(deployed.calls[function])}, {function: statements}) == []
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert "AWSLambdaBasicExecutionRole" in {policy["PolicyName"] for policy in attached}  # where it logs


def test_the_bootstrap_ran_on_the_built_layers_libraries(deployed: Deployed) -> None:
    """What ships is what ran: the domain and its libraries came from the layer's zip, not the test process."""
    for package in ("wallet", "pydantic", "pydantic_core", "jwt", "argon2", "aws_lambda_powertools"):
        assert "/python/" + package in loaded_from_layers.get(package, ""), f"{package} was not loaded from the layer"
