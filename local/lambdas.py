"""Runs the template's functions in this process, each as in its own container: its own environment, its own
copy of the layer (and so its own caches), its Timeout and its real remaining time."""

import importlib.util
import inspect
import io
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient
from botocore.response import StreamingBody

from local import environments
from local.aws import ACCOUNT_ID, REGION, EmbeddedAws
from local.template import Function

# Context variables, not thread-locals: a handler's own threads (a parallel scan's segments) run in copies of its
# context, so their calls are its calls too, made in its environment.
_running: ContextVar[str | None] = ContextVar("running_function", default=None)
_invocation: ContextVar["LambdaContext | None"] = ContextVar("invocation", default=None)


def running_function() -> str | None:
    """The function whose handler this thread is running, so its AWS calls can be told apart."""
    return _running.get()


def invocation_clock() -> float:
    """What a function's Timeout counts: the CPU time of this process, where the function, its threads and the
    AWS it calls (moto) run, so that a machine busy with other work does not time functions out. Unlike Lambda,
    time spent waiting (a sleep, a socket) is not counted."""
    return time.process_time()


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 128  # Lambda's defaults
    deadline: float = field(default_factory=lambda: invocation_clock() + 3)  # when the Timeout runs out
    function_version: str = "$LATEST"
    aws_request_id: str = ""

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - invocation_clock()) * 1000))


class FunctionTimedOut(Exception):
    """Lambda's error for an invocation that ran past its function's Timeout."""

    error_type = "Sandbox.Timedout"


class MarshalError(TypeError):
    """The Lambda Python runtime could not serialise a function's result."""

    error_type = "Runtime.MarshalError"


