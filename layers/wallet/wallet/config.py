"""Deployment settings, read once from the function's environment on first use.

A dataclass, not a pydantic model: the authorizer reads its one setting without paying pydantic's import at
each cold start (about a fifth of the floor, `make bench`)."""

import math
import os
from dataclasses import MISSING, Field, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

NUMBERS = (int, float, Decimal)
DEFAULT_CARD_PROVIDER_LIMIT = Decimal(5_000)


def _variable(name: str, default: Any = MISSING, *, low: int | None = None, high: int | None = None) -> Any:
    """The setting read from environment variable `name`; a number must lie within [low, high] where given."""
    return field(default=default, metadata={"variable": name, "low": low, "high": high})


@dataclass(frozen=True, kw_only=True)
class Settings:
    stage: str = _variable("STAGE", "dev")
    users_table: str = _variable("USERS_TABLE")
    catalog_table: str = _variable("CATALOG_TABLE")
    accounts_table: str = _variable("ACCOUNTS_TABLE")
    journal_table: str = _variable("JOURNAL_TABLE")
    payment_tools_table: str = _variable("PAYMENT_TOOLS_TABLE")
    requests_table: str = _variable("REQUESTS_TABLE")
    outbox_table: str = _variable("OUTBOX_TABLE")
    audit_table: str = _variable("AUDIT_TABLE")
    webhooks_table: str = _variable("WEBHOOKS_TABLE")
    webhook_queue_url: str = _variable("WEBHOOK_QUEUE_URL", "")
    webhook_retry_base_seconds: float = _variable("WEBHOOK_RETRY_BASE_SECONDS", 30.0, low=0)
    approval_workflow_arn: str | None = _variable("APPROVAL_WORKFLOW_ARN", None)
    aml_denied_names: str = _variable("AML_DENIED_NAMES", "")
    card_provider_limit: Decimal = _variable("CARD_PROVIDER_LIMIT", DEFAULT_CARD_PROVIDER_LIMIT)  # noqa: RUF009 - a field()
    event_source: str = _variable("EVENT_SOURCE", "wallet")
    event_bus_name: str = _variable("EVENT_BUS_NAME", "default")
    system_account_shards: int = _variable("SYSTEM_ACCOUNT_SHARDS", 16, low=1, high=100)
    token_secret_id: str = _variable("TOKEN_SECRET_ID")
    token_ttl_minutes: int = _variable("TOKEN_TTL_MINUTES", 15, low=1)
    sender_email: str = _variable("SENDER_EMAIL")
    reconciliation_function_arn: str = _variable("RECONCILIATION_FUNCTION_ARN", "")
    reconciliation_segments: int = _variable("RECONCILIATION_SEGMENTS", 8, low=1, high=64)


@cache
def settings() -> Settings:
    """Raises ValueError naming the variable that is missing or out of its range."""
    values = {}
    for setting in fields(Settings):
        raw = os.environ.get(setting.metadata["variable"])
        if raw is not None:
            values[setting.name] = _parsed(setting, raw)
        elif setting.default is MISSING:
            raise ValueError(f"{setting.metadata['variable']} is not set")
    return Settings(**values)


def _parsed(setting: "Field[Any]", raw: str) -> Any:
    if setting.type not in NUMBERS:
        return raw
    name, low, high = setting.metadata["variable"], setting.metadata["low"], setting.metadata["high"]
    try:
        value = setting.type(raw)
    except (ValueError, InvalidOperation):
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        bounds = " and ".join([f"at least {low}"] * (low is not None) + [f"at most {high}"] * (high is not None))
        raise ValueError(f"{name} must be a finite number{' ' * bool(bounds)}{bounds}, not {raw!r}")
    return value
