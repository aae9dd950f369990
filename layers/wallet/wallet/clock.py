"""The platform's clock, one place so tests can move time."""

import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_ms() -> int:
    """Milliseconds since the epoch: what a token's issue time is compared with when older tokens are revoked."""
    return int(now().timestamp() * 1000)


def monotonic() -> float:
    """Seconds for measuring how long something took; never goes back."""
    return time.monotonic()


def pause(seconds: float) -> None:
    time.sleep(seconds)
