"""The one place where moto's CloudFormation is made to create what template.yaml declares.

moto 5.2's CloudFormation has no model for some resource types the transformed template uses (it skips them with
a warning, and a `!Ref` to one resolves to nothing); for others its model drops properties or gives no physical
id or attribute; and it runs functions in Docker. Each shim below names the gap it fills, and creates the
resource through moto's own API for that service from every property CloudFormation hands it (a property moto's
service itself cannot keep is named). None changes what the template says: the stack is the transformed
template, as it is."""

import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import requests
from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as get_lambda_backend
from moto.cloudformation import parsing
from moto.dynamodb.models.table import Table as MotoTable
from moto.iam.models import Role as MotoRole

from local.lambdas import LambdaContext


class _Shim:
    """What moto's stack needs of a resource model: a physical id, attributes for Fn::GetAtt, created at once."""

    def __init__(self, physical_resource_id: str, attributes: dict[str, Any] | None = None):
        self.physical_resource_id = physical_resource_id
        self.attributes = attributes or {}

    def is_created(self) -> bool:
        return True

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> Any:
        return self.attributes[attribute]

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **_: Any
    ) -> "_Shim":
        return cls.create(resource_name, cloudformation_json["Properties"])

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> "_Shim":
        raise NotImplementedError


class Role(MotoRole):
    """Gap: moto's AWS::IAM::Role drops ManagedPolicyArns, and hands IAM each inline policy as a dict where IAM
    takes JSON (moto then answers GetRolePolicy with Python's repr of it). moto's model creates the role from the
    documents as JSON; the managed policies are attached through IAM's API (mock_aws's iam config must load
    moto's copy of AWS's managed policies)."""

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> MotoRole:
        properties = cloudformation_json["Properties"]
        policies = [
            {**policy, "PolicyDocument": json.dumps(policy["PolicyDocument"])}
            for policy in properties.get("Policies", [])
        ]
        as_json = {**cloudformation_json, "Properties": {**properties, "Policies": policies}}
        role = MotoRole.create_from_cloudformation_json(resource_name, as_json, account_id, region_name, **kwargs)
        for arn in properties.get("ManagedPolicyArns", []):
            boto3.client("iam").attach_role_policy(RoleName=role.name, PolicyArn=arn)
        return role


class Secret(_Shim):
    """Gap: no model for AWS::SecretsManager::Secret. The value is generated as CloudFormation does, by
    GetRandomPassword with the template's GenerateSecretString."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        client = boto3.client("secretsmanager")
        generate = dict(properties["GenerateSecretString"])
        if {"SecretStringTemplate", "GenerateStringKey"} & set(generate):
            raise NotImplementedError("a generated key inside a JSON template: not shimmed")
        if "PasswordLength" in generate:
            generate["PasswordLength"] = int(generate["PasswordLength"])
        value = client.get_random_password(**generate)["RandomPassword"]
        arn = client.create_secret(Name=name, SecretString=value, Description=properties.get("Description", ""))
        return cls(arn["ARN"])


class Version(_Shim):
    """Gap: moto's AWS::Lambda::Version has no `Version` attribute (each alias names its version by it) and
    refers to no version ARN."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        published = boto3.client("lambda").publish_version(FunctionName=properties["FunctionName"])
        return cls(published["FunctionArn"], {"Version": published["Version"]})


class LayerVersion(_Shim):
    """Gap: moto's AWS::Lambda::LayerVersion has no physical id: `!Ref` to it (each function's Layers) gives
    moto's object, not the version's ARN, and moto then creates every function without its layer."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        arn = boto3.client("lambda").publish_layer_version(**properties)["LayerVersionArn"]
        return cls(arn)


class Function(LambdaFunction):
    """Gap: moto's AWS::Lambda::Function hands Lambda only Code, Handler, Role, Runtime, Description, MemorySize,
    Publish, Timeout, VpcConfig, Environment and ReservedConcurrentExecutions: a function lost its Layers,
    Architectures, TracingConfig and Tags. All properties go to moto's Lambda here (which keeps no LoggingConfig
    or SnapStart, whatever it is given)."""

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **_: Any
    ) -> LambdaFunction:
        properties = cloudformation_json["Properties"]
        tags = {tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])}
        spec = {"FunctionName": resource_name, **properties, "Tags": tags}
        return get_lambda_backend(account_id, region_name).create_function(spec)


class Permission(_Shim):
    """Gap: moto's AWS::Lambda::Permission has no physical id (AWS gives the statement's id)."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        boto3.client("lambda").add_permission(StatementId=name, **properties)
        return cls(name)


