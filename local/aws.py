"""An embedded AWS for one process: moto, provisioned from template.yaml's own resource definitions."""

import contextlib
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

import boto3
import botocore.session
from botocore.hooks import EventAliaser, HierarchicalEmitter, first_non_none_response
from moto.core.config import default_user_config
from moto.core.model_instances import reset_model_data
from moto.core.models import MockAWS, botocore_stubber
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from local import environments, moto_asl, moto_snapshot, moto_transactions
from local.outbox import Outbox
from local.strict import StrictWorld
from local.template import Template, resolve

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# The parameters an operator must give at deployment (no default in the template): the embedded world's values.
OPERATOR_PARAMETERS = {"SenderEmail": "no-reply@wallet.local"}
TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)
# Each world's id, in the ARNs of its functions: a workflow thread left from one world must not reach the next.
WORLD_IDS = re.compile(r"world-[0-9a-f]{12}")
# The events a world's own hooks may be on (a hook on any other would never run), each with whether botocore takes
# its first answer and stops there (True) or runs every handler.
RELAYED_EVENTS = {
    "provide-client-params": False,
    "before-parameter-build": False,
    "before-call": True,
    "after-call": False,
}


@dataclass(frozen=True)
class _Seeded:
    """What the seeded steps of a kind of world left: the world's references and moto's state."""

    world_id: str
    references: dict[str, str]
    moto: moto_snapshot.Snapshot


# Per process, by template (read once: its body is not changed afterwards), parameters and steps: tests start
# hundreds of worlds of a few kinds.
_SEEDED: WeakKeyDictionary[Template, dict[str, _Seeded]] = WeakKeyDictionary()


def _generated_secret() -> str:
    """As CloudFormation's GenerateSecretString gives each deployment its own."""
    return secrets.token_urlsafe(48)


def workflow_executions() -> Iterator[tuple[Any, Any]]:
    """Every execution of every state machine with its machine, read from moto's own store (through the API,
    ListExecutions gives each machine's newest 100 only). moto's parser runs our ASL: an execution not yet begun
    has no status (`exec_status` None)."""
    for machine in list(stepfunctions_parser_backends[ACCOUNT_ID][REGION].state_machines):
        for execution in list(machine.executions):
            yield machine, execution


class _WorldHooks(EventAliaser):
    """A world's own hooks (the outbox, the strict rules, the Lambda runtime's, a test's)."""

    def __init__(self) -> None:
        super().__init__(HierarchicalEmitter())

    def _alias_event_name(self, event_name: str) -> str:
        if event_name.partition(".")[0] not in RELAYED_EVENTS:
            raise ValueError(f"no client relays {event_name} to a world's hooks (RELAYED_EVENTS)")
        return str(super()._alias_event_name(event_name))  # type: ignore[misc]  # botocore's stubs omit it


class _WorldSession(boto3.Session):
    """boto3's default session while worlds run, one for the process (a session costs ~10 ms to make, its reader of
    botocore's service descriptions more to fill); its `events` are the hooks of the world running, which each world's
    start replaces. botocore copies a session's handlers into each client it makes, so a client kept from an earlier
    world (a function's, local/lambdas.py) would miss this world's hooks and run its own world's. Here no client
    holds a world's hooks: each relays its calls to those of the world running, whichever world made it."""

    def __init__(self) -> None:
        self.hooks = _WorldHooks()
        session = botocore.session.get_session()
        # On the operation's own level, where a wildcard comes first: a world's hooks run before the client's own
        # handlers, as they did when botocore copied them into it (a test's hook on a client comes after them).
        for event in RELAYED_EVENTS:  # before any client copies the session's handlers
            session.register(f"{event}.*.*", _relay)  # type: ignore[arg-type]
        super().__init__(botocore_session=session, region_name=REGION)

    @property
    def events(self) -> _WorldHooks:
        return self.hooks


def _relay(event_name: str, **kwargs: Any) -> Any:
    """A client's call meets the running world's hooks as it would its own handlers."""
    session = boto3.DEFAULT_SESSION
    if not isinstance(session, _WorldSession):  # no world: a test's own moto (test_deploy)
        return None
    if RELAYED_EVENTS[event_name.partition(".")[0]]:
        return session.events.emit_until_response(event_name, **kwargs)[1]
    return first_non_none_response(session.events.emit(event_name, **kwargs))


