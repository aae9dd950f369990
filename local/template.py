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

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(f"^{regex}$")


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    layers: list[Path] = field(default_factory=list)


class Template:
    def __init__(self, path: Path = TEMPLATE):
        self.root = path.parent
        self.body = load(path)
        self.resources: dict[str, dict[str, Any]] = self.body["Resources"]

    def parameters(self) -> dict[str, str]:
        return {name: str(spec.get("Default", "")) for name, spec in self.body.get("Parameters", {}).items()}

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
                Route(event["Properties"]["Method"].upper(), event["Properties"]["Path"], name)
                for event in props.get("Events", {}).values()
                if event["Type"] == "Api"
            ]
            layers = [
                ROOT / self.resources[layer["Ref"]]["Properties"]["ContentUri"]
                for layer in defaults.get("Layers", []) + props.get("Layers", [])
            ]
            found[name] = Function(name, ROOT / props["CodeUri"], props["Handler"], environment, routes, layers)
        return found

    def event_rules(self) -> list[tuple[str, dict[str, Any]]]:
        """(function, event pattern) for each EventBridge rule a function's Events declare."""
        return [
            (name, event["Properties"]["Pattern"])
            for name, props in self.resources_of("AWS::Serverless::Function").items()
            for event in props.get("Events", {}).values()
            if event["Type"] == "EventBridgeRule"
        ]

    def routes(self) -> list[Route]:
        return [route for function in self.functions().values() for route in function.routes]


def resolve(value: Any, references: dict[str, str]) -> Any:
    """Evaluates the intrinsic functions local use needs: Ref, GetAtt, Sub and Join."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            return references[argument]
        if name == "Fn::GetAtt":
            return references[".".join(argument)]
        if name == "Fn::Sub":
            return re.sub(r"\$\{([\w:.]+)\}", lambda match: references[match.group(1)], argument)
        if name == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(part, references)) for part in parts)
    if isinstance(value, dict):
        return {key: resolve(item, references) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, references) for item in value]
    return value
