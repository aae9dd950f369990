"""The audit trail: who changed what, from where, recorded in the same transaction as the change."""

import uuid
from typing import Any

from wallet import audit_store, clock
from wallet.auth import Caller
from wallet.models.audit import AuditEntry, AuditListRequest
from wallet.models.base import Page
from wallet.models.roles import Role

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


def by(caller: Caller, action: str, target_id: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry for what a caller of the API did."""
    return entry(caller.actor, action, target_id, source_ip=caller.source_ip, details=details)


def view(caller: Caller, request: AuditListRequest) -> Page[AuditEntry]:
    caller.require(Role.ADMINISTRATOR)
    wanted = request.filter
    items, token = audit_store.page(
        actor_user_id=wanted.actor_user_id,
        target_id=wanted.target_id,
        action=wanted.action,
        since=wanted.from_,
        until=wanted.to,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return Page[AuditEntry](records=[AuditEntry.model_validate(item) for item in items], next_page_token=token)
