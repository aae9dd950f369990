"""The audit trail: who changed what, from where, recorded in the same transaction as the change.

Entries are built here, with no model and no token code, as every change imports this; administrators read
them back through `audit_view`."""

import uuid
from typing import TYPE_CHECKING, Any

from wallet import audit_store, clock
from wallet.models.roles import Role

if TYPE_CHECKING:
    from wallet.auth import Caller

# Who creates the first administrator: the stack's own bootstrap, before any user exists.
BOOTSTRAP_ACTOR = {"userId": "bootstrap", "role": "SYSTEM", "organizationId": "SYSTEM"}


def actor(user_id: str, role: Role, organization_id: str) -> dict[str, str]:
    """A user acting for themselves without a token yet (registering, recovering a password)."""
    return {"userId": user_id, "role": role.value, "organizationId": organization_id}


def entry(
    actor: dict[str, str],
    action: str,
    target_id: str,
    *,
    source_ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The entry as a TransactWriteItems element, for the change's own transaction."""
    return audit_store.entry_put(
        {
            "auditId": str(uuid.uuid4()),
            "action": action,
            "actor": actor,
            "targetId": target_id,
            "at": clock.iso(clock.now()),
            "sourceIp": source_ip,
            "details": {key: value for key, value in (details or {}).items() if value is not None},
        }
    )


def by(caller: "Caller", action: str, target_id: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry for what a caller of the API did."""
    return entry(caller.actor, action, target_id, source_ip=caller.source_ip, details=details)
