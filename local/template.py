"""Reads template.yaml, the one description of tables, functions and routes, for local use."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Understands the short intrinsic-function tags (!Ref, !GetAtt, !Sub, ...)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    body: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader
    return body


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    public: bool = False  # `Auth: {Authorizer: NONE}`: the API's default authorizer does not run

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class TokenAuthorizer:
    function: str
    header: str
    validation: re.Pattern[str] | None
    ttl_seconds: int


@dataclass(frozen=True)
class StreamSource:
    """A function fed by a DynamoDB stream or an SQS queue: the event source mapping's properties, as written."""

    function: str
    properties: dict[str, Any]


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    layers: list[Path] = field(default_factory=list)
    timeout_seconds: int = 3  # Lambda's defaults
    memory_mb: int = 128


class Template:
    def __init__(self, path: Path = TEMPLATE):
        self.root = path.parent
        self.body = load(path)
        self.resources: dict[str, dict[str, Any]] = self.body["Resources"]

    def parameters(self) -> dict[str, str]:
        """Each parameter's default; one without a default is left out, as the deployer must give it."""
        declared = self.body.get("Parameters", {}).items()
        return {name: str(spec["Default"]) for name, spec in declared if "Default" in spec}

    def resources_of(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def functions(self) -> dict[str, Function]:
        defaults = self.body.get("Globals", {}).get("Function", {})
        found = {}
        for name, props in self.resources_of("AWS::Serverless::Function").items():
            environment = dict(defaults.get("Environment", {}).get("Variables", {}))
            environment |= props.get("Environment", {}).get("Variables", {})
            routes = [
                Route(
                    event["Properties"]["Method"].upper(),
                    event["Properties"]["Path"],
                    name,
                    public=event["Properties"].get("Auth", {}).get("Authorizer") == "NONE",
                )
                for event in props.get("Events", {}).values()
                if event["Type"] == "Api"
            ]
            layers = [
                ROOT / self.resources[layer["Ref"]]["Properties"]["ContentUri"]
                for layer in defaults.get("Layers", []) + props.get("Layers", [])
            ]
            found[name] = Function(
                name,
                ROOT / props["CodeUri"],
                props["Handler"],
                environment,
                routes,
                layers,
                timeout_seconds=int(props.get("Timeout", defaults.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            )
        return found

    def api(self) -> dict[str, Any]:
        [api] = self.resources_of("AWS::Serverless::Api").values()
        return api

    def token_authorizer(self) -> TokenAuthorizer | None:
        """The API's default authorizer (a Lambda TOKEN authorizer), if it has one."""
        auth = self.api().get("Auth", {})
        if "DefaultAuthorizer" not in auth:
            return None
        spec = auth["Authorizers"][auth["DefaultAuthorizer"]]
        identity = spec.get("Identity", {})
        validation = identity.get("ValidationExpression")
        return TokenAuthorizer(
            function=spec["FunctionArn"]["Fn::GetAtt"][0],
            header=identity.get("Header", "Authorization"),
            validation=re.compile(validation) if validation else None,
            ttl_seconds=int(identity.get("ReauthorizeEvery", 300)),
        )

    def gateway_responses(self) -> dict[str, Any]:
        responses: dict[str, Any] = self.api().get("GatewayResponses", {})
        return responses

    def event_rules(self) -> list[tuple[str, dict[str, Any]]]:
        """(function, event pattern) for each EventBridge rule a function's Events declare."""
        return [
            (name, event["Properties"]["Pattern"])
            for name, props in self.resources_of("AWS::Serverless::Function").items()
            for event in props.get("Events", {}).values()
            if event["Type"] == "EventBridgeRule"
        ]

    def stream_sources(self, source_type: str = "DynamoDB") -> list[StreamSource]:
        """Functions fed by an event source mapping of this type ("DynamoDB", "SQS")."""
        return [
            StreamSource(name, event["Properties"])
            for name, props in self.resources_of("AWS::Serverless::Function").items()
            for event in props.get("Events", {}).values()
            if event["Type"] == source_type
        ]

    def routes(self) -> list[Route]:
        return [route for function in self.functions().values() for route in function.routes]


def resolve(value: Any, references: dict[str, str]) -> Any:
    """Evaluates the intrinsic functions local use needs: Ref, GetAtt, Sub, Join, Select and Split."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return references[argument]
        if name == "Fn::GetAtt":
            return references[".".join(argument)]
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            known = references | {key: str(resolve(item, references)) for key, item in variables.items()}
            return re.sub(r"\$\{([\w:.]+)\}", lambda match: known[match.group(1)], text)
        if name == "Fn::Select":
            index, items = argument
            return resolve(items, references)[int(index)]
        if name == "Fn::Split":
            separator, text = argument
            return str(resolve(text, references)).split(separator)
        if name == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(part, references)) for part in parts)
    if isinstance(value, dict):
        return {key: resolve(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, references) for item in value]
    return value
