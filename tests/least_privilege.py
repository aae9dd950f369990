"""Least privilege, proven: every AWS call each function makes during the test suite, recorded through
botocore's event hooks, is checked against that function's policies in template.yaml.

A call no policy grants fails the run, naming the grant to add to which function; a grant no call used is
printed (justify it in a comment beside it in the template, or remove it). Under pytest-xdist each worker
sends what it recorded to the controller, which compares once."""

import fnmatch
import functools
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

from local.aws import ACCOUNT_ID, OPERATOR_PARAMETERS, REGION
from local.lambdas import running_function
from local.template import Template, resolve

IAM_PREFIX = {"stepfunctions": "states", "sesv2": "ses"}
TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# A Call: (action, resource ARN, condition context as sorted (key, value) pairs).
Call = tuple[str, str, tuple[tuple[str, str], ...]]
RECORDED: dict[str, set[Call]] = defaultdict(set)


def watch(session: boto3.Session) -> None:
    """Records every call made while a function's handler runs (moto's own threads and the tests' calls
    run no handler and are not recorded)."""
    session.events.register("provide-client-params", _record)


def _record(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = running_function()
    if function is None:
        return
    service = model.service_model.service_name
    for call in _calls(IAM_PREFIX.get(service, service), model.name, params):
        RECORDED[function].add(call)


def _table(name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _leading_keys(*keys: Any) -> tuple[tuple[str, str], ...]:
    """The dynamodb:LeadingKeys condition context: the partition key values a call touches."""
    return tuple(("dynamodb:LeadingKeys", str(key["pk"])) for key in keys if key and "pk" in key)


def _item_key(element: dict[str, Any]) -> Any:
    return element.get("Key") or element.get("Item")


def _calls(prefix: str, operation: str, params: dict[str, Any]) -> list[Call]:
    """The IAM actions and resources AWS authorises a call against, as its documentation lists them."""
    if prefix == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                (
                    f"dynamodb:{TRANSACT_WRITE_ACTIONS[kind]}",
                    _table(element[kind]["TableName"]),
                    _leading_keys(_item_key(element[kind])),
                )
                for element in params["TransactItems"]
                for kind in element
            ]
        if operation == "TransactGetItems":
            return [
                ("dynamodb:GetItem", _table(item["Get"]["TableName"]), _leading_keys(item["Get"]["Key"]))
                for item in params["TransactItems"]
            ]
        if operation == "BatchGetItem":
            return [
                ("dynamodb:BatchGetItem", _table(name), _leading_keys(*request["Keys"]))
                for name, request in params["RequestItems"].items()
            ]
        if operation == "BatchWriteItem":
            return [
                (
                    "dynamodb:BatchWriteItem",
                    _table(name),
                    _leading_keys(*(_item_key(next(iter(write.values()))) for write in writes)),
                )
                for name, writes in params["RequestItems"].items()
            ]
        keys = _leading_keys(_item_key(params))
        if operation == "Query" and not params.get("IndexName"):
            keys = _leading_keys({"pk": params.get("ExpressionAttributeValues", {}).get(":pk")})
        return [(f"dynamodb:{operation}", _table(params["TableName"], params.get("IndexName")), keys)]
    if prefix == "secretsmanager":
        return [(f"secretsmanager:{operation}", str(params["SecretId"]), ())]
    if prefix == "states" and operation == "StartExecution":
        return [("states:StartExecution", params["stateMachineArn"], ())]
    if prefix == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params["Entries"]}
        return [("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{bus}", ()) for bus in buses]
    if prefix == "ses" and operation in ("SendEmail", "SendRawEmail"):
        sender = str(params.get("Source", ""))
        context = (("ses:FromAddress", sender),)
        # SES authorises against the identity it sends through: here the address itself.
        return [(f"ses:{operation}", f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{sender}", context)]
    if prefix == "sqs" and "QueueUrl" in params:
        queue = str(params["QueueUrl"]).rsplit("/", 1)[-1]
        return [(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}", ())]
    if prefix == "lambda" and operation == "Invoke":
        # The embedded world qualifies a function's ARN with its world id, where AWS has a version or alias.
        name = str(params["FunctionName"]).split(":function:")[-1].partition(":")[0]
        return [("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}", ())]
    if prefix == "sns" and operation == "Publish":
        return [("sns:Publish", params.get("TopicArn") or params.get("TargetArn") or "*", ())]
    return [(f"{prefix}:{operation}", "*", ())]  # SendTaskSuccess and the like name no resource


# --- the template's side ---


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)

    def matches(self, call: Call) -> bool:
        action, resource, context = call
        if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions):
            return False
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources):
            return False
        return all(_satisfied(operator, key, patterns, context) for operator, key, patterns in self.conditions)


def _satisfied(operator: str, key: str, patterns: tuple[str, ...], context: tuple[tuple[str, str], ...]) -> bool:
    """StringEquals / StringLike, with ForAllValues: (every value must match), as IAM evaluates them."""
    values = [value for name, value in context if name == key]
    every = operator.startswith("ForAllValues:")
    match = fnmatch.fnmatchcase if operator.endswith("StringLike") else str.__eq__

    def matches(value: str) -> bool:
        return any(match(value, pattern) for pattern in patterns)

    if every:
        return all(matches(value) for value in values)
    return bool(values) and any(matches(value) for value in values)