class Table(MotoTable):
    """Gap: moto's AWS::DynamoDB::Table ignores PointInTimeRecoverySpecification and TimeToLiveSpecification:
    moto's own model creates the table, and DynamoDB's API applies those two."""

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> MotoTable:
        table = MotoTable.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        properties = cloudformation_json["Properties"]
        client = boto3.client("dynamodb")
        if recovery := properties.get("PointInTimeRecoverySpecification"):
            client.update_continuous_backups(TableName=table.name, PointInTimeRecoverySpecification=recovery)
        if expiry := properties.get("TimeToLiveSpecification"):
            client.update_time_to_live(TableName=table.name, TimeToLiveSpecification=expiry)
        return table


class Alias(_Shim):
    """Gap: no model for AWS::Lambda::Alias (the API's permissions and the queues' mappings name the alias)."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        alias = boto3.client("lambda").create_alias(
            FunctionName=properties["FunctionName"],
            Name=properties["Name"],
            FunctionVersion=properties["FunctionVersion"],
        )
        return cls(alias["AliasArn"])


class StateMachine(_Shim):
    """Gap: moto's AWS::StepFunctions::StateMachine reads only DefinitionString, not the DefinitionS3Location
    `sam package` writes nor DefinitionSubstitutions."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        location = properties["DefinitionS3Location"]
        definition = boto3.client("s3").get_object(Bucket=location["Bucket"], Key=location["Key"])["Body"].read()
        definition = definition.decode()
        for key, value in properties.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace(f"${{{key}}}", str(value))
        machine_name = properties.get("StateMachineName", name)
        arn = boto3.client("stepfunctions").create_state_machine(
            name=machine_name,
            definition=definition,
            roleArn=properties["RoleArn"],
            loggingConfiguration=_lower_keys(properties.get("LoggingConfiguration", {})),
            tracingConfiguration=_lower_keys(properties.get("TracingConfiguration", {})),
            tags=_lower_keys(properties.get("Tags", [])),
        )["stateMachineArn"]
        return cls(arn, {"Arn": arn, "Name": machine_name})


class RestApi(_Shim):
    """Gap: moto's AWS::ApiGateway::RestApi ignores `Body`, the OpenAPI document SAM writes the API as (its
    deployment then finds no method). moto's PutRestApi reads the routes from it but skips the document's
    authorizers and gateway responses: those are created through API Gateway's API, as the document says."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        client = boto3.client("apigateway")
        body = properties["Body"]
        api = client.create_rest_api(name=properties.get("Name", name), description=properties.get("Description", ""))
        client.put_rest_api(restApiId=api["id"], mode="overwrite", body=json.dumps(body))
        for scheme_name, scheme in body.get("components", {}).get("securitySchemes", {}).items():
            if authorizer := scheme.get("x-amazon-apigateway-authorizer"):
                client.create_authorizer(
                    restApiId=api["id"],
                    name=scheme_name,
                    type=authorizer["type"].upper(),
                    authorizerUri=authorizer["authorizerUri"],
                    identitySource=f"method.request.header.{scheme['name']}",
                    identityValidationExpression=authorizer.get("identityValidationExpression", ""),
                    authorizerResultTtlInSeconds=int(authorizer.get("authorizerResultTtlInSeconds", 300)),
                )
        for kind, response in body.get("x-amazon-apigateway-gateway-responses", {}).items():
            client.put_gateway_response(restApiId=api["id"], responseType=kind, **response)
        return cls(api["id"], {"RootResourceId": api["rootResourceId"]})


class Deployment(_Shim):
    """Gap: moto's AWS::ApiGateway::Deployment has no physical id, so `!Ref` to it (the stage's DeploymentId)
    gives moto's object, not the deployment's id."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        deployment = boto3.client("apigateway").create_deployment(
            restApiId=properties["RestApiId"], description=properties.get("Description", "")
        )
        return cls(deployment["id"])


