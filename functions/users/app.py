"""Organisations and users: administration of who may use the platform."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import identity
from wallet.api import caller, create_app
from wallet.models.base import Page
from wallet.models.identity import (
    STAFF_ROLES,
    NewUser,
    Organization,
    OrganizationListRequest,
    Role,
    User,
    UserCreated,
    UserListRequest,
)
from wallet.observability import logger, metrics

app = create_app()


@app.post("/api/v1/organizations", summary="List organisations (customers see their own)")
def list_organizations(request: OrganizationListRequest = OrganizationListRequest()) -> Page[Organization]:
    return identity.list_organizations(caller(app), request)


@app.post("/api/v1/users", status_code=201, summary="Create a service user or a customer with its organisation")
def create_user(new_user: NewUser) -> UserCreated:
    caller(app).require(Role.ADMINISTRATOR)
    return UserCreated(user=identity.create_user(new_user))


@app.post("/users/view", summary="List users, filtered by role, organisation or login")
def list_users(request: UserListRequest = UserListRequest()) -> Page[User]:
    caller(app).require(*STAFF_ROLES)
    return identity.list_users(request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
