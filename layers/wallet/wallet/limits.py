"""Limits enforced with the money: per operation, per UTC day and per UTC month, in amount and count.

A limit is a counter moved by a conditional ADD in the posting's own TransactWriteItems, so no number
of concurrent operations passes it, and nothing is counted for an operation that did not happen.
Rules are read with one BatchGetItem and kept for the function's life for a short while, so the
money path costs no read beyond them."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from wallet import audit, catalog, clock, identity_store, ledger, limits_store
from wallet.auth import Caller
from wallet.errors import BusinessRuleViolation
from wallet.ledger import Refusable
from wallet.models.catalog import OperationType
from wallet.models.limits import LIMITED_OPERATIONS, CoinLimit, CoinLimits, LimitRule, LimitRules, Remaining
from wallet.money import check_precision, in_digits

RULES_CACHE_SECONDS = 30.0
_rules_cache: dict[tuple[str, str, str, str], tuple[float, LimitRule | None]] = {}


class LimitExceeded(BusinessRuleViolation):
    code = "LIMIT_EXCEEDED"


class Use(NamedTuple):
    """One counter an operation moves: its key, by how much, and the limit it must stay within."""

    name: str  # the rule's field: "daily.amount", "monthly.count", ...
    key: dict[str, str]
    delta: Decimal
    limit: Decimal
    expires_at: datetime


# --- rules ---


def set_rule(rule: LimitRule, by: Caller) -> LimitRule:
    digits = catalog.existing_currency(rule.currency_code).fractional_digits
    for name, amount in _amounts(rule):
        check_precision(amount, digits, name)
    if rule.coin_serial is not None:
        account = ledger.existing_account(rule.coin_serial)
        if account["currency"] != rule.currency_code:
            raise BusinessRuleViolation("The account is not in this currency", code="CURRENCY_MISMATCH")
    subject = _subject(rule)
    target = f"{rule.operation_type.value}#{rule.currency_code}#{subject}"
    recorded = audit.by(by, "LIMIT_SET", target, rule.model_dump(mode="json", by_alias=True, exclude_none=True))
    limits_store.put_rule(rule, subject, clock.iso(clock.now()), recorded)
    forget_rules()
    return rule


def list_rules() -> LimitRules:
    return LimitRules(records=[LimitRule.model_validate(item) for item in limits_store.all_rules()])


def forget_rules() -> None:
    """A rule written here is seen at once by this container; others see it within the cache's life."""
    _rules_cache.clear()


def rule_for(operation: str, currency: str, role: str, coin_serial: str) -> LimitRule | None:
    """The account's own rule, else its owner's role's; cached for a short while."""
    cache_key = (operation, currency, role, coin_serial)
    cached = _rules_cache.get(cache_key)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    stored = limits_store.rules(
        [
            limits_store.rule_key(operation, currency, f"ROLE#{role}"),
            limits_store.rule_key(operation, currency, f"COIN#{coin_serial}"),
        ]
    )
    found = {rule.coin_serial is not None: rule for rule in map(LimitRule.model_validate, stored)}
    rule = found.get(True) or found.get(False)
    _rules_cache[cache_key] = (time.monotonic() + RULES_CACHE_SECONDS, rule)
    return rule


def _subject(rule: LimitRule) -> str:
    return f"COIN#{rule.coin_serial}" if rule.coin_serial is not None else f"ROLE#{rule.role}"


def _amounts(rule: LimitRule) -> list[tuple[str, Decimal]]:
    named = [("perOperation", rule.per_operation)]
    named += [(f"{name}.amount", window.amount) for name, window in _windows(rule) if window]
    return [(name, amount) for name, amount in named if amount is not None]


def _windows(rule: LimitRule) -> list[tuple[str, Any]]:
    return [("daily", rule.daily), ("monthly", rule.monthly)]


# --- using and giving back ---


