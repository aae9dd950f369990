"""Screening before a decision: the default AML rule and the default card provider.

Each runs as its own function behind a small contract (a ScreeningSubject in, a ScreeningResult
out), so a real AML service or payment provider replaces the function, not the workflow."""

from typing import Any

from wallet.config import settings
from wallet.models.requests import ScreeningSubject
from wallet.models.workflow import ScreeningResult


def aml_check(subject: ScreeningSubject) -> ScreeningResult:
    """Flags amounts over the currency's threshold and names on the deny list (whole names, any case)."""
    threshold = subject.aml_threshold
    if threshold is not None and subject.amount > threshold:
        return ScreeningResult(cleared=False, reason=f"AML: amount over {threshold:f} {subject.currency}")
    denied = {name.strip().casefold() for name in settings().aml_denied_names.split(",") if name.strip()}
    if flagged := [name for name in subject.names if name.strip().casefold() in denied]:
        return ScreeningResult(cleared=False, reason=f"AML: {flagged[0]} is on the deny list")
    return ScreeningResult(cleared=True)


def card_provider(subject: ScreeningSubject) -> ScreeningResult:
    """Stands in for a card payment provider: authorises up to the configured limit."""
    limit = settings().card_provider_limit
    if subject.amount > limit:
        return ScreeningResult(cleared=False, reason=f"Card provider: amount over the limit of {limit}")
    return ScreeningResult(cleared=True)


def decline_reason(verdict: Any) -> str:
    """Why a request was declined, from a screening answer that was not a clear pass, whatever its shape."""
    reason = verdict.get("reason") if isinstance(verdict, dict) else None
    if isinstance(reason, str) and reason:
        return reason[:500]
    return "Declined by screening: no clear answer"
