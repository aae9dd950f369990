"""The audit trail's entries and how they are asked for."""

from typing import Annotated, Any

from pydantic import Field

from wallet.models.actors import Actor
from wallet.models.base import CamelModel, Instant, ListFilter, ListRequest

Filterable = Annotated[str, Field(min_length=1, max_length=128)]


class AuditEntry(CamelModel):
    audit_id: str
    action: str
    actor: Actor
    target_id: str
    at: str
    source_ip: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AuditFilter(ListFilter):
    actor_user_id: Filterable | None = None
    action: Filterable | None = None
    target_id: Filterable | None = None
    from_: Instant | None = Field(None, alias="from")
    to: Instant | None = None


class AuditListRequest(ListRequest):
    filter: AuditFilter = AuditFilter.model_validate({})
