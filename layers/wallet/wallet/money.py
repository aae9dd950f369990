"""Money: exact decimals checked against the currency's digits, and commission rounding."""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from wallet.errors import InvalidInput

MAX_AMOUNT = Decimal("1e15")
MAX_INTEGER_DIGITS = 18
MAX_FRACTIONAL_DIGITS = 8  # the most any currency has
PERCENT_DIGITS = 4
# ASCII digits only: no sign, exponent, spaces, `_` or other scripts' digits.
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def plain_decimal(value: Any, *, fractional_digits: int = MAX_FRACTIONAL_DIGITS) -> Decimal:
    """A non-negative decimal a client wrote plainly, as a string or a JSON number (already an exact
    Decimal or int: the edge never makes floats), small enough for every store."""
    if isinstance(value, str):
        if not PLAIN_DECIMAL.fullmatch(value):
            raise ValueError("must be a plain decimal such as 10.50 (ASCII digits, one optional point)")
        number = Decimal(value)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool) and Decimal(value).is_finite():
        number = Decimal(value)
    else:
        raise ValueError("must be a decimal number, as a string or a JSON number")
    if number < 0:
        raise ValueError("must not be negative")
    number = number + 0  # -0 becomes 0
    if number.adjusted() >= MAX_INTEGER_DIGITS:
        raise ValueError(f"must have at most {MAX_INTEGER_DIGITS} integer digits")
    if fractional_digits_of(number) > fractional_digits:
        raise ValueError(f"must have at most {fractional_digits} fractional digits")
    return number


def fractional_digits_of(number: Decimal) -> int:
    """Significant fractional digits: "1.50" has 1."""
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _parse_amount(value: Any) -> Decimal:
    amount = plain_decimal(value)
    if amount <= 0:
        raise ValueError("must be greater than zero")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"must be less than {MAX_AMOUNT:f}")
    return amount


def _parse_fee(value: Any) -> Decimal:
    fee = plain_decimal(value)
    if fee >= MAX_AMOUNT:
        raise ValueError(f"must be less than {MAX_AMOUNT:f}")
    return fee


def _parse_percent(value: Any) -> Decimal:
    percent = plain_decimal(value, fractional_digits=PERCENT_DIGITS)
    if percent > 100:
        raise ValueError("must be at most 100")
    return percent


# The grammar of each figure as the published contract states it, so that a schema-valid figure is one the
# API takes: at most 15 significant integer digits (below 1e15), at most 8 significant fractional digits
# (trailing zeroes are free), a positive amount not all zeroes, a percentage 0..100 with 4.
_FRACTION = r"(\.([0-9]{0,7}[1-9]0*|0+))?"
AMOUNT_PATTERN = rf"^(0*[1-9][0-9]{{0,14}}{_FRACTION}|0+\.[0-9]{{0,7}}[1-9]0*)$"
FEE_PATTERN = rf"^0*[0-9]{{1,15}}{_FRACTION}$"
PERCENT_PATTERN = r"^0*(100(\.0+)?|[0-9]{1,2}(\.([0-9]{0,3}[1-9]0*|0+))?)$"


# What the published contract says of each decimal: the grammar as a string, or a JSON number. Only whole
# numbers are promised as JSON numbers: a fraction's digits depend on how the client's JSON library writes a
# float (0.1 + 0.2, 1e-05), which the API reads as written and refuses when they exceed the grammar. Built once,
# at import, from plain data (the drift test checks the published openapi.json against it).
AMOUNT_SCHEMA, FEE_SCHEMA, PERCENT_SCHEMA = (
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": pattern}, {"type": "integer", **integers}], "description": text},
        mode="validation",
    )
    for text, pattern, integers in (
        (
            "A positive amount, at most the currency's fractional digits",
            AMOUNT_PATTERN,
            {"exclusiveMinimum": 0, "exclusiveMaximum": int(MAX_AMOUNT)},
        ),
        (
            "A money figure, at most the currency's fractional digits",
            FEE_PATTERN,
            {"minimum": 0, "exclusiveMaximum": int(MAX_AMOUNT)},
        ),
        ("A percentage, 0 to 100 with at most 4 decimals", PERCENT_PATTERN, {"minimum": 0, "maximum": 100}),
    )
)


# Money leaves the API as a decimal string; stored, it stays a DynamoDB number.
AS_DECIMAL_STRING = PlainSerializer(lambda amount: f"{amount:f}", return_type=str, when_used="json")
# A positive amount in a request; its precision is checked once the currency is known.
Amount = Annotated[
    Decimal,
    BeforeValidator(_parse_amount),
    AS_DECIMAL_STRING,
    AMOUNT_SCHEMA,
]
# A non-negative money figure a client sets (a fixed fee, a bound); its precision too waits for the currency.
Fee = Annotated[
    Decimal,
    BeforeValidator(_parse_fee),
    AS_DECIMAL_STRING,
    FEE_SCHEMA,
]
# A percentage 0..100 with at most 4 decimals.
Percent = Annotated[
    Decimal,
    BeforeValidator(_parse_percent),
    AS_DECIMAL_STRING,
    PERCENT_SCHEMA,
]
# Any money figure in an answer.
Money = Annotated[Decimal, AS_DECIMAL_STRING]


def quantum(fractional_digits: int) -> Decimal:
    return Decimal(1).scaleb(-fractional_digits)


def check_precision(amount: Decimal, fractional_digits: int, field: str = "amount") -> Decimal:
    """The amount in the currency's own digits ("10.5" -> "10.50"); more digits than that is refused."""
    exact = amount.quantize(quantum(fractional_digits))
    if exact != amount:
        raise InvalidInput(field, f"has more than the currency's {fractional_digits} fractional digits")
    return exact


def in_digits(amount: Decimal, fractional_digits: int) -> Decimal:
    """A figure read back from DynamoDB in its currency's digits again: DynamoDB trims zeroes, so
    "10.00" comes back as 10. More digits than the currency has are kept, never rounded away."""
    padded = Decimal(amount).quantize(quantum(fractional_digits))
    return padded if padded == amount else Decimal(amount)


def round_half_up(amount: Decimal, fractional_digits: int) -> Decimal:
    return amount.quantize(quantum(fractional_digits), rounding=ROUND_HALF_UP)
