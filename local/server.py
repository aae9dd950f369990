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


def api_gateway_event(
    route: Route,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    stage: str,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The REST API proxy event that `sam local start-api` and API Gateway build."""
    parts = urlsplit(url)
    match = route.pattern.match(parts.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    try:
        text, is_base64 = body.decode(), False
    except UnicodeDecodeError:
        text, is_base64 = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
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
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "protocol": "HTTP/1.1",
            **({"authorizer": authorizer} if authorizer else {}),
        },
        "body": text or None,
        "isBase64Encoded": is_base64,
    }


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

    def __getattr__(self, name: str) -> Any:
        """Every method (GET, TRACE, OPTIONS, HEAD, any other) is routed: an unknown one meets the API's 404."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if self.command == "GET" and path == OUTBOX_PATH:
            wanted = parse_qs(urlsplit(self.path).query).get("to", [None])[-1]
            self._send(200, {"Content-Type": "application/json"}, self._outbox(wanted))
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
            self._send(*self.server.edge.response(error))
            return
        event = api_gateway_event(route, self.command, self.path, headers, body, self.server.stage, authorizer)
        answer = self.server.lambdas.invoke(route.function, event)
        payload = answer.get("body") or ""
        content = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        headers = dict(answer.get("headers") or {})
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        self._send(int(answer.get("statusCode", 200)), headers, content)

    def _docs(self, asset: str) -> None:
        if not asset:
            self._send(200, {"Content-Type": "text/html; charset=utf-8"}, DOCS_PAGE)
        elif asset in DOCS_ASSETS:
            self._send(200, {"Content-Type": DOCS_ASSETS[asset]}, (swagger_ui_path / asset).read_bytes())
        else:
            self._send(*self.server.edge.response(GatewayError("MISSING_AUTHENTICATION_TOKEN", "No such asset")))

    def _outbox(self, to: str | None) -> bytes:
        return json.dumps({"records": self.server.lambdas.aws.outbox.records(to)}).encode()

    def _send(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        print(f"[api] {self.command} {self.path} -> {args[1] if len(args) > 1 else ''}", flush=True)
