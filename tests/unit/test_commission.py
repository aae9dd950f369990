"""Commission: percent plus fixed, clamped, rounded half-up; and the exact parsing of amounts."""

from decimal import Decimal

import pytest
from pydantic import BaseModel

from wallet.commission import commission_for, quote
from wallet.errors import InvalidInput
from wallet.models.catalog import CommissionRule
from wallet.money import Amount, check_precision


def _rule(**fields: object) -> CommissionRule:
    return CommissionRule.model_validate({"operationType": "TRANSFER", "issuerId": "i-1", **fields})


@pytest.mark.parametrize(
    ("amount", "rule", "digits", "expected"),
    [
        ("100.00", None, 2, "0.00"),
        ("100.00", _rule(percent="1.5", fixed="0.10"), 2, "1.60"),
        ("0.33", _rule(percent="1.5", fixed="0"), 2, "0.00"),  # 0.00495 rounds down
        ("0.34", _rule(percent="1.5", fixed="0"), 2, "0.01"),  # 0.0051 rounds up
        ("1.00", _rule(percent="0.5", fixed="0"), 2, "0.01"),  # 0.005: half-up, not half-even
        ("3.00", _rule(percent="0.5", fixed="0"), 2, "0.02"),  # 0.015: half-up
        ("1.00", _rule(percent="1", fixed="0", min="0.50"), 2, "0.50"),
        ("10000", _rule(percent="2", fixed="0", max="25"), 2, "25.00"),
        ("1001", _rule(percent="0.05", fixed="0"), 0, "1"),  # 0.5005 yen
        ("999", _rule(percent="0.05", fixed="0"), 0, "0"),
    ],
)
def test_commission(amount: str, rule: CommissionRule | None, digits: int, expected: str) -> None:
    assert str(commission_for(Decimal(amount), rule, digits)) == expected


def test_a_quote_is_what_is_charged() -> None:
    shown = quote(Decimal("100.00"), _rule(percent="1", fixed="0.25"), 2)
    assert (shown.commission, shown.total(commission_is_added=True), shown.total(commission_is_added=False)) == (
        Decimal("1.25"),
        Decimal("101.25"),
        Decimal("98.75"),
    )


class _Body(BaseModel):
    amount: Amount


@pytest.mark.parametrize(("raw", "parsed"), [("10.50", "10.50"), (Decimal("0.1"), "0.1"), (7, "7")])
def test_amounts_are_parsed_exactly(raw: object, parsed: str) -> None:
    assert str(_Body(amount=raw).amount) == parsed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "issue"),
    [
        ("0", "must be greater than zero"),
        ("-1", "must be a plain decimal such as 10.50 (ASCII digits, one optional point)"),
        ("NaN", "must be a plain decimal such as 10.50 (ASCII digits, one optional point)"),
        ("Infinity", "must be a plain decimal such as 10.50 (ASCII digits, one optional point)"),
        ("1e400", "must be a plain decimal such as 10.50 (ASCII digits, one optional point)"),
        ("1000000000000000", "must be less than 1000000000000000"),
        ("ten", "must be a plain decimal such as 10.50 (ASCII digits, one optional point)"),
        (0.1, "must be a decimal number, as a string or a JSON number"),
        (True, "must be a decimal number, as a string or a JSON number"),
        (None, "must be a decimal number, as a string or a JSON number"),
        ([1], "must be a decimal number, as a string or a JSON number"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(raw: object, issue: str) -> None:
    """The reason is what the client reads in the 400's details."""
    with pytest.raises(ValueError, match="amount") as refused:
        _Body(amount=raw)  # type: ignore[arg-type]
    assert [error["msg"] for error in refused.value.errors()] == [f"Value error, {issue}"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "issue"),
    [
        (-1, "must not be negative"),
        ("1" * 19, "must have at most 18 integer digits"),
        ("0.000000001", "must have at most 8 fractional digits"),
    ],
)
def test_figures_out_of_any_store_are_refused_with_the_reason(raw: object, issue: str) -> None:
    with pytest.raises(ValueError, match="amount") as refused:
        _Body(amount=raw)  # type: ignore[arg-type]
    assert [error["msg"] for error in refused.value.errors()] == [f"Value error, {issue}"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "figures"),
    [
        ({"percent": "100", "fixed": "0"}, ("100", "0")),
        ({"percent": "0.0001", "fixed": "999999999999999.99"}, ("0.0001", "999999999999999.99")),
        ({"percent": "1", "fixed": Decimal("-0")}, ("1", "0")),  # a JSON -0 is no negative fee
        ({"percent": "1", "fixed": "0.00000001"}, ("1", "0.00000001")),  # a currency may have 8 digits
    ],
)
def test_a_rules_percentage_and_fee_are_taken_up_to_their_bounds(
    fields: dict[str, object], figures: tuple[str, str]
) -> None:
    rule = _rule(**fields)
    assert (f"{rule.percent:f}", f"{rule.fixed:f}") == figures


@pytest.mark.parametrize(
    ("fields", "where", "issue"),
    [
        ({"percent": "100.0001", "fixed": "0"}, "percent", "must be at most 100"),
        ({"percent": "1.00001", "fixed": "0"}, "percent", "must have at most 4 fractional digits"),
        ({"percent": "1", "fixed": "1000000000000000"}, "fixed", "must be less than 1000000000000000"),
    ],
)
def test_a_rules_figures_beyond_their_bounds_are_refused(fields: dict[str, object], where: str, issue: str) -> None:
    with pytest.raises(ValueError, match=where) as refused:
        _rule(**fields)
    errors = refused.value.errors()  # type: ignore[attr-defined]
    assert [(error["loc"], error["msg"]) for error in errors] == [((where,), f"Value error, {issue}")]


def test_the_largest_amount_is_just_below_the_limit() -> None:
    assert str(_Body(amount="999999999999999.99").amount) == "999999999999999.99"


def test_precision_is_the_currencys() -> None:
    assert str(check_precision(Decimal("10.5"), 2)) == "10.50"
    assert str(check_precision(Decimal("10.500"), 2)) == "10.50"
    assert str(check_precision(Decimal("7"), 0)) == "7"
    with pytest.raises(InvalidInput) as refused:
        check_precision(Decimal("10.505"), 2)
    assert refused.value.details == [{"field": "amount", "issue": "has more than the currency's 2 fractional digits"}]
    with pytest.raises(InvalidInput) as refused:
        check_precision(Decimal("1.5"), 0, field="limit")
    assert refused.value.details == [{"field": "limit", "issue": "has more than the currency's 0 fractional digits"}]
