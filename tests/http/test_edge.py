"""The edge as API Gateway runs it from the template: the token authorizer before every non-public route,
and the gateway's own answers in the API's error shape."""

from collections import Counter
from typing import Any

import pytest
import requests

from local.lambdas import LocalLambdas
from local.template import Template
from tests.conftest import Api

ROUTES = Template().routes()
PROTECTED = [route for route in ROUTES if not route.public]


@pytest.fixture
def invocations(lambdas: LocalLambdas, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each function ran, counted where the local server invokes it."""
    counted: Counter[str] = Counter()
    invoke = lambdas.invoke

    def counting(function_name: str, event: dict[str, Any]) -> Any:
        counted[function_name] += 1
        return invoke(function_name, event)

    monkeypatch.setattr(lambdas, "invoke", counting)
    return counted


def _assert_shape(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["details"] == []


@pytest.mark.parametrize("authorization", [None, "Bearer", "Basic abc", "Bearer not-a-token", "Bearer a.b.c"])
def test_no_unauthenticated_request_reaches_a_non_public_function(
    api: Api, invocations: Counter[str], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for route in PROTECTED:
        path = route.path.replace("{", "x").replace("}", "")
        answer = api.session.request(route.method, api.base_url + path, json={}, headers=headers, timeout=30)
        _assert_shape(answer, 401, "UNAUTHENTICATED")
    assert set(invocations) <= {"AuthorizerFunction"}, invocations
    # A header that is no bearer token is refused before the authorizer is invoked, as API Gateway's
    # ValidationExpression does; a well-formed but bad token costs one authorizer call per route at most.
    if authorization is None or not authorization.startswith("Bearer "):
        assert invocations["AuthorizerFunction"] == 0


def test_the_authorizer_runs_once_per_token_and_hands_the_caller_on(
    api: Api, admin_token: str, invocations: Counter[str]
) -> None:
    for _ in range(3):
        assert api.get("/coins", admin_token).status_code == 200
        assert api.get("/currencies", admin_token).status_code == 200
    assert invocations["AuthorizerFunction"] == 1  # its answer is cached by token, for every route
    assert invocations["CoinsFunction"] == 3


def test_public_routes_run_without_a_token(api: Api, invocations: Counter[str]) -> None:
    answer = api.post("/authorization", {"login": "nobody@example.com", "password": "Nope#2026"})
    _assert_shape(answer, 401, "UNAUTHENTICATED")
    assert invocations == Counter({"AuthFunction": 1})


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/nowhere"), ("POST", "/coins/nowhere"), ("DELETE", "/coins"), ("PUT", "/")]
)
def test_an_unknown_route_or_method_is_404_in_the_error_shape(
    api: Api, admin_token: str, invocations: Counter[str], method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": f"Bearer {admin_token}"}):
        answer = api.session.request(method, api.base_url + path, headers=headers, timeout=30)
        _assert_shape(answer, 404, "NOT_FOUND")
    assert not invocations
