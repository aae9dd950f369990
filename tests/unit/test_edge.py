"""The edge: media types, body form and the strict decimal grammar, without HTTP."""

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from wallet.edge import checked_event, list_scope
from wallet.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from wallet.models.catalog import CommissionRule, NewCurrency
from wallet.money import Amount


def _event(body: str | None, content_type: str | None = "application/json", **extra: Any) -> dict[str, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    return {"body": body, "headers": headers, "multiValueHeaders": {}, "isBase64Encoded": False, **extra}


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8", "Application/Json;charset=UTF-8", None],
)
def test_json_in_any_letter_case_or_without_a_type_is_read(content_type: str | None) -> None:
    event, body = checked_event(_event('{"a": 1}', content_type))
    assert body == {"a": 1}
    assert event["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data", "application/x-www-form-urlencoded"]
)
def test_other_media_types_are_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        checked_event(_event('{"a": 1}', content_type))
    assert raised.value.status == 415
    assert raised.value.code == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    "event",
    [
        _event(base64.b64encode(b'{"a": "\xff\xfe"}').decode(), isBase64Encoded=True),
        _event("not json"),
        _event("[" * 5000 + "]" * 5000),
        _event('{"a":' * 33 + "1" + "}" * 33),
        _event("null"),
        _event("[]"),
        _event("5"),
        _event('"text"'),
        _event('{"a": NaN}'),
    ],
    ids=["not-utf8", "not-json", "5000-deep", "33-deep", "null", "array", "number", "string", "nan"],
)
def test_unreadable_bodies_are_400_naming_the_body(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as raised:
        checked_event(event)
    assert raised.value.status == 400
    assert raised.value.details[0]["field"] == "body"


def test_32_deep_is_still_read() -> None:
    _, body = checked_event(_event('{"a":' * 31 + "{}" + "}" * 31))
    assert body is not None


def test_oversized_bodies_are_413() -> None:
    with pytest.raises(PayloadTooLarge):
        checked_event(_event(json.dumps({"a": "x" * 70_000})))


@pytest.mark.parametrize("raw", ["1" * 5000, "1e-200", "1E5", "0." + "1" * 60])
def test_numbers_no_column_holds_reach_the_model_and_are_refused_naming_the_field(raw: str) -> None:
    text = '{"operationType": "TRANSFER", "issuerId": "i", "percent": 1, "fixed": ' + raw + "}"
    _, body = checked_event(_event(text))
    with pytest.raises(ValidationError) as raised:
        CommissionRule.model_validate(body)
    assert [error["loc"] for error in raised.value.errors()] == [("fixed",)]


AMOUNT = TypeAdapter(Amount)


@pytest.mark.parametrize(
    "value",
    [
        "1_000",
        "١٢",
        " 5 ",
        "+5",
        "5.",
        ".5",
        "1e1",
        "-5",
        "0",
        "0.00",
        "NaN",
        "Infinity",
        "",
        "5\n",
        "1,5",
        True,
        Decimal("-1"),
        Decimal("0"),
        "1" * 19,
        "0.000000001",
        1.5,
    ],
)
def test_amounts_outside_the_grammar_are_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        AMOUNT.validate_python(value)


@pytest.mark.parametrize(
    ("value", "exact"), [("5", "5"), ("10.50", "10.50"), (7, "7"), (Decimal("0.01"), "0.01"), ("0.00000001", "1E-8")]
)
def test_plain_amounts_are_read_exactly(value: Any, exact: str) -> None:
    assert AMOUNT.validate_python(value) == Decimal(exact)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("percent", "100.00001"),
        ("percent", "0.00001"),
        ("percent", "101"),
        ("fixed", "1e-180"),
        ("fixed", "-1"),
        ("min", "0.000000001"),
        ("max", "1" * 41),
        ("fixed", "1e-130"),
    ],
)
def test_commission_numbers_are_bounded(field: str, value: str) -> None:
    rule = {"operationType": "TRANSFER", "issuerId": "i", "percent": "1", "fixed": "0", field: value}
    with pytest.raises(ValidationError) as raised:
        CommissionRule.model_validate(rule)
    assert raised.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fractionalDigits", False),
        ("fractionalDigits", True),
        ("fractionalDigits", "2"),
        ("fractionalDigits", 9),
        ("code", "EURO"),
        ("code", "E1R"),
        ("code", "EU"),
        ("amlThreshold", "-1"),
        ("amlThreshold", "1e3"),
    ],
)
def test_currencies_have_a_three_letter_code_and_integer_digits(field: str, value: Any) -> None:
    currency = {"code": "EUR", "name": "Euro", "fractionalDigits": 2, field: value}
    with pytest.raises(ValidationError) as raised:
        NewCurrency.model_validate(currency)
    assert raised.value.errors()[0]["loc"] == (field,)


def test_a_currency_code_is_kept_in_upper_case() -> None:
    assert NewCurrency.model_validate({"code": "jpy", "name": "Yen", "fractionalDigits": 0}).code == "JPY"


def test_a_list_scope_names_route_caller_and_filter_but_not_the_page() -> None:
    base = {"httpMethod": "POST", "resource": "/users/view", "queryStringParameters": None}
    scope = list_scope(base, {"filter": {"role": "SERVICE"}, "pageToken": "a", "pageSize": 5}, "u1")
    assert scope == list_scope(base, {"filter": {"role": "SERVICE"}, "pageToken": "b"}, "u1")
    assert scope != list_scope(base, {"filter": {"role": "SERVICE"}}, "u2")
    assert scope != list_scope(base, {"filter": {"role": "ADMINISTRATOR"}}, "u1")
    assert scope != list_scope({**base, "resource": "/templates/transfer/view"}, {"filter": {"role": "SERVICE"}}, "u1")
