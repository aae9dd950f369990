"""The audit trail read back: administrators page through its entries, newest first, filtered."""

from wallet import audit_store
from wallet.auth import Caller
from wallet.models.audit import AuditEntry, AuditListRequest
from wallet.models.base import Page
from wallet.models.roles import Role


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