def uses(rule: LimitRule | None, coin_serial: str, amount: Decimal, at: datetime) -> list[Use]:
    """The counters an operation of `amount` moves; over a limit on its own already: 422 at once."""
    if rule is None:
        return []
    if rule.per_operation is not None and amount > rule.per_operation:
        raise _exceeded("perOperation", rule.per_operation)
    found = []
    for window, (label, expires_at) in zip(_windows(rule), _window_labels(at), strict=True):
        name, limit = window
        if limit is None:
            continue
        for measure, bound, delta in (("amount", limit.amount, amount), ("count", limit.count, Decimal(1))):
            if bound is None:
                continue
            if delta > bound:
                raise _exceeded(f"{name}.{measure}", Decimal(bound))
            key = limits_store.counter_key(coin_serial, rule.operation_type.value, label, measure.upper())
            found.append(Use(f"{name}.{measure}", key, delta, Decimal(bound), expires_at))
    return found


def companions(used: list[Use]) -> tuple[Refusable, ...]:
    """The counter updates to hand to the posting: a counter over its limit refuses it with LIMIT_EXCEEDED."""
    return tuple(
        Refusable(
            limits_store.counter_use(use.key, use.delta, use.limit, int(use.expires_at.timestamp())),
            _exceeded(use.name, use.limit),
        )
        for use in used
    )


def recorded(used: list[Use]) -> list[dict[str, Any]]:
    """Kept on the operation's record, so whatever gives it back (limits_store.releases) gives back exactly this."""
    return [use.key | {"delta": use.delta} for use in used]


def _window_labels(at: datetime) -> list[tuple[str, datetime]]:
    """Today's and this month's counter labels (UTC), each kept a day past its window's end."""
    day = at.astimezone(UTC)
    tomorrow = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    next_month = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
    return [
        (f"DAY#{day:%Y-%m-%d}", tomorrow + timedelta(days=1)),
        (f"MONTH#{day:%Y-%m}", next_month + timedelta(days=1)),
    ]


def _exceeded(name: str, limit: Decimal) -> LimitExceeded:
    return LimitExceeded(
        f"The {name} limit of {limit:f} is reached", details=[{"field": name, "issue": f"limit {limit:f}"}]
    )


# --- what remains ---


def remaining(caller: Caller, coin_serial: str) -> CoinLimits:
    """Each rule that applies to the account, with what is left of it today and this month (UTC)."""
    account = ledger.visible_account(caller, coin_serial)
    organization = identity_store.get_organization(account["organizationId"])
    role = organization.type.value if organization else ""
    at = clock.now()
    applying = [
        (operation, rule)
        for operation in LIMITED_OPERATIONS
        if (rule := rule_for(operation.value, account["currency"], role, coin_serial))
    ]
    counted = {(operation, use.name): use for operation, rule in applying for use in _counted(rule, coin_serial, at)}
    spent = limits_store.counters([use.key for use in counted.values()])
    left = {
        name: max(use.limit - spent.get((use.key["pk"], use.key["sk"]), Decimal(0)), Decimal(0))
        for name, use in counted.items()
    }

    def window(operation: OperationType, name: str) -> Remaining | None:
        amount, count = left.get((operation, f"{name}.amount")), left.get((operation, f"{name}.count"))
        if amount is None and count is None:
            return None
        shown = None if amount is None else in_digits(amount, int(account["fractionalDigits"]))
        return Remaining(amount=shown, count=None if count is None else int(count))

    return CoinLimits(
        coin_serial=coin_serial,
        limits=[
            CoinLimit(
                operation_type=operation,
                rule=rule,
                today=window(operation, "daily"),
                this_month=window(operation, "monthly"),
            )
            for operation, rule in applying
        ],
    )


def _counted(rule: LimitRule, coin_serial: str, at: datetime) -> list[Use]:
    """The counters a rule keeps, whatever an operation's size (a zero-sized use of each)."""
    return uses(rule.model_copy(update={"per_operation": None}), coin_serial, Decimal(0), at)
