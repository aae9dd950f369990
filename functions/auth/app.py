"""Log-in and self-registration: the public routes."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import logins
from wallet.api import create_app, source_ip
from wallet.contract import published_document
from wallet.models.identity_api import Acknowledged
from wallet.models.logins_api import (
    Credentials,
    RecoveryConfirmation,
    RecoveryRequest,
    Registered,
    RegistrationConfirmation,
    RegistrationRequest,
    TokenCreated,
)
from wallet.observability import logger, metrics

app = create_app(authenticated=False)


@app.post("/authorization", summary="Create an access token")
def authorize(credentials: Credentials) -> TokenCreated:
    token = logins.log_in(credentials.login, credentials.password)
    metrics.add_metric(name="LogIns", unit=MetricUnit.Count, value=1)
    return token


@app.post("/registration", status_code=202, summary="Start self-registration: a one-time code is sent to the login")
def register(request: RegistrationRequest) -> dict[str, str]:
    logins.request_registration(request)
    return {"status": "CODE_SENT"}


@app.post("/registration/confirm", status_code=201, summary="Confirm self-registration with the code and a password")
def confirm_registration(confirmation: RegistrationConfirmation) -> dict[str, Registered]:
    return {"members": logins.confirm_registration(confirmation, source_ip(app))}


@app.post("/password/recovery", status_code=202, summary="Ask for a code to choose a new password")
def recover_password(request: RecoveryRequest) -> Acknowledged:
    logins.request_recovery(request.login)
    return Acknowledged(status="CODE_SENT")


@app.post("/password/recovery/confirm", summary="Choose a new password with the code; earlier tokens stop working")
def confirm_recovery(confirmation: RecoveryConfirmation) -> Acknowledged:
    logins.confirm_recovery(confirmation.login, confirmation.otp, confirmation.new_password, source_ip(app))
    return Acknowledged(status="PASSWORD_CHANGED")


@app.get(
    "/openapi.json",
    summary="This API's contract: one OpenAPI 3.1 document",
    responses={200: {"description": "The OpenAPI document", "content": {"application/json": {"schema": {}}}}},
)
def contract() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, published_document())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


wallet.cold_start.init_done()
