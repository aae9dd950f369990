"""The local server passes requests and answers as API Gateway does: proxy answers checked (502 for a
malformed one or a function that failed), its size limits, repeated headers kept, bodies passed as text."""

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.lambdas import LocalLambdas
from tests.conftest import Api

Handler = Callable[[dict[str, Any], Any], Any]


@pytest.fixture
def answer_with(lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], list[dict[str, Any]]]:
    """Replaces the function behind GET /currencies; answers the events it was given."""

    def install(handler: Handler) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []

        def recording(event: dict[str, Any], context: Any) -> Any:
            events.append(event)
            return handler(event, context)

        monkeypatch.setitem(lambdas._handlers, "SetupFunction", recording)
        return events

    return install


def _fails(event: dict[str, Any], context: Any) -> Any:
    raise RuntimeError("unhandled")


@pytest.mark.parametrize(
    "handler",
    [
        _fails,
        lambda event, context: "not an object",
        lambda event, context: {"statusCode": 200, "body": {"an": "object"}},
        lambda event, context: {"statusCode": "200", "body": ""},
        lambda event, context: {"statusCode": 200, "body": "", "unexpected": 1},
        lambda event, context: {"statusCode": 200, "headers": {"X-A": ["list"]}, "body": ""},
        lambda event, context: {"statusCode": 200, "body": "x" * (6 * 1024 * 1024 + 1)},
        lambda event, context: {"statusCode": 200, "body": "", "headers": {"X-When": object()}},
    ],
    ids=["exception", "not an object", "body object", "status string", "unknown key", "header list", "6 MB", "type"],
)
def test_a_failed_function_or_a_malformed_answer_is_a_502(
    api: Api, admin_token: str, answer_with: Callable[[Handler], list[dict[str, Any]]], handler: Handler
) -> None:
    answer_with(handler)
    answer = api.get("/currencies", admin_token)
    assert (answer.status_code, answer.json()) == (502, {"message": "Internal server error"})


def test_multi_value_headers_are_sent_as_repeated_headers(
    api: Api, admin_token: str, answer_with: Callable[[Handler], list[dict[str, Any]]]
) -> None:
    answer_with(lambda event, context: {"statusCode": 200, "multiValueHeaders": {"X-Tag": ["a", "b"]}, "body": "ok"})
    answer = api.get("/currencies", admin_token)
    assert answer.status_code == 200
    assert answer.raw.headers.get_all("X-Tag") == ["a", "b"]


def _raw_request(
    api: Api, token: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None = None
) -> int:
    address = urlsplit(api.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    connection.putrequest(method, path)
    for name, value in [("Authorization", f"Bearer {token}"), *headers]:
        connection.putheader(name, value)
    connection.endheaders(body)
    status = connection.getresponse().status
    connection.close()
    return status


def test_a_repeated_header_is_kept_whole(
    api: Api, admin_token: str, answer_with: Callable[[Handler], list[dict[str, Any]]]
) -> None:
    events = answer_with(lambda event, context: {"statusCode": 200, "body": "ok"})
    assert (
        _raw_request(
            api, admin_token, "GET", "/currencies", [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "2.2.2.2")]
        )
        == 200
    )
    assert events[0]["multiValueHeaders"]["X-Forwarded-For"] == ["1.1.1.1", "2.2.2.2"]
    assert events[0]["headers"]["X-Forwarded-For"] == "2.2.2.2"


def test_bodies_are_passed_as_text_without_binary_media_types(
    api: Api, admin_token: str, answer_with: Callable[[Handler], list[dict[str, Any]]]
) -> None:
    events = answer_with(lambda event, context: {"statusCode": 200, "body": "ok"})
    latin1 = "Zürich".encode("latin-1")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(latin1)))]
    assert _raw_request(api, admin_token, "POST", "/currencies", headers, latin1) == 200
    assert (events[0]["body"], events[0]["isBase64Encoded"]) == ("Z\ufffdrich", False)


def test_a_chunked_body_reaches_the_function(
    api: Api, admin_token: str, answer_with: Callable[[Handler], list[dict[str, Any]]]
) -> None:
    events = answer_with(lambda event, context: {"statusCode": 200, "body": "ok"})
    body = json.dumps({"code": "EUR"}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    assert _raw_request(api, admin_token, "POST", "/currencies", headers, chunked) == 200
    assert json.loads(events[0]["body"]) == {"code": "EUR"}


def test_a_request_over_10_mb_is_refused_before_any_function(
    api: Api, answer_with: Callable[[Handler], list[dict[str, Any]]]
) -> None:
    events = answer_with(lambda event, context: {"statusCode": 200, "body": "ok"})
    answer = api.post("/currencies", headers={"Content-Type": "application/json"}, data=b" " * (10 * 1024 * 1024 + 1))
    assert (answer.status_code, answer.json()) == (413, {"message": "Request Too Long"})
    assert events == []
