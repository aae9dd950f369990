"""The HTTP face every function shares: one resolver set-up, the error shape, the caller's identity."""

import json
from dataclasses import replace
from re import Match
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header

from wallet.auth import Caller, caller_from_authorization_header, defer_current_token_check
from wallet.aws import deferred_read, settle_deferred_read
from wallet.dynamo import page_scope
from wallet.edge import checked_event, list_scope, parse_json_body
from wallet.errors import WalletError
from wallet.observability import logger

# Every money-moving POST takes one: the same key and body answer the first result, another body 409.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)]


class WalletResolver(APIGatewayRestResolver):
    """Authenticates the caller before anything else, as an API Gateway authorizer would: a request
    without a valid token learns nothing about routes or schemas."""

    def __init__(self, *, authenticated: bool):
        super().__init__(enable_validation=True, json_body_deserializer=parse_json_body)
        self.authenticated = authenticated

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        """The caller first (401), then the body's media type and form (415, 400), then the route. A call that
        may change something also checks that its token was not revoked: with its first BatchGetItem, before it
        changes anything, or at its end, whichever comes first; a revoked token gets 401 whatever was answered."""
        self.clear_context()
        due = deferred_read.set(None)
        try:
            answer = self._answer(event, context)
            settle_deferred_read()
        except WalletError as error:
            self.clear_context()
            return _proxy_error(error)
        finally:
            deferred_read.reset(due)
        return answer

    def _answer(self, event: Any, context: Any) -> dict[str, Any]:
        caller_id = ""
        try:
            if self.authenticated:
                headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
                who = caller_from_authorization_header(headers.get("authorization"))
                if event.get("httpMethod") != "GET":  # a call that may change something
                    defer_current_token_check(who)
                self.append_context(caller=replace(who, source_ip=_source_ip(event)))
                caller_id = who.user_id
            event, body = checked_event(event)
        except WalletError as error:
            self.clear_context()
            return _proxy_error(error)
        scope = page_scope.set(list_scope(event, body, caller_id))
        try:
            return super().resolve(event, context)
        finally:
            page_scope.reset(scope)

    def _convert_matches_into_route_keys(self, match: Match[str]) -> dict[str, str]:
        """The path parameters as API Gateway hands them over, URL-decoded (the route is matched on the path as
        sent, still encoded: `%C3%A9` is one character of an id, not six)."""
        decoded = self.current_event.path_parameters or {}
        return {name: decoded.get(name, value) for name, value in match.groupdict().items()}


def _proxy_error(error: WalletError) -> dict[str, Any]:
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error.body()),
        "isBase64Encoded": False,
    }


def create_app(*, authenticated: bool = True) -> WalletResolver:
    app = WalletResolver(authenticated=authenticated)

    @app.exception_handler(WalletError)
    def domain_error(error: WalletError) -> Response[Any]:
        headers = {}
        if retry_after := getattr(error, "retry_after_seconds", None):
            headers["Retry-After"] = str(retry_after)
        return _error_response(error.status, error.body(), headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        details = [{"field": _field_name(issue["loc"]), "issue": issue["msg"]} for issue in error.errors()]
        body = {"code": "VALIDATION_ERROR", "message": "The request is not valid", "details": details}
        return _error_response(400, body)

    @app.exception_handler(Exception)
    def unexpected_error(error: Exception) -> Response[Any]:
        logger.exception("Unexpected error")
        return _error_response(500, {"code": "INTERNAL_ERROR", "message": "Something went wrong", "details": []})

    @app.not_found
    def unknown_route(_: NotFoundError) -> Response[Any]:
        return _error_response(404, {"code": "NOT_FOUND", "message": "No such route", "details": []})

    return app


def caller(app: APIGatewayRestResolver) -> Caller:
    return app.context["caller"]  # type: ignore[no-any-return]


def source_ip(app: APIGatewayRestResolver) -> str | None:
    """Where a public route's request came from (API Gateway's view), for the audit trail."""
    return _source_ip(app.current_event.raw_event)


def _source_ip(event: dict[str, Any]) -> str | None:
    return ((event.get("requestContext") or {}).get("identity") or {}).get("sourceIp")


def _field_name(location: tuple[Any, ...]) -> str:
    """('body', 'filter', 'type') -> 'filter.type'; a body that is not JSON at all -> 'body'."""
    if location[:1] != ("body",):
        return str(location[-1]) if location else "body"  # ('query', 'pageSize') -> 'pageSize'
    return ".".join(str(part) for part in location[1:] if isinstance(part, str)) or "body"


def _error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers)
