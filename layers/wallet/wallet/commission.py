"""Commission: one computation for the quote a client is shown and the operation that charges it."""

from decimal import Decimal
from typing import NamedTuple

from wallet.models.catalog import CommissionRule
from wallet.money import round_half_up


class Quote(NamedTuple):
    amount: Decimal
    commission: Decimal

    def total(self, commission_is_added: bool) -> Decimal:
        """What leaves an account (commission added) or what arrives in it (commission taken off)."""
        return self.amount + self.commission if commission_is_added else self.amount - self.commission


def commission_for(amount: Decimal, rule: CommissionRule | None, fractional_digits: int) -> Decimal:
    """percent of the amount plus fixed, clamped to [min, max], rounded half-up; no rule: nothing."""
    if rule is None:
        return round_half_up(Decimal(0), fractional_digits)
    raw = amount * rule.percent / 100 + rule.fixed
    if rule.min is not None:
        raw = max(raw, rule.min)
    if rule.max is not None:
        raw = min(raw, rule.max)
    return round_half_up(raw, fractional_digits)


def quote(amount: Decimal, rule: CommissionRule | None, fractional_digits: int) -> Quote:
    return Quote(amount=amount, commission=commission_for(amount, rule, fractional_digits))
