"""What API Gateway does before a function runs, read from the template: the token authorizer (its answer
cached per token) and the gateway responses, so `make run` refuses and answers exactly as the stage would."""

import fnmatch
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from local.aws import ACCOUNT_ID, REGION
from local.lambdas import LocalLambdas
from local.template import Route, TokenAuthorizer

# API Gateway's own status for each of its responses, when the template sets none.
DEFAULT_STATUS = {
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "AUTHORIZER_FAILURE": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "THROTTLED": 429,
}


@dataclass
class GatewayError(Exception):
    response_type: str
    message: str


class Edge:
    def __init__(self, lambdas: LocalLambdas, stage: str):
        template = lambdas.aws.template
        self.lambdas = lambdas
        self.stage = stage
        self.authorizer: TokenAuthorizer | None = template.token_authorizer()
        self.responses: dict[str, Any] = template.gateway_responses()
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    def authorize(self, route: Route, headers: dict[str, str], path: str) -> dict[str, Any] | None:
        """The authorizer's context for the function, or GatewayError; None on a public route."""
        if route.public or self.authorizer is None:
            return None
        token = next((value for name, value in headers.items() if name.lower() == self.authorizer.header.lower()), "")
        if not token or (self.authorizer.validation and not self.authorizer.validation.fullmatch(token)):
            raise GatewayError("UNAUTHORIZED", "Unauthorized")  # refused without invoking the authorizer
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:local/{self.stage}/{route.method}{path}"
        cached = self._cache.get(token)
        if cached and cached[0] > time.monotonic():
            answer = cached[1]
        else:
            answer = self._invoke(token, method_arn)
            self._cache[token] = (time.monotonic() + self.authorizer.ttl_seconds, answer)
        if not _allows(answer.get("policyDocument", {}), method_arn):
            raise GatewayError("ACCESS_DENIED", "User is not authorized to access this resource")
        return {"principalId": answer.get("principalId"), **(answer.get("context") or {})}

    def _invoke(self, token: str, method_arn: str) -> dict[str, Any]:
        assert self.authorizer
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            answer: dict[str, Any] = self.lambdas.invoke(self.authorizer.function, event)
        except Exception as error:  # how a Lambda authorizer refuses, or fails
            if str(error) == "Unauthorized":
                raise GatewayError("UNAUTHORIZED", "Unauthorized") from error
            # API Gateway logs the failure and answers 500; so does the local edge, with the cause.
            print(f"[edge] authorizer failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            raise GatewayError("AUTHORIZER_FAILURE", "Internal server error") from error
        return answer

    def response(self, error: GatewayError) -> tuple[int, dict[str, str], bytes]:
        """The gateway response the template declares for this type, else its DEFAULT_4XX/5XX."""
        own = self.responses.get(error.response_type, {})
        status = int(own.get("StatusCode") or DEFAULT_STATUS.get(error.response_type, 400))
        fallback = self.responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX", {})
        templates = own.get("ResponseTemplates") or fallback.get("ResponseTemplates") or {}
        body = templates.get("application/json", json.dumps({"message": error.message}))
        body = body.replace("$context.error.messageString", json.dumps(error.message))
        return status, {"Content-Type": "application/json"}, body.encode()


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    """IAM's rule for an authorizer's policy: an explicit Deny wins, else an Allow must match."""
    verdicts = set()
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, resource) for resource in resources):
            verdicts.add(statement.get("Effect"))
    return "Allow" in verdicts and "Deny" not in verdicts
