"""Who caused a change, as a request's history, an operation and an audit entry record it: apart from the
operations' own view (wallet.models.operations), as the functions recording a change define no operation."""

from wallet.models.base import CamelModel


class Actor(CamelModel):
    """Who caused a change: a user, or the platform's own workflow."""

    user_id: str
    role: str
    organization_id: str
