"""The published contract: one OpenAPI 3.1 document, the same as the code describes, served by the API."""

import json

from openapi_spec_validator import validate

from local.openapi import DOCUMENT, PUBLIC, document
from local.template import Template
from tests.conftest import Api

COMMITTED = json.loads(DOCUMENT.read_text())


def test_the_committed_document_is_what_the_code_describes() -> None:
    assert document() == COMMITTED, "the code and layers/wallet/wallet/openapi.json disagree: run `make openapi`"


def test_it_is_a_valid_openapi_3_1_document() -> None:
    assert COMMITTED["openapi"] == "3.1.0"
    validate(COMMITTED)


def test_it_has_every_route_with_security_errors_and_examples() -> None:
    routes = {(route.method.lower(), route.path) for route in Template().routes()}
    described = {(method, path) for path, operations in COMMITTED["paths"].items() for method in operations}
    assert described == routes
    for method, path in routes:
        operation = COMMITTED["paths"][path][method]
        assert (operation.get("security") == []) == ((method, path) in PUBLIC), (method, path)
        errors = {status: answer for status, answer in operation["responses"].items() if status >= "400"}
        assert errors, (method, path)
        assert all(answer["$ref"].startswith("#/components/responses/Error") for answer in errors.values())
        if "requestBody" in operation:
            assert "example" in operation["requestBody"]["content"]["application/json"], (method, path)


def test_amounts_are_published_with_the_grammar_the_server_enforces() -> None:
    amount = COMMITTED["components"]["schemas"]["TransferRequest"]["properties"]["amount"]
    assert {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$", "maxLength": 27} in amount["anyOf"]


def test_the_api_serves_it_and_the_docs_page(api: Api) -> None:
    served = api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == COMMITTED
    page = api.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/docs/{asset}").status_code == 200