STAGE_METHOD_SETTINGS = {  # CloudFormation's MethodSettings keys, as UpdateStage's paths name them
    "ThrottlingRateLimit": "throttling/rateLimit",
    "ThrottlingBurstLimit": "throttling/burstLimit",
    "MetricsEnabled": "metrics/enabled",
    "LoggingLevel": "logging/loglevel",
    "DataTraceEnabled": "logging/dataTrace",
    "CachingEnabled": "caching/enabled",
    "CacheTtlInSeconds": "caching/ttlInSeconds",
    "CacheDataEncrypted": "caching/dataEncrypted",
}


class Stage(_Shim):
    """Gap: no model for AWS::ApiGateway::Stage (SAM writes the API's one stage as its own resource). Its method
    settings and access logs are applied as UpdateStage's patch operations."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        client = boto3.client("apigateway")
        client.create_stage(
            restApiId=properties["RestApiId"],
            stageName=properties["StageName"],
            deploymentId=properties["DeploymentId"],
            tracingEnabled=bool(properties.get("TracingEnabled", False)),
        )
        operations = [
            {"op": "replace", "path": f"/accessLogSettings/{key[0].lower()}{key[1:]}", "value": str(value)}
            for key, value in properties.get("AccessLogSetting", {}).items()
        ]
        for setting in properties.get("MethodSettings", []):
            where = f"{setting['ResourcePath']}/{setting['HttpMethod']}"
            for key, value in setting.items():
                if key not in ("ResourcePath", "HttpMethod"):
                    text = str(value).lower() if isinstance(value, bool) else str(value)
                    operations.append({"op": "replace", "path": f"{where}/{STAGE_METHOD_SETTINGS[key]}", "value": text})
        client.update_stage(
            restApiId=properties["RestApiId"], stageName=properties["StageName"], patchOperations=operations
        )
        return cls(properties["StageName"])


class ApiGatewayAccount(_Shim):
    """Gap: no model for AWS::ApiGateway::Account."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        role = properties["CloudWatchRoleArn"]
        operation = {"op": "replace", "path": "/cloudwatchRoleArn", "value": role}
        boto3.client("apigateway").update_account(patchOperations=[operation])
        return cls(name)


class Alarm(_Shim):
    """Gap: no model for AWS::CloudWatch::Alarm."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        alarm = {"AlarmName": name, **properties}
        alarm["Threshold"] = float(alarm["Threshold"])
        for key in ("EvaluationPeriods", "Period", "DatapointsToAlarm"):
            if key in alarm:
                alarm[key] = int(alarm[key])
        for query in alarm.get("Metrics", []):
            if "MetricStat" in query:
                query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        boto3.client("cloudwatch").put_metric_alarm(**alarm)
        return cls(name, {"Arn": f"arn:aws:cloudwatch:::alarm:{name}"})


class QueuePolicy(_Shim):
    """Gap: no model for AWS::SQS::QueuePolicy."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        policy = json.dumps(properties["PolicyDocument"])
        for url in properties["Queues"]:
            boto3.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        return cls(name)


class Subscription(_Shim):
    """Gap: no model for AWS::SNS::Subscription."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        answer = boto3.client("sns").subscribe(
            TopicArn=properties["TopicArn"], Protocol=properties["Protocol"], Endpoint=properties["Endpoint"]
        )
        return cls(answer["SubscriptionArn"])


class WebAcl(_Shim):
    """Gap: no model for AWS::WAFv2::WebACL."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        acl = boto3.client("wafv2").create_web_acl(**{"Name": name, **properties})["Summary"]
        return cls(f"{acl['Name']}|{acl['Id']}|{properties['Scope']}", {"Arn": acl["ARN"], "Id": acl["Id"]})


