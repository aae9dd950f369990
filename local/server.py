"""An HTTP server that routes like API Gateway from template.yaml and calls the handlers in-process."""

import base64
import json
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from swagger_ui_bundle import swagger_ui_path

from local.edge import Edge, GatewayError
from local.lambdas import LocalLambdas
from local.template import Route

OUTBOX_PATH = "/_local/outbox"
DOCS_PATH = "/docs"
# The interactive page of the contract the API serves at /openapi.json; Swagger UI's own files, from its package.
DOCS_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wallet API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="docs"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#docs", persistAuthorization: true});</script>
</body></html>
"""
DOCS_ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response limit
INTERNAL_SERVER_ERROR = b'{"message": "Internal server error"}'
PROXY_ANSWER_TYPES: dict[str, type | tuple[type, ...]] = {
    "statusCode": int,
    "headers": (dict, type(None)),
    "multiValueHeaders": (dict, type(None)),
    "body": (str, type(None)),
    "isBase64Encoded": bool,
}


class MalformedProxyAnswer(ValueError):
    """What API Gateway answers 502 for: a Lambda result it cannot turn into an HTTP response."""


def api_gateway_event(
    route: Route,
    method: str,
    url: str,
    headers: list[tuple[str, str]] | dict[str, str],
    body: bytes,
    stage: str,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The REST API proxy event that API Gateway builds: a repeated header is kept whole in
    `multiValueHeaders` (`headers` has its last value), and with no binary media types declared the
    body is passed as text, whatever its bytes."""
    parts = urlsplit(url)
    match = route.pattern.match(parts.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    multi_value_headers: dict[str, list[str]] = {}
    for name, value in headers.items() if isinstance(headers, dict) else headers:
        multi_value_headers.setdefault(name, []).append(value)
    single_headers = {name: values[-1] for name, values in multi_value_headers.items()}
    return {
        "resource": route.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        # API Gateway hands a function its path parameters URL-decoded.
        "pathParameters": ({name: unquote(value) for name, value in match.groupdict().items()} if match else None)
        or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{stage}{parts.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": single_headers.get("User-Agent", "")},
            "protocol": "HTTP/1.1",
            **({"authorizer": authorizer} if authorizer else {}),
        },
        "body": body.decode(errors="replace") or None,
        "isBase64Encoded": False,
    }


def http_answer(answer: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP response for a Lambda proxy answer, checked as API Gateway checks it."""
    if not isinstance(answer, dict) or "statusCode" not in answer or set(answer) - set(PROXY_ANSWER_TYPES):
        raise MalformedProxyAnswer(f"not a proxy answer: {str(answer)[:200]}")
    for key, expected in PROXY_ANSWER_TYPES.items():
        if key in answer and not isinstance(answer[key], expected):
            raise MalformedProxyAnswer(f"{key} is a {type(answer[key]).__name__}")
    if isinstance(answer["statusCode"], bool) or not 100 <= answer["statusCode"] <= 599:
        raise MalformedProxyAnswer(f"statusCode {answer['statusCode']}")
    if len(json.dumps(answer)) > MAX_RESPONSE_BYTES:
        raise MalformedProxyAnswer("the answer is over Lambda's 6 MB response limit")
    headers = [(str(name), _header_value(value)) for name, value in (answer.get("headers") or {}).items()]
    for name, values in (answer.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyAnswer(f"multiValueHeaders {name} is not a list")
        headers += [(str(name), _header_value(value)) for value in values]
    payload = answer.get("body") or ""
    try:
        content = base64.b64decode(payload, validate=True) if answer.get("isBase64Encoded") else payload.encode()
    except ValueError as error:
        raise MalformedProxyAnswer("body is not base64") from error
    return answer["statusCode"], headers, content


def _header_value(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise MalformedProxyAnswer(f"a header value is a {type(value).__name__}")
    return str(value)


class LocalApi(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # 64 clients connecting at once wait for their turn instead of being reset

    def __init__(self, address: tuple[str, int], lambdas: LocalLambdas):
        super().__init__(address, _RequestHandler)
        self.lambdas = lambdas
        self.routes = lambdas.aws.template.routes()
        self.stage = lambdas.aws.references.get("Stage", "dev")
        self.edge = Edge(lambdas, self.stage)

    def find_route(self, method: str, path: str) -> Route | None:
        candidates = [route for route in self.routes if route.pattern.match(path)]
        # A literal path wins over a templated one, as in API Gateway.
        candidates.sort(key=lambda route: route.path.count("{"))
        for route in candidates:
            if route.method in (method, "ANY"):
                return route
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApi
    protocol_version = "HTTP/1.1"
    # An answer goes out as two writes (head, then body): with Nagle's algorithm the body waits for the client's
    # delayed ACK of the head, ~40 ms of every request spent idle.
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Any:
        """Every method (GET, TRACE, OPTIONS, HEAD, any other) is routed: an unknown one meets the API's 404."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        body = self._body()
        if len(body) > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._send(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}')
            return
        path = urlsplit(self.path).path
        if self.command == "GET" and path == OUTBOX_PATH:
            wanted = parse_qs(urlsplit(self.path).query).get("to", [None])[-1]
            self._send(200, [("Content-Type", "application/json")], self._outbox(wanted))
            return
        if self.command == "GET" and (path == DOCS_PATH or path.startswith(DOCS_PATH + "/")):
            self._docs(path.removeprefix(DOCS_PATH).lstrip("/"))
            return
        headers = dict(self.headers.items())
        route = self.server.find_route(self.command, path)
        try:
            if route is None:
                raise GatewayError("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            authorizer = self.server.edge.authorize(route, headers, path)
        except GatewayError as error:
            self._send_gateway_error(error)
            return
        event = api_gateway_event(
            route, self.command, self.path, self.headers.items(), body, self.server.stage, authorizer
        )
        try:
            status, answer_headers, content = http_answer(self.server.lambdas.invoke(route.function, event))
        except Exception as error:  # the function failed, or answered what API Gateway cannot map: 502
            print(f"[api] {route.function} failed: {type(error).__name__}: {error}", flush=True)
            status, answer_headers, content = 502, [("Content-Type", "application/json")], INTERNAL_SERVER_ERROR
        self._send(status, answer_headers, content)

    def _body(self) -> bytes:
        """The request's body, sent with a Content-Length or in chunks."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk
        while self.rfile.readline().strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _docs(self, asset: str) -> None:
        if not asset:
            self._send(200, [("Content-Type", "text/html; charset=utf-8")], DOCS_PAGE)
        elif asset in DOCS_ASSETS:
            self._send(200, [("Content-Type", DOCS_ASSETS[asset])], (swagger_ui_path / asset).read_bytes())
        else:
            self._send_gateway_error(GatewayError("MISSING_AUTHENTICATION_TOKEN", "No such asset"))

    def _send_gateway_error(self, error: GatewayError) -> None:
        status, headers, content = self.server.edge.response(error)
        self._send(status, list(headers.items()), content)

    def _outbox(self, to: str | None) -> bytes:
        return json.dumps({"records": self.server.lambdas.aws.outbox.records(to)}).encode()

    def _send(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        print(f"[api] {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)
