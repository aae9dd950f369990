"""Runs the template's functions in this process, each handler module loaded on its own."""

import importlib.util
import io
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody

from local.aws import ACCOUNT_ID, REGION, EmbeddedAws
from local.template import Function

# A context variable, not a thread-local: a handler's own threads (a parallel scan's segments) run in copies
# of its context, so their calls are its calls too.
_running: ContextVar[str | None] = ContextVar("running_function", default=None)


def running_function() -> str | None:
    """The function whose handler this thread is running, so its AWS calls can be told apart."""
    return _running.get()


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
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
        return 30_000


class LocalLambdas:
    """moto's DynamoDB is not thread-safe, so invocations run one at a time, as each call would be atomic."""

    def __init__(self, aws: EmbeddedAws):
        self.aws = aws
        self.functions = aws.template.functions()
        self._handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self.lock = threading.RLock()
        self._closed = False
        os.environ.update(aws.process_environment())
        # Step Functions' Lambda tasks (and any lambda:Invoke) reach these handlers, not Docker.
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("provide-client-params.lambda.Invoke", self._remember_invocation)
        events.register("before-call.lambda.Invoke", self._answer_invocation)  # type: ignore[arg-type]

    def close(self) -> None:
        """No more invocations: a workflow thread still finishing gets an error, not our handlers."""
        with self.lock:
            self._closed = True

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        with self.lock:
            if self._closed:
                raise RuntimeError("this local Lambda runtime is closed")
            function = self.functions[function_name]
            handler = self._handlers.get(function_name) or self._load(function)
            running = _running.set(function_name)
            try:
                return handler(event, LambdaContext(function_name, aws_request_id=str(uuid.uuid4())))
            finally:
                _running.reset(running)

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
            error_type = "Runtime.MarshalError" if isinstance(error, MarshalError) else type(error).__name__
            body = json.dumps({"errorType": error_type, "errorMessage": str(error)}).encode()
            answer["FunctionError"] = "Unhandled"
        answer["Payload"] = StreamingBody(io.BytesIO(body), len(body))
        return AWSResponse("", 200, HTTPHeaders(), None), answer

    def _answer_event(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        function_name, world = _function_and_world(params)
        if world != self.aws.world_id:
            raise LookupError(f"{function_name} of {world or 'no world'} is not served here")
        try:
            self.invoke(function_name, json.loads(params.get("Payload") or b"{}"))
        except Exception:  # Lambda logs an asynchronous invocation's error; its caller never sees it
            traceback.print_exc()
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


class MarshalError(TypeError):
    """The Lambda Python runtime could not serialise a function's result."""


def _runtime_json(value: Any) -> float:
    """The Lambda Python runtime's serialiser: a Decimal becomes a float, any other unknown type is refused
    (moto would pass anything, as text)."""
    if isinstance(value, Decimal):
        return float(value)
    raise MarshalError(f"Unable to marshal response: {type(value).__name__} is not JSON serializable")