class WebAclAssociation(_Shim):
    """Gap: no model for AWS::WAFv2::WebACLAssociation."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        boto3.client("wafv2").associate_web_acl(**properties)
        return cls(properties["ResourceArn"])


class Schedule(_Shim):
    """Gap: no model for AWS::Scheduler::Schedule."""

    @classmethod
    def create(cls, name: str, properties: dict[str, Any]) -> _Shim:
        schedule_name = properties.get("Name", name)
        arn = boto3.client("scheduler").create_schedule(**{**properties, "Name": schedule_name})["ScheduleArn"]
        return cls(schedule_name, {"Arn": arn})


SHIMS: dict[str, type[Any]] = {
    "AWS::IAM::Role": Role,
    "AWS::Lambda::Function": Function,
    "AWS::DynamoDB::Table": Table,
    "AWS::Lambda::LayerVersion": LayerVersion,
    "AWS::Lambda::Permission": Permission,
    "AWS::SecretsManager::Secret": Secret,
    "AWS::Lambda::Version": Version,
    "AWS::Lambda::Alias": Alias,
    "AWS::StepFunctions::StateMachine": StateMachine,
    "AWS::ApiGateway::RestApi": RestApi,
    "AWS::ApiGateway::Deployment": Deployment,
    "AWS::ApiGateway::Stage": Stage,
    "AWS::ApiGateway::Account": ApiGatewayAccount,
    "AWS::CloudWatch::Alarm": Alarm,
    "AWS::SQS::QueuePolicy": QueuePolicy,
    "AWS::SNS::Subscription": Subscription,
    "AWS::Scheduler::Schedule": Schedule,
    "AWS::WAFv2::WebACL": WebAcl,
    "AWS::WAFv2::WebACLAssociation": WebAclAssociation,
}


def _lower_keys(value: Any) -> Any:
    """CloudFormation's property names (Level, Destinations...) as the Step Functions API spells them."""
    if isinstance(value, dict):
        return {key[0].lower() + key[1:]: _lower_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


# --- Running functions: moto invokes a function in Docker and hands a custom resource an http URL on its own
# server; on AWS the function runs in Lambda and answers CloudFormation's pre-signed https S3 URL. ---

_running = threading.local()
# Each top-level package an invocation imported from a layer, and the file it came from.
loaded_from_layers: dict[str, str] = {}


def running_function() -> str | None:
    """The deployed function whose handler this thread is running (its AWS calls are its own)."""
    return getattr(_running, "function", None)


MOTO_RESPONSES = "https://cloudformation.{region}.amazonaws.com"  # moto answers its cfnresponse path here too


def _run_in_process(before: Callable[[], None], answers: list[dict[str, Any]]) -> Callable[..., bytes]:
    """moto's LambdaFunction.invoke, running the function's handler from the code moto holds (the function's zip
    and its layers' zips, from S3), with the function's own environment, in this process. A custom resource's
    function that raises never answers: CloudFormation fails the stack after the resource's ServiceTimeout; here
    that is a FAILED answer."""

    def invoke(function: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body or "{}")
        try:
            return run(function, event)
        except Exception as error:
            reason = f"no answer: {function.function_name} raised {error!r}"
            answers.append({"Status": "FAILED", "Reason": reason, "StackId": event.get("StackId")})
            raise

    def run(function: LambdaFunction, event: dict[str, Any]) -> bytes:
        if "ResponseURL" in event:
            _moto_server, _, path = event["ResponseURL"].partition("/cloudformation_")
            event["ResponseURL"] = f"{MOTO_RESPONSES.format(region=function.region)}/cloudformation_{path}"
        module_file, _, attribute = function.handler.rpartition(".")
        backend = get_lambda_backend(function.account_id, function.region)
        layers = [backend.layers_versions_by_arn(layer["Arn"]).code_bytes for layer in function.layers]  # type: ignore[union-attr]
        with (
            tempfile.TemporaryDirectory() as root,
            mock.patch.dict(os.environ, _environment(function)),
            _imported_from([_unzipped(code, Path(root) / f"layer{n}") / "python" for n, code in enumerate(layers)]),
        ):
            code = _unzipped(function.code_bytes, Path(root) / "function")
            spec = importlib.util.spec_from_file_location(
                f"deployed_{function.function_name}", code / f"{module_file}.py"
            )
            assert spec
            assert spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            before()
            _running.function = function.function_name
            try:
                result = getattr(module, attribute)(event, LambdaContext(function.function_name))
            finally:
                _running.function = None
        return json.dumps(result).encode()

    return invoke


def _unzipped(code: bytes, directory: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(code)).extractall(directory)
    return directory


@contextlib.contextmanager
def _imported_from(layers: list[Path]) -> Iterator[None]:
    """The layers' packages imported from the layers' own code (their python/ folder, which Lambda puts on the
    path), for the time of one invocation: the test process's copies of the same packages are set aside, then
    put back."""
    packages = {path.name.removesuffix(".py") for layer in layers for path in layer.iterdir() if _importable(path)}

    def ours(name: str) -> bool:
        return name.partition(".")[0] in packages

    set_aside = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in set_aside:
        del sys.modules[name]
    sys.path[:0] = [str(layer) for layer in layers]
    try:
        yield
    finally:
        del sys.path[: len(layers)]
        for name, module in sys.modules.items():
            if "." not in name and ours(name):
                loaded_from_layers[name] = str(getattr(module, "__file__", ""))
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(set_aside)


def _importable(path: Path) -> bool:
    return (path / "__init__.py").is_file() or path.suffix == ".py"


def _environment(function: LambdaFunction) -> dict[str, str]:
    """The function's variables as Lambda gives them: strings (moto keeps a Number parameter's int)."""
    return {key: str(value) for key, value in function.environment_vars.items()}


class _MotoResponses(urllib.request.BaseHandler):
    """urllib's https, for moto's cfnresponse endpoint only: handed to requests, which moto intercepts. Each
    answer is kept: moto ignores a FAILED one (the stack would stay CREATE_IN_PROGRESS, where CloudFormation
    rolls back), so the test reads them."""

    handler_order = 100  # before urllib's own https handler

    def __init__(self, answers: list[dict[str, Any]]):
        self.answers = answers

    def https_open(self, request: urllib.request.Request) -> Any:
        url = request.full_url
        if "/cfnresponse?" not in url:
            return None  # any other https URL: the default handler
        self.answers.append(json.loads(request.data or b"{}"))  # type: ignore[arg-type]
        answer = requests.request(
            request.get_method(), url, data=request.data, headers=dict(request.headers), timeout=10
        )
        response = urllib.response.addinfourl(io.BytesIO(answer.content), answer.headers, url, answer.status_code)  # type: ignore[arg-type]
        response.msg = answer.reason
        return response


@contextlib.contextmanager
def shimmed(before_invocation: Callable[[], None]) -> Iterator[list[dict[str, Any]]]:
    """moto's CloudFormation with the shims above, and functions run in this process; `before_invocation` runs
    once a function's environment is in place (to forget clients and settings made for another). Yields the
    custom resources' answers, as they come."""
    answers: list[dict[str, Any]] = []
    models = {**parsing.get_model_map(), **SHIMS}
    with (
        mock.patch.object(parsing, "get_model_map", return_value=models),
        mock.patch.object(LambdaFunction, "invoke", _run_in_process(before_invocation, answers)),
    ):
        urllib.request.install_opener(urllib.request.build_opener(_MotoResponses(answers)))
        try:
            yield answers
        finally:
            urllib.request.install_opener(None)  # type: ignore[arg-type]