@dataclass
class _LayerCopy:
    """One function's copy of the layer's modules, as its containers import them."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    # (module, attribute): containers the import left empty, filled since by invocations (caches)
    empty_at_import: list[tuple[ModuleType, str]] = field(default_factory=list)
    noted: set[str] = field(default_factory=set)
    # Its functions with a cache (functools'), as the import defined them
    caches: list[Any] = field(default_factory=list)
    # The function's AWS_ variables (region, credentials...) when its runtime started: what its clients are made with
    aws_settings: dict[str, str] = field(default_factory=dict)
    # Each cache holding an AWS client an invocation made, with the client's handlers when it was made
    clients: dict[Any, tuple[BaseClient, list[tuple[str, Any]]]] = field(default_factory=dict)

    def note_imports(self) -> None:
        for name, module in self.modules.items():
            if name not in self.noted:
                self.noted.add(name)
                self.empty_at_import += [
                    (module, attribute)
                    for attribute, value in vars(module).items()
                    if isinstance(value, dict | list | set) and not value and not attribute.startswith("__")
                ]
                self.caches += [
                    value
                    for value in vars(module).values()
                    if getattr(value, "__module__", None) == module.__name__ and hasattr(value, "cache_clear")
                ]

    def note_clients(self, held_before: set[Any]) -> None:
        """Notes the AWS clients an invocation made (those held before it may be a test's, made and hooked outside
        the function), each with its handlers as made. Only a client retrying in botocore's legacy mode may be kept:
        the standard and adaptive modes (a developer's AWS_RETRY_MODE) keep a retry quota and a rate limiter."""
        for cached in self.caches:
            client = _client(_held(cached)) if cached not in held_before else None
            if client and client.meta.config.retries["mode"] == "legacy":  # type: ignore[attr-defined]  # set by botocore
                self.clients[cached] = (client, _handlers(client))

    def start_cold(self, aws_settings: dict[str, str]) -> None:
        """As a new deployment's containers start: the layer's caches as the import left them, but for the AWS
        clients its invocations made (or Powertools' provider of secrets on one, its values forgotten), while the
        function's AWS settings stay those they were made with and the clients' handlers those they were made with.
        A new container would make the same client, and it holds no world's hooks (local/aws.py relays its calls to
        the running world's) unless a test left one on it; making one costs milliseconds, and every world's
        functions made a dozen."""
        keep_clients, self.aws_settings = aws_settings == self.aws_settings, aws_settings
        for cached in self.caches:
            made = self.clients.pop(cached, None)
            held = _held(cached) if keep_clients and made else None
            if made and made[0] is _client(held) and _handlers(made[0]) == made[1]:
                self.clients[cached] = made
                if isinstance(held, SecretsProvider):
                    held.clear_cache()
            else:
                cached.cache_clear()
        for module, attribute in self.empty_at_import:
            getattr(module, attribute).clear()


def _client(held: Any) -> BaseClient | None:
    """The AWS client (botocore's) a cache holds, itself or under Powertools' provider of secrets."""
    if isinstance(held, SecretsProvider):
        held = held.client
    return held if isinstance(held, BaseClient) else None


def _handlers(client: BaseClient) -> list[tuple[str, Any]]:
    """Every handler on the client's events, with its event, in order (botocore keeps them in a trie)."""
    found: list[tuple[str, Any]] = []
    events: Any = client.meta.events  # botocore's EventAliaser around its emitter
    nodes = [("", events._emitter._handlers._root)]
    while nodes:
        event, node = nodes.pop()
        found += [(event, handler) for handlers in node["values"] or () for handler in handlers]
        nodes += [(f"{event}.{chunk}", child) for chunk, child in node["children"].items()]
    return found


def _held(cached: Any) -> Any:
    """What a cache of a function of no arguments holds (None when it is empty or takes arguments)."""
    info = getattr(cached, "cache_info", None)
    if info is None or info().currsize != 1 or inspect.signature(cached).parameters:
        return None
    return cached()


# Each function's copy of the layer, kept for the process: importing the layer again for every new runtime (each
# test's world) would cost some 0.2 s a function. A new runtime starts the copies cold instead.
_LAYER_COPIES: dict[str, _LayerCopy] = {}


def layer_copies(module_name: str) -> list[ModuleType]:
    """Every function's copy of a layer module (a test replacing a part of the layer replaces it in each)."""
    return [copy.modules[module_name] for copy in _LAYER_COPIES.values() if module_name in copy.modules]


class LocalLambdas:
    """Each function runs as in its own container: exactly its own variables and Lambda's reserved ones (none
    of another function's), its own copy of the layer's modules and their caches, its Timeout and its real
    remaining time. moto's DynamoDB is not thread-safe, so invocations run one at a time, as each call would be
    atomic."""

    def __init__(self, aws: EmbeddedAws):
        self.aws = aws
        self.functions = aws.template.functions()
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self.lock = threading.RLock()
        self._closed = False
        self._variables = {name: self._own_variables(function) for name, function in self.functions.items()}
        # Every variable some function is given: the others must not see it, though the process has them all.
        self._declared = {name for variables in self._variables.values() for name in variables}
        self._layer_packages = {
            package.name
            for function in self.functions.values()
            for layer in function.layers
            for package in layer.iterdir()
            if (package / "__init__.py").exists()
        }
        self._layer_prefixes = tuple(f"{package}." for package in self._layer_packages)
        self._other_modules: set[str] = set()  # loaded modules that are not the layer's
        with self.lock:
            for name, function in self.functions.items():
                environment = self._environment(function)
                aws_settings = {key: value for key, value in environment.items() if key.startswith("AWS_")}
                if name in _LAYER_COPIES:
                    _LAYER_COPIES[name].start_cold(aws_settings)
                else:  # the process's first runtime imports each function's copy, so tests can replace parts
                    with self._container(function):
                        self._load(function)
                    _LAYER_COPIES[name].aws_settings = aws_settings
        # Step Functions' Lambda tasks (and any lambda:Invoke) reach these handlers, not Docker.
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("provide-client-params.lambda.Invoke", self._remember_invocation)
        events.register("before-call.lambda.Invoke", self._answer_invocation)  # type: ignore[arg-type]

    def close(self) -> None:
        """No more invocations: a workflow thread still finishing gets an error, not our handlers."""
        with self.lock:
            self._closed = True

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        """As Lambda runs it; one that overran its Timeout fails as on Lambda (here it ran to its end)."""
        with self.lock:
            if self._closed:
                raise RuntimeError("this local Lambda runtime is closed")
            function = self.functions[function_name]
            with self._container(function):
                handler = self._handlers.get(function_name) or self._load(function)
                request_id = str(uuid.uuid4())
                deadline = invocation_clock() + function.timeout_seconds  # the init before it is not counted
                context = LambdaContext(function_name, function.memory_mb, deadline, aws_request_id=request_id)
                invocation = _invocation.set(context)
                try:
                    result = handler(event, context)
                finally:
                    _invocation.reset(invocation)
                if invocation_clock() > context.deadline:
                    raise FunctionTimedOut(f"{request_id} Task timed out after {function.timeout_seconds:.2f} seconds")
            return result

    def layer_module(self, function_name: str, module_name: str) -> ModuleType:
        """A module of the layer as the function imported it (tests replace its parts)."""
        return _LAYER_COPIES[function_name].modules[module_name]

    @contextmanager
    def _container(self, function: Function) -> Iterator[None]:
        """This thread as the function's container: its environment and its copy of the layer."""
        copy = _LAYER_COPIES.setdefault(function.logical_id, _LayerCopy())
        held_before = {cached for cached in copy.caches if cached.cache_info().currsize}
        outside = {name: sys.modules.pop(name) for name in self._layer_modules_loaded()}
        sys.modules.update(copy.modules)
        running, environment = _running.set(function.logical_id), environments.current.set(self._environment(function))
        try:
            yield
        finally:
            environments.current.reset(environment)
            _running.reset(running)
            copy.modules.update({name: sys.modules.pop(name) for name in self._layer_modules_loaded()})
            copy.note_imports()
            copy.note_clients(held_before)
            sys.modules.update(outside)

    def _layer_modules_loaded(self) -> list[str]:
        # Run twice an invocation on thousands of names: each name is looked at once, later only new ones.
        unseen = sys.modules.keys() - self._other_modules
        layer = [name for name in unseen if name.startswith(self._layer_prefixes) or name in self._layer_packages]
        self._other_modules.update(unseen.difference(layer))
        return layer

    def _environment(self, function: Function) -> dict[str, str]:
        """The function's variables, over what the host gives every process (PATH, credentials, local settings)."""
        host = {name: value for name, value in environments.install().process.items() if name not in self._declared}
        return host | self._variables[function.logical_id]

    def _own_variables(self, function: Function) -> dict[str, str]:
        """The function's own variables and those Lambda reserves (credentials come from the host)."""
        return {
            **self.aws.function_environment(function.environment),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(function.code_uri),
            "_HANDLER": function.handler,
            "TZ": ":UTC",
            # As `sam local` sets it: Powertools' Tracer then stays off, as no X-Ray daemon runs here.
            "AWS_SAM_LOCAL": "true",
        }

    @staticmethod
    def _remember_invocation(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["local_invocation"] = params

    def _answer_invocation(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        """Answers lambda:Invoke as Lambda would, with an unhandled error as FunctionError. An asynchronous
        invocation (InvocationType Event) is run before answering, the local server running one at a time, but
        answered as Lambda does: 202, no payload, its error only logged."""
        params = context["local_invocation"]
        if params.get("InvocationType") == "Event":
            return self._answer_event(params)
        function_name, world = _function_and_world(params)
        payload = params.get("Payload") or b"{}"
        answer: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        try:
            if world != self.aws.world_id:
                raise LookupError(f"{function_name} of {world or 'no world'} is not served here")
            # The result as the Python runtime serialises it: one it cannot is the invocation's error.
            body = json.dumps(self.invoke(function_name, json.loads(payload)), default=_runtime_json).encode()
        except Exception as error:  # becomes the invocation's FunctionError, as on Lambda
            error_type = getattr(error, "error_type", type(error).__name__)
            body = json.dumps({"errorType": error_type, "errorMessage": str(error)}).encode()
            answer["FunctionError"] = "Unhandled"
        answer["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        return AWSResponse("", 200, HTTPHeaders(), None), answer

    def _answer_event(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        function_name, world = _function_and_world(params)
        if world != self.aws.world_id:
            raise LookupError(f"{function_name} of {world or 'no world'} is not served here")
        caller, started = _invocation.get(), invocation_clock()
        try:
            self.invoke(function_name, json.loads(params.get("Payload") or b"{}"))
        except Exception:  # Lambda logs an asynchronous invocation's error; its caller never sees it
            traceback.print_exc()
        if caller:  # on Lambda the caller goes on at once: the time run here is not the caller's
            caller.deadline += invocation_clock() - started
        answer = {"StatusCode": 202, "Payload": StreamingBody(io.BytesIO(b""), 0)}
        return AWSResponse("", 202, HTTPHeaders(), None), answer

    def _load(self, function: Function) -> Callable[[dict[str, Any], Any], Any]:
        module_file, _, attribute = function.handler.rpartition(".")
        for layer in function.layers:  # where Lambda mounts a layer's code: on the import path
            if str(layer) not in sys.path:
                sys.path.append(str(layer))
        # A unique module name per function: two functions may both have an app.py.
        spec = importlib.util.spec_from_file_location(
            f"wallet_function_{function.logical_id}", function.code_uri / f"{module_file}.py"
        )
        assert spec
        assert spec.loader
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self._handlers[function.logical_id] = getattr(module, attribute)
        return self._handlers[function.logical_id]


def _function_and_world(params: dict[str, Any]) -> tuple[str, str]:
    # arn:aws:lambda:<region>:<account>:function:<name>:<world id>
    function_name, _colon, world = str(params["FunctionName"]).split(":function:")[-1].partition(":")
    return function_name, world


def _runtime_json(value: Any) -> float:
    """The Lambda Python runtime's serialiser: a Decimal becomes a float, any other unknown type is refused
    (moto would pass anything, as text)."""
    if isinstance(value, Decimal):
        return float(value)
    raise MarshalError(f"Unable to marshal response: {type(value).__name__} is not JSON serializable")
