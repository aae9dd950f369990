"""Money: exact decimals checked against the currency's digits, and commission rounding."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from wallet.errors import InvalidInput

MAX_AMOUNT = Decimal("1e15")


def _parse_amount(value: Any) -> Decimal:
    """Strings and JSON numbers (already Decimal, never float) become exact Decimals."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError("must be a decimal number, as a string or a JSON number")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount <= 0:
        raise ValueError("must be greater than zero")
    if amount >= MAX_AMOUNT:
        raise ValueError(f"must be less than {MAX_AMOUNT:f}")
    return amount


# Money leaves the API as a decimal string; stored, it stays a DynamoDB number.
AS_DECIMAL_STRING = PlainSerializer(lambda amount: f"{amount:f}", return_type=str, when_used="json")
# A positive amount in a request; its precision is checked once the currency is known.
Amount = Annotated[Decimal, BeforeValidator(_parse_amount), AS_DECIMAL_STRING]
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