@cache
def _world_session() -> _WorldSession:
    environments.install()  # before the session: so it reads the AWS settings of the function running, if one is
    return _WorldSession()


class _BotocoreMock(MockAWS):
    """moto answering botocore's calls, which are all of a world's AWS calls (moto's stubber answers them). At each
    start moto also registers its ~1,300 URL patterns with `responses`, for code calling AWS through the requests
    library, which nothing here does: ~8 ms of CPU a world, and each request a test made to the local server was
    matched against them all.
    moto counts the mocks running on the class started, this one apart from mock_aws: the world counts itself on
    mock_aws's too, so that a mock_aws started inside it nests in it (no reset of its moto at the start, no stop at
    the end), and it refuses to start inside a mock_aws, whose moto it would reset and then stop."""

    def start(self, reset: bool = True) -> None:
        if MockAWS._nested_count:
            raise RuntimeError("a world cannot start inside moto's mock_aws or another world")
        super().start(reset)
        MockAWS._nested_count, MockAWS._mocks_active = 1, True

    def stop(self, remove_data: bool = True) -> None:
        MockAWS._nested_count, MockAWS._mocks_active = 0, False
        super().stop(remove_data)

    def _enable_patching(self, reset: bool = True) -> None:
        botocore_stubber.enabled = True
        if reset:
            self.reset()

    def _disable_patching(self, remove_data: bool) -> None:
        botocore_stubber.enabled = False
        if remove_data:
            self.reset()
            reset_model_data()


