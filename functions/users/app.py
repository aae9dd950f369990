"""Organisations and users: administration of who may use the platform."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import audit_view, identity, passwords
from wallet.api import caller, create_app
from wallet.models.audit import AuditEntry, AuditListRequest
from wallet.models.base import Page
from wallet.models.identity import Organization, User
from wallet.models.identity_api import (
    Acknowledged,
    NewUser,
    OrganizationListRequest,
    PasswordChange,
    UserCreated,
    UserListRequest,
)
from wallet.models.roles import STAFF_ROLES, Role
from wallet.observability import logger, metrics

app = create_app()
UserId = Annotated[str, Path(alias="userId", max_length=64)]


@app.post("/api/v1/organizations", summary="List organisations (customers see their own)")
def list_organizations(request: OrganizationListRequest = OrganizationListRequest()) -> Page[Organization]:
    return identity.list_organizations(caller(app), request)


@app.post("/api/v1/users", status_code=201, summary="Create a service user or a customer with its organisation")
def create_user(new_user: NewUser) -> UserCreated:
    caller(app).require(Role.ADMINISTRATOR)
    return UserCreated(user=identity.create_user(new_user, caller(app)))


@app.post("/users/view", summary="List users, filtered by role, organisation or login")
def list_users(request: UserListRequest = UserListRequest()) -> Page[User]:
    caller(app).require(*STAFF_ROLES)
    return identity.list_users(request)


@app.post("/audit/view", summary="Who did what, newest first (administrator)")
def view_audit(request: AuditListRequest = AuditListRequest()) -> Page[AuditEntry]:
    return audit_view.view(caller(app), request)


@app.post("/users/me/password", summary="Change the caller's password; earlier tokens stop working")
def change_password(change: PasswordChange) -> Acknowledged:
    passwords.change_password(caller(app), change.current_password, change.new_password)
    return Acknowledged(status="PASSWORD_CHANGED")


@app.post("/api/v1/users/<userId>/disable", summary="Disable a user: no log-in, existing tokens refused (admin)")
def disable_user(user_id: UserId) -> User:
    caller(app).require(Role.ADMINISTRATOR)
    return passwords.set_disabled(caller(app), user_id, disabled=True)


@app.post("/api/v1/users/<userId>/enable", summary="Enable a disabled user again (admin)")
def enable_user(user_id: UserId) -> User:
    caller(app).require(Role.ADMINISTRATOR)
    return passwords.set_disabled(caller(app), user_id, disabled=False)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
