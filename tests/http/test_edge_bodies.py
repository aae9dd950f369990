"""The edge over HTTP: media types, unreadable bodies, strict amounts, unknown routes and local parity."""

import ast
import contextlib
import http.client
import threading

from local.lambdas import LocalLambdas
from local.template import ROOT
from tests.conftest import Api
from tests.http.refusals import assert_error


def test_bodies_are_json_objects_in_utf8(api: Api, admin_token: str) -> None:
    auth = {"Authorization": f"Bearer {admin_token}"}
    for path in ("/authorization", "/currencies", "/transfers"):
        for content_type in ("text/plain", "application/xml", "multipart/form-data"):
            answer = api.session.post(api.base_url + path, data=b"{}", headers={**auth, "Content-Type": content_type})
            assert_error(answer, 415, "UNSUPPORTED_MEDIA_TYPE")
        # API Gateway passes a non-UTF-8 body as text (U+FFFD for each bad byte): still refused, on its fields.
        unreadable: list[tuple[bytes, str | None]] = [(b'{"login": "\xff"}', None), (b"null", "body")]
        unreadable += [
            (b"[" * 3000 + b"]" * 3000, "body"),
            (b"5", "body"),
            (b'{"login": ' + b"9" * 5000 + b"}", "login"),
        ]
        for body, field in unreadable:
            answer = api.session.post(api.base_url + path, data=body, headers={**auth, "Content-Type": "text/json"})
            assert answer.status_code == 415
            answer = api.session.post(
                api.base_url + path, data=body, headers={**auth, "Content-Type": "APPLICATION/JSON; charset=utf-8"}
            )
            assert_error(answer, 400, "VALIDATION_ERROR", field if path == "/authorization" else None)


def test_upper_case_json_media_type_is_json(api: Api, admin_token: str) -> None:
    body = b'{"code": "EUR", "name": "Euro", "fractionalDigits": 2}'
    answer = api.session.post(
        api.base_url + "/currencies",
        data=body,
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "APPLICATION/JSON"},
    )
    assert answer.status_code == 201, answer.text


def test_amounts_and_stored_decimals_follow_the_grammar(api: Api, admin_token: str) -> None:
    assert api.post("/currencies", {"code": "EUR", "name": "Euro", "fractionalDigits": 2}, admin_token).ok
    assert_error(
        api.post("/currencies", {"code": "XBT", "name": "B", "fractionalDigits": False}, admin_token),
        400,
        "VALIDATION_ERROR",
        "fractionalDigits",
    )
    assert_error(
        api.post("/currencies", {"code": "EURO", "name": "B", "fractionalDigits": 2}, admin_token),
        400,
        "VALIDATION_ERROR",
        "code",
    )
    issuer = api.post("/issuers", {"currencyCode": "eur", "name": "EUR"}, admin_token).json()["id"]
    rule = {"operationType": "TRANSFER", "issuerId": issuer, "percent": "1", "fixed": "0"}
    for field, value in (("fixed", "0.001"), ("min", "1e-130"), ("percent", "1e-200"), ("max", "1" * 41)):
        assert_error(api.post("/commissions", {**rule, field: value}, admin_token), 400, "VALIDATION_ERROR", field)
    assert api.post("/commissions", {**rule, "fixed": "0.010"}, admin_token).json()["fixed"] == "0.01"
    coin = api.post("/coins", {"issuerId": issuer}, admin_token)
    for amount in ("1_000", "١٢", " 5 ", "+5", "5.", ".5", "1e1"):
        answer = api.post("/bank-top-ups/calculate", {"coinSerial": "c", "amount": amount}, admin_token)
        assert_error(answer, 400, "VALIDATION_ERROR", "amount")
    assert coin.status_code == 403  # staff open no accounts: the amounts above were refused before any look-up


def test_every_method_on_an_unknown_route_is_the_api_404(api: Api, admin_token: str) -> None:
    host, port = api.base_url.removeprefix("http://").split(":")
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "HEAD"):
        for path in ("/no-such-thing", "/currencies/x/y"):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request(method, path, headers={"Authorization": f"Bearer {admin_token}"})
            answer = connection.getresponse()
            content = answer.read()
            connection.close()
            assert answer.status == 404, (method, path)
            assert answer.getheader("Content-Type") == "application/json"
            if method != "HEAD":
                assert b'"NOT_FOUND"' in content


def test_path_parameters_are_decoded_before_validation(api: Api, admin_token: str) -> None:
    # 90 characters encoded, 30 decoded: within the id's 64, so merely unknown (404), not refused (400).
    answer = api.get("/requests/" + "%41" * 30, admin_token)
    assert_error(answer, 404, "NOT_FOUND")
    # requests sends %41 as A: "é" stays encoded on the wire (180 characters), 30 characters once decoded.
    answer = api.get("/requests/" + "%C3%A9" * 30, admin_token)
    assert_error(answer, 404, "NOT_FOUND")


def test_64_clients_connecting_at_once_are_all_answered(api: Api) -> None:
    host, port = api.base_url.removeprefix("http://").split(":")
    statuses: list[int] = []
    start = threading.Barrier(64)

    def client() -> None:
        start.wait()
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        connection.request("GET", "/no-such-thing")
        statuses.append(connection.getresponse().status)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [404] * 64


def test_no_log_keys_are_carried_into_the_next_invocation(lambdas: LocalLambdas) -> None:
    """Each handler is invoked directly, with no authorizer before it to clear the keys on its behalf."""
    workflow_logger = lambdas.layer_module("WorkflowFunction", "wallet.observability").logger
    for name in lambdas.functions:
        own_logger = lambdas.layer_module(name, "wallet.observability").logger
        workflow_logger.append_keys(leftOver="by-the-workflow")  # as a workflow step appends its request's keys
        own_logger.append_keys(leftOver="by-its-last-invocation")
        # What the handler makes of an empty event does not matter: its keys are cleared before it runs.
        with contextlib.suppress(Exception):
            lambdas.invoke(name, {})
        assert "leftOver" not in own_logger.get_current_keys(), name


def test_every_handler_clears_its_log_keys_first() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        decorators = [
            decorator
            for node in ast.walk(ast.parse(app.read_text()))
            if isinstance(node, ast.FunctionDef)
            for decorator in node.decorator_list
            if "inject_lambda_context" in ast.unparse(decorator)
        ]
        assert decorators, app
        for decorator in decorators:
            clears = isinstance(decorator, ast.Call) and any(
                keyword.arg == "clear_state" and ast.literal_eval(keyword.value) is True
                for keyword in decorator.keywords
            )
            assert clears, f"{app}: {ast.unparse(decorator)} without clear_state=True"
