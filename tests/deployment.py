"""What `sam package` and `sam deploy` do with template.yaml, done against moto: the build's artifacts go to S3,
the template's local paths become their S3 locations, the SAM translator turns it into CloudFormation, and the
dev environment's parameters come from the committed samconfig.toml."""

import io
import shlex
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from local.template import ROOT, load

# The AWS managed policies the template names, by the ARN AWS gives them (the translator asks IAM otherwise).
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
# What `sam package` uploads for each resource type: the property naming a local path.
ARTIFACT_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class _ManagedPolicies(ManagedPolicyLoader):
    def __init__(self) -> None:
        super().__init__(iam_client=None)

    def load(self) -> dict[str, str]:
        return MANAGED_POLICIES


def samconfig_deploy(environment: str = "default") -> dict[str, Any]:
    """The deploy parameters of one samconfig.toml environment, its parameter overrides as a dict."""
    deploy: dict[str, Any] = tomllib.loads((ROOT / "samconfig.toml").read_text())[environment]["deploy"]["parameters"]
    overrides = dict(pair.split("=", 1) for pair in shlex.split(deploy.get("parameter_overrides", "")))
    return {**deploy, "parameter_overrides": overrides}


def zipped(directory: Path) -> bytes:
    """A directory as `sam package` zips it (caches left out)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory))
    return buffer.getvalue()


def package(s3: Any, bucket: str, prefix: str, build: Path) -> dict[str, Any]:
    """The template `sam build` wrote in `build`, with each function's code, the layer's content (its libraries
    installed from the lock under python/) and the state machine's definition put in S3 and named there, as
    `sam package` writes it."""
    body = load(build / "template.yaml")
    for name, resource in body["Resources"].items():
        if (prop := ARTIFACT_PROPERTIES.get(resource["Type"])) is None:
            continue
        path = build / resource["Properties"][prop]
        key = f"{prefix}/{name}"
        s3.put_object(Bucket=bucket, Key=key, Body=zipped(path) if path.is_dir() else path.read_bytes())
        resource["Properties"][prop] = f"s3://{bucket}/{key}"
    return body


def cloudformation(packaged: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The packaged template as CloudFormation receives it: the AWS::Serverless-2016-10-31 transform applied."""
    transformed: dict[str, Any] = transform(packaged, parameters, _ManagedPolicies())
    return transformed


def holds(condition: Any, conditions: dict[str, Any], parameters: dict[str, str]) -> bool:
    """A template condition's value (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition, Ref to a parameter)."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return parameters[node["Ref"]]
        return node

    if isinstance(condition, str):
        return holds(conditions[condition], conditions, parameters)
    [(function, arguments)] = condition.items()
    if function == "Condition":
        return holds(conditions[arguments], conditions, parameters)
    if function == "Fn::Equals":
        left, right = (str(value(argument)) for argument in arguments)
        return left == right
    if function == "Fn::Not":
        return not holds(arguments[0], conditions, parameters)
    if function == "Fn::And":
        return all(holds(argument, conditions, parameters) for argument in arguments)
    if function == "Fn::Or":
        return any(holds(argument, conditions, parameters) for argument in arguments)
    raise ValueError(f"condition function {function} not understood")