class EmbeddedAws:
    """Starts moto, creates what the template declares and answers its references (!Ref, !GetAtt)."""

    def __init__(
        self,
        template: Template,
        *,
        parameters: dict[str, str] | None = None,
        secret_values: dict[str, str] | None = None,
        echo_outbox: bool = False,
        strict: bool = True,
        messaging_sandbox: bool = False,
    ):
        self.template = template
        self.parameter_overrides = parameters or {}
        self.secret_values = secret_values or {}
        self.outbox = Outbox(echo=echo_outbox, sandbox=messaging_sandbox)
        self.references: dict[str, str] = {}
        self.world_id = f"world-{uuid.uuid4().hex[:12]}"
        # AWS's rules where moto is kinder (local/strict.py); off only to show what moto lets through.
        self.strict = StrictWorld() if strict else None
        self._mock = _BotocoreMock(
            config={
                # moto would set boto3's default session to None at start and put the previous one back at stop.
                # A workflow thread of an ended world that makes its client while there is none (boto3.client)
                # sets up a session of its own, and may set it after the next world has set up its own (outbox,
                # strict rules, Lambda tasks): that world's calls then went through the thread's session unseen.
                # The default session is set only by a world's start (the process's one, _world_session).
                "core": {**default_user_config["core"], "reset_boto3_session": False},
                "stepfunctions": {"execute_state_machine": True},
            }
        )
        self._clients: dict[str, Any] = {}
        self._kind = ""  # its template's parameters and the steps seeded so far (`seed`)
        self._as_seeded = True  # nothing but seeded steps has changed it
        self._called = False  # a call to AWS since the last step
        self._secrets_read: set[str] = set()  # by the current step

    def start(self) -> "EmbeddedAws":
        os.environ.update(
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
        )
        moto_transactions.install()
        moto_asl.install(WORLD_IDS)
        self._mock.start()
        session = _world_session()
        session.hooks = _WorldHooks()
        boto3.DEFAULT_SESSION = session
        self._clients.clear()
        self.outbox.install(boto3.DEFAULT_SESSION)  # type: ignore[arg-type]
        if self.strict:
            self.strict.install(boto3.DEFAULT_SESSION)  # type: ignore[arg-type]
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("provide-client-params", self._note_call)
        events.register("provide-client-params.secretsmanager.GetSecretValue", self._note_secret_read)
        self._kind = json.dumps([self.parameter_overrides, self.secret_values], sort_keys=True)
        self.seed("provisioned", self._provision)
        return self

    def seed(self, step: str, action: Callable[[], object]) -> None:
        """Runs `action` on the first world of this kind in the process; later worlds of the kind start from a
        copy of what it left in moto instead. It must change nothing but moto's state, the same way each time and
        without reading a generated secret (each world has its own): provisioning, the administrator's bootstrap.
        A world's steps come in the same order each time. Once anything calls AWS between two steps (a test
        writing before it asks for the administrator, say), the world is no longer as seeded: later steps run.
        So do they after a step that read a generated secret (a bootstrap given no password): it is not kept."""
        kinds = _SEEDED.setdefault(self.template, {})
        self._kind += f" {step}"
        self._as_seeded = self._as_seeded and not self._called
        if self._as_seeded and (done := kinds.get(self._kind)):
            self._restore(done)
        else:
            self._secrets_read.clear()
            action()
            names = self._generated_secrets()
            read_generated = self._secrets_read & (names | {self.references[name] for name in names})
            self._as_seeded = self._as_seeded and not read_generated
            if self._as_seeded:
                kinds[self._kind] = _Seeded(self.world_id, dict(self.references), moto_snapshot.take())
        self._called = False

    def _note_call(self, **_: Any) -> None:
        self._called = True

    def _note_secret_read(self, params: dict[str, Any], **_: Any) -> None:
        self._secrets_read.add(str(params.get("SecretId")))

    def _generated_secrets(self) -> set[str]:
        """The template's secrets this world was given no value for: CloudFormation generates them."""
        declared = self.template.resources_of("AWS::SecretsManager::Secret")
        return {name for name in declared if not self.secret_values.get(name)}

    def stop(self) -> None:
        """Stops running workflow executions first. One that cannot be stopped goes on in its thread, but its
        Lambda tasks name this world's id, which no later world answers."""
        try:
            for machine, execution in workflow_executions():
                if execution.exec_status == ExecutionStatus.RUNNING:
                    with contextlib.suppress(Exception):
                        machine.stop_execution(execution.execution_arn)
        finally:
            self._mock.stop()
            if self.strict:
                self.strict.uninstall()

    def client(self, service: str) -> Any:
        """The world's own client of a service, made once: building a client costs milliseconds, and the world
        makes dozens of calls to provision itself."""
        if service not in self._clients:
            self._clients[service] = boto3.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    def __enter__(self) -> "EmbeddedAws":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _provision(self) -> None:
        self.references = {
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "wallet-local",
            **self.template.parameters(),
            **OPERATOR_PARAMETERS,
            **self.parameter_overrides,
        }
        if missing := set(self.template.body.get("Parameters", {})) - set(self.references):
            raise ValueError(f"parameters without a default need a value: {sorted(missing)}")
        for name, props in self.template.resources_of("AWS::DynamoDB::Table").items():
            self.references[name] = self._create_table(name, resolve(props, self.references))
        queues = self.template.resources_of("AWS::SQS::Queue")
        for name in queues:
            self.references |= self._create_queue(name)
        for name, props in queues.items():  # once every queue exists: dead-letter targets resolve
            self._configure_queue(name, resolve(props, self.references))
        for name, props in self.template.resources_of("AWS::SecretsManager::Secret").items():
            self.references[name] = self._create_secret(name, props)
        for name in self.template.resources_of("AWS::Serverless::Function"):
            # Qualified with this world's id: tests start many worlds, and a workflow thread left from
            # one must not reach the handlers of the next.
            self.references[name] = name
            self.references[f"{name}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:{self.world_id}"
        for name, props in self.template.resources_of("AWS::Events::Rule").items():
            self.references |= self._create_rule(name, resolve(props, self.references))
        for name, props in self.template.resources_of("AWS::Serverless::StateMachine").items():
            arn = self._create_state_machine(name, props)
            self.references |= {name: arn, f"{name}.Arn": arn, f"{name}.Name": name}
        self.client("ses").verify_email_identity(EmailAddress=self.references["SenderEmail"])

    def _restore(self, seeded: _Seeded) -> None:
        """moto as the seeded steps left it, from a copy: with this world's own id in the ARNs of the functions its
        state machines call, and its own generated secrets."""

        def own(text: str) -> str:
            return text.replace(seeded.world_id, self.world_id)

        self.references = {name: own(value) for name, value in seeded.references.items()}
        generated = self._generated_secrets()
        for backend in moto_snapshot.restore(seeded.moto):
            if isinstance(backend, StepFunctionBackend):
                for machine in backend.state_machines:
                    machine.definition = own(machine.definition)
            if isinstance(backend, SecretsManagerBackend):
                for name in generated:  # its one version gets another value, as a new deployment generates
                    secret, value = backend.secrets[name], _generated_secret()
                    assert isinstance(secret, FakeSecret)  # not a replica: the template makes none
                    secret.secret_string = value
                    for version in secret.versions.values():
                        version["secret_string"] = value

    def _create_table(self, name: str, props: dict[str, Any]) -> str:
        table_name = str(props.get("TableName", name))
        client = self.client("dynamodb")
        created = {key: props[key] for key in TABLE_PROPERTIES if key in props}
        if "StreamSpecification" in created:  # CloudFormation enables a stream by giving its view type
            created["StreamSpecification"] = {"StreamEnabled": True, **created["StreamSpecification"]}
        description = client.create_table(TableName=table_name, **created)["TableDescription"]
        if stream_arn := description.get("LatestStreamArn"):
            self.references[f"{name}.StreamArn"] = stream_arn
        if ttl := props.get("TimeToLiveSpecification"):
            client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
        return table_name

    def _create_queue(self, name: str) -> dict[str, str]:
        url = str(self.client("sqs").create_queue(QueueName=name)["QueueUrl"])
        return {name: url, f"{name}.Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}", f"{name}.QueueName": name}

    def _configure_queue(self, name: str, props: dict[str, Any]) -> None:
        attributes: dict[str, Any] = {
            key: str(props[key]) for key in ("VisibilityTimeout", "MessageRetentionPeriod") if key in props
        }
        if redrive := props.get("RedrivePolicy"):
            attributes["RedrivePolicy"] = json.dumps(redrive)
        if attributes:
            self.client("sqs").set_queue_attributes(QueueUrl=self.references[name], Attributes=attributes)

    def _create_rule(self, name: str, props: dict[str, Any]) -> dict[str, str]:
        """A rule on the default bus with its targets (moto delivers to SQS targets as EventBridge does)."""
        events = self.client("events")
        arn = str(events.put_rule(Name=name, EventPattern=json.dumps(props["EventPattern"]))["RuleArn"])
        events.put_targets(
            Rule=name, Targets=[{"Id": target["Id"], "Arn": target["Arn"]} for target in props["Targets"]]
        )
        return {name: name, f"{name}.Arn": arn}

    def _create_state_machine(self, name: str, props: dict[str, Any]) -> str:
        """Our own ASL with the template's substitutions, run by moto's interpreter."""
        definition = (self.template.root / props["DefinitionUri"]).read_text()
        for key, value in resolve(props.get("DefinitionSubstitutions", {}), self.references).items():
            definition = definition.replace(f"${{{key}}}", str(value))
        answer = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}Role"
        )
        return str(answer["stateMachineArn"])

    def _create_secret(self, name: str, props: dict[str, Any]) -> str:
        value = self.secret_values.get(name) or _generated_secret()
        answer = self.client("secretsmanager").create_secret(
            Name=name, SecretString=value, Description=props.get("Description", "")
        )
        return str(answer["ARN"])

    def function_environment(self, function_environment: dict[str, Any]) -> dict[str, str]:
        return {key: str(resolve(value, self.references)) for key, value in function_environment.items()}

    def process_environment(self) -> dict[str, str]:
        """Every function's variables together: the environment tests run the layer in directly (each
        function itself is invoked with its own only). Globals give every function the same values."""
        merged: dict[str, str] = {}
        for function in self.template.functions().values():
            for key, value in self.function_environment(function.environment).items():
                if merged.setdefault(key, value) != value:
                    raise ValueError(f"functions disagree on {key}: the local server runs them in one process")
        return merged
