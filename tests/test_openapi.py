"""The published contract: one OpenAPI 3.1 document, the same as the code describes, served by the API."""

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import TypeAdapter, ValidationError

from local.openapi import DOCUMENT, PUBLIC, document
from local.template import Template
from tests.conftest import Api
from wallet.models.identity import Login, NewPassword
from wallet.money import Amount, Fee, Percent

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
        assert errors["429"]["$ref"] == "#/components/responses/Error429", (method, path)  # the stage throttles all


def test_every_operation_has_an_example_of_its_body_and_of_its_success_which_its_schemas_accept() -> None:
    for path, operations in COMMITTED["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "example" in operation["requestBody"]["content"]["application/json"], (method, path)
            successes = [answer for status, answer in operation["responses"].items() if status < "400"]
            assert successes, (method, path)
            for answer in successes:
                body = answer["content"]["application/json"]
                assert "example" in body, (method, path)
                _schema_validator(body["schema"]).validate(body["example"])


LOGIN = {"login": "shop@example.com", "password": "Secret#123"}
WINDOW = {"operationType": "TRANSFER", "currencyCode": "EUR"}
CARD = "SMART_CARD"


@pytest.mark.parametrize(
    ("schema", "body", "valid"),
    [
        ("NewUser", {**LOGIN, "role": "MERCHANT", "legalType": "CORPORATION"}, True),
        ("NewUser", {**LOGIN, "role": "MERCHANT"}, False),
        ("NewUser", {**LOGIN, "role": "MERCHANT", "legalType": None}, False),
        ("NewUser", {**LOGIN, "role": "SERVICE", "organizationId": "org-1"}, True),
        ("NewUser", {**LOGIN, "role": "ADMINISTRATOR"}, False),
        ("NewUser", {**LOGIN, "role": "INDIVIDUAL"}, True),
        ("RegistrationRequest", {"login": "shop@example.com", "role": "MERCHANT"}, False),
        ("LimitRule-Input", {**WINDOW, "role": "INDIVIDUAL", "perOperation": "10"}, True),
        ("LimitRule-Input", {**WINDOW, "coinSerial": "c-1", "daily": {"count": 3}}, True),
        ("LimitRule-Input", {**WINDOW, "role": "INDIVIDUAL", "coinSerial": "c-1", "perOperation": "10"}, False),
        ("LimitRule-Input", {**WINDOW, "role": None, "perOperation": "10"}, False),
        ("LimitRule-Input", {**WINDOW, "role": "INDIVIDUAL", "monthly": None}, False),
        ("LimitRule-Input", {**WINDOW, "role": "INDIVIDUAL", "daily": {}}, False),
        ("NewTemplate", {"name": "t", "paymentToolType": CARD, "destination": {"smartCardId": "s-1"}}, True),
        ("NewTemplate", {"name": "t", "paymentToolType": CARD, "destination": {"coinSerial": "c-1"}}, False),
        ("NewTemplate", {"name": "t", "paymentToolType": "COIN", "destination": {"coinSerial": "c-1"}}, True),
        ("NewTemplate", {"name": "t", "paymentToolType": "COIN", "destination": {"smartCardId": "s-1"}}, False),
    ],
)
def test_the_rules_across_fields_are_stated_in_the_document(schema: str, body: dict[str, Any], valid: bool) -> None:
    """What the API refuses for a rule across fields, the document refuses too, so a client or a fuzzer that
    follows the schema is never refused for it (the fuzz gate checks the server's side)."""
    validator = _schema_validator({"$ref": f"#/components/schemas/{schema}"})
    assert validator.is_valid(body) == valid


def _schema_validator(schema: dict[str, Any]) -> Draft202012Validator:
    """The schema with the document's components beside it, so its `#/components/...` references resolve."""
    return Draft202012Validator({**schema, "components": COMMITTED["components"]})


def test_amounts_are_published_with_the_grammar_the_server_enforces() -> None:
    amount = COMMITTED["components"]["schemas"]["TransferRequest"]["properties"]["amount"]
    (grammar,) = [branch["pattern"] for branch in amount["anyOf"] if branch["type"] == "string"]
    for text in ("10.50", "0.01", "007", "10.500000000", "999999999999999.99999999"):
        assert re.search(grammar, text), text
    for text in ("0", "0.00", "1.", ".5", "1e1", "+5", " 5", "1_000", "0.000000001", "1000000000000000"):
        assert not re.search(grammar, text), text


def _published_pattern(field_type: Any) -> str:
    schema = TypeAdapter(field_type).json_schema()
    branches = schema.get("anyOf", [schema])
    (pattern,) = [branch["pattern"] for branch in branches if branch.get("type") == "string"]
    return str(pattern)


def _accepts(field_type: Any, text: str) -> bool:
    try:
        TypeAdapter(field_type).validate_python(text)
    except ValidationError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize(
    "field_type", [Amount, Fee, Percent, Login, NewPassword], ids=["amount", "fee", "percent", "login", "password"]
)
@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"^[0-9]{0,17}(\.[0-9]{0,10})?$", fullmatch=True),
        st.from_regex(r"^\s?[a-zA-Z0-9#@.+%]{0,12}\s?$", fullmatch=True),
        st.text(max_size=12),
    )
)
def test_the_published_patterns_take_exactly_what_the_server_takes(field_type: Any, text: str) -> None:
    """A schema-valid value is one the API takes and a schema-invalid one is refused, so a client (or a fuzzer)
    can trust the document. Lengths are published beside the patterns."""
    schema = TypeAdapter(field_type).json_schema()
    within_lengths = schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", 10**6)
    published = bool(re.search(_published_pattern(field_type), text)) and within_lengths
    assert published == _accepts(field_type, text)


def test_the_api_serves_it_and_the_docs_page(api: Api) -> None:
    served = api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == COMMITTED
    page = api.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/docs/{asset}").status_code == 200
