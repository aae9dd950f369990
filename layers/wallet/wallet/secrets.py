"""Platform secrets, read through Powertools Parameters and cached for a few minutes."""

import hashlib
import hmac

from wallet.aws import secrets
from wallet.config import settings

SECRET_CACHE_SECONDS = 300


def signing_key() -> bytes:
    value: str = secrets().get(settings().token_secret_id, max_age=SECRET_CACHE_SECONDS)
    return value.encode()


def keyed_digest(purpose: str, *parts: str) -> str:
    """A digest that only a holder of the signing key can compute (one-time codes, page tokens)."""
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()