def _references(template: Template) -> dict[str, str]:
    """What the template's references stand for, as the embedded world names things (any world)."""
    references = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": "wallet-local",
        **template.parameters(),
        **OPERATOR_PARAMETERS,
    }
    for name in template.resources_of("AWS::DynamoDB::Table"):
        references[name] = name
        references[f"{name}.Arn"] = _table(name)
    for name in template.resources_of("AWS::SecretsManager::Secret"):
        references[name] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}-*"  # moto adds a suffix
    for name in template.resources_of("AWS::Serverless::StateMachine"):
        arn = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
        references |= {name: arn, f"{name}.Arn": arn, f"{name}.Name": name}
    for name in template.resources_of("AWS::SQS::Queue"):
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        references |= {name: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}", f"{name}.Arn": arn}
        references[f"{name}.QueueName"] = name
    for name in template.resources_of("AWS::Events::Rule"):
        references |= {name: name, f"{name}.Arn": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}"}
    for name in template.resources_of("AWS::Serverless::Function"):
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        references |= {name: name, f"{name}.Arn": arn}
    return references


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in (value if isinstance(value, list) else [value]))


def statement(raw: dict[str, Any]) -> Statement:
    """One statement of a policy document, intrinsics resolved."""
    conditions = tuple(
        (operator, key, _as_tuple(values))
        for operator, pairs in raw.get("Condition", {}).items()
        for key, values in pairs.items()
    )
    return Statement(raw["Effect"], _as_tuple(raw["Action"]), _as_tuple(raw["Resource"]), conditions)


def policies(template: Template) -> dict[str, list[Statement]]:
    """Each function's statements: SAM policy templates expanded, intrinsics resolved."""
    processor = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
    references = _references(template)
    found: dict[str, list[Statement]] = {}
    for function, props in template.resources_of("AWS::Serverless::Function").items():
        statements: list[Statement] = []
        for policy in props.get("Policies", []):
            if isinstance(policy, str):
                continue  # a managed policy by name: AWSLambdaBasicExecutionRole's logs, which Lambda uses
            [(name, parameters)] = policy.items()
            document = parameters if name == "Statement" else processor.convert(name, parameters)["Statement"]
            statements += map(statement, resolve(document if isinstance(document, list) else [document], references))
        found[function] = statements
    return found


@functools.cache
def granted() -> dict[str, list[Statement]]:
    """template.yaml's grants, read once a process: parsing the template costs about a second, and a process that
    runs pytest again (mutmut's children) would pay it twice a run."""
    return policies(Template())


def ungranted(recorded: dict[str, set[Call]], granted: dict[str, list[Statement]]) -> list[str]:
    problems = []
    for function, calls in sorted(recorded.items()):
        for call in sorted(calls):
            statements = granted.get(function, [])
            allowed = any(s.effect == "Allow" and s.matches(call) for s in statements)
            denied = any(s.effect == "Deny" and s.matches(call) for s in statements)
            if allowed and not denied:
                continue
            action, resource, context = call
            where = resource.rsplit(":table/", 1)[-1] if ":table/" in resource else resource
            conditions = f" (context {dict(context)})" if context else ""
            problems.append(
                f"{function} calls {action} on {resource}{conditions}, which its policies do not grant"
                + (" (a Deny refuses it)" if denied else "")
                + f": add to {function}'s Policies in template.yaml a statement allowing {action} on {where}"
            )
    return problems


def unused(recorded: dict[str, set[Call]], granted: dict[str, list[Statement]]) -> list[str]:
    """Each (function, action, resource) an Allow names that no recorded call used."""
    lines = []
    for function, statements in sorted(granted.items()):
        calls = recorded.get(function, set())
        for statement in statements:
            if statement.effect != "Allow":
                continue
            for action in statement.actions:
                for resource in statement.resources:
                    single = Statement("Allow", (action,), (resource,), statement.conditions)
                    if not any(single.matches(call) for call in calls):
                        lines.append(f"{function}: {action} on {resource}")
    return lines


# --- pytest's side: every worker records, the controller (or the only process) compares ---


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: a worker has finished
def pytest_testnodedown(node: Any, error: Any) -> None:
    for function, calls in json.loads(node.workeroutput.get("aws_calls", "{}")).items():
        RECORDED[function].update((action, resource, tuple(map(tuple, context))) for action, resource, context in calls)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config: Any = session.config
    if hasattr(config, "workeroutput"):  # an xdist worker: hand the calls to the controller
        config.workeroutput["aws_calls"] = json.dumps({name: sorted(calls) for name, calls in RECORDED.items()})
        return
    problems = ungranted(RECORDED, granted())
    config.stash[_PROBLEMS] = problems
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_PROBLEMS = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput") or not RECORDED:
        return
    problems = config.stash.get(_PROBLEMS, [])
    if problems:
        terminalreporter.section("least privilege: AWS calls not granted (FAILED)", red=True)
        for line in problems:
            terminalreporter.write_line(line)
    never_used = unused(RECORDED, granted())
    if never_used:
        terminalreporter.section("least privilege: grants no call used in this run")
        for line in never_used:
            terminalreporter.write_line(line)
