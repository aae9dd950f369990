"""Idempotency keys: the same key names the same operation, and a request's fingerprint tells
a retry (same body) from a reuse of the key for something else (another body: 409)."""

import hashlib
import json
import uuid

OPERATION_NAMESPACE = uuid.UUID("6f1d8a52-3c1e-4f7e-9a55-0c0ffee00001")


def operation_id(organization_id: str, operation: str, idempotency_key: str | None) -> str:
    """Derived from the key, so a retry finds the operation it repeats; a fresh id without one.
    Keys are the caller's organisation's own: two customers may use the same key."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(OPERATION_NAMESPACE, f"{organization_id}:{operation}:{idempotency_key}"))


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()
