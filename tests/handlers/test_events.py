"""Every sample event in events/ runs through its real handler, as `sam local invoke -e <event>` would."""

import contextlib
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from local.lambdas import LocalLambdas
from local.outbox import Outbox
from local.template import ROOT, Template
from tests.conftest import ADMIN_LOGIN

EVENTS = ROOT / "events"
EVENT_FILES = sorted(EVENTS.rglob("*.json"))
ROUTES = {(route.method, route.path): route.function for route in Template().routes()}
FOLDER_FUNCTIONS = {"bootstrap": "BootstrapFunction"}  # events that are not API requests
PLACEHOLDER = "Bearer <token from POST /authorization>"
# The HTTP status of an API event; the answer's "status" of a bootstrap event.
EXPECTED_STATUS: dict[str, int | str] = {
    "auth/authorization.json": 200,
    "auth/registration.json": 202,
    "auth/registration-confirm.json": 201,
    "users/list-organizations.json": 200,
    "users/create-user.json": 201,
    "users/list-users.json": 200,
    "bootstrap/direct-invocation.json": "BOOTSTRAPPED",
    "bootstrap/custom-resource-create.json": "BOOTSTRAPPED",
}


def _name(path: Path) -> str:
    return path.relative_to(EVENTS).as_posix()


def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _function_for(name: str, event: dict[str, Any]) -> str:
    folder = name.split("/")[0]
    return FOLDER_FUNCTIONS.get(folder) or ROUTES[(event["httpMethod"], event["resource"])]


def _invoke_api(lambdas: LocalLambdas, name: str, event: dict[str, Any]) -> tuple[int, Any]:
    answer = lambdas.invoke(_function_for(name, event), event)
    return answer["statusCode"], json.loads(answer["body"])


def _admin_token(lambdas: LocalLambdas) -> str:
    status, body = _invoke_api(lambdas, "auth/authorization.json", _load("auth/authorization.json"))
    assert status == 200, body
    assert body["members"][0]["user"]["login"] == ADMIN_LOGIN
    return str(body["authorizationToken"]["token"])


def _with_body(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**event, "body": json.dumps(json.loads(event["body"]) | changes)}


def _otp_sent_to(outbox: Outbox, login: str) -> str:
    match = re.search(r"\b(\d{6})\b", outbox.records(to=login)[-1]["body"])
    assert match, outbox.records(to=login)
    return match.group(1)


def _prepare_api_event(lambdas: LocalLambdas, outbox: Outbox, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """What a client does between the samples: send the real code, carry a real token."""
    if name == "auth/registration-confirm.json":
        status, body = _invoke_api(lambdas, "auth/registration.json", _load("auth/registration.json"))
        assert status == 202, body
        login = json.loads(event["body"])["login"]
        event = _with_body(event, otp=_otp_sent_to(outbox, login))
    if event["headers"].get("Authorization") == PLACEHOLDER:
        authorization = f"Bearer {_admin_token(lambdas)}"
        event = {
            **event,
            "headers": event["headers"] | {"Authorization": authorization},
            "multiValueHeaders": event["multiValueHeaders"] | {"Authorization": [authorization]},
        }
    return event


def test_every_route_and_event_is_covered() -> None:
    events = {_name(path): _load(_name(path)) for path in EVENT_FILES}
    covered = {(event["httpMethod"], event["resource"]) for event in events.values() if "httpMethod" in event}
    assert set(ROUTES) - covered == set(), "a route without a sample event in events/"
    assert sorted(events) == sorted(EXPECTED_STATUS)


@pytest.mark.parametrize("path", EVENT_FILES, ids=_name)
def test_sample_event_runs_through_its_handler(
    path: Path, lambdas: LocalLambdas, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _name(path)
    event = _load(name)
    function = _function_for(name, event)
    if function != "BootstrapFunction":
        status, body = _invoke_api(lambdas, name, _prepare_api_event(lambdas, outbox, name, event))
        assert status == EXPECTED_STATUS[name], body
        return

    answers: list[urllib.request.Request] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> contextlib.nullcontext[None]:
        answers.append(request)
        return contextlib.nullcontext()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    result = lambdas.invoke(function, event)  # the second run: the `lambdas` fixture bootstrapped already
    assert result["status"] == EXPECTED_STATUS[name]
    if "ResponseURL" in event:
        [answer] = answers
        assert (answer.get_method(), answer.full_url) == ("PUT", event["ResponseURL"])
        assert isinstance(answer.data, bytes)
        response = json.loads(answer.data)
        assert response["Status"] == "SUCCESS"
        assert response["RequestId"] == event["RequestId"]
        assert response["LogicalResourceId"] == "Bootstrap"
    else:
        assert answers == []
    _admin_token(lambdas)  # the administrator still logs in
