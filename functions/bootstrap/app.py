"""Creates the system organisation and the first administrator: a custom resource at deployment,
or a one-off invocation. Safe to run any number of times."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import cloudformation, identity
from wallet.aws import secrets
from wallet.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    from_stack = "ResponseURL" in event
    try:
        if event.get("RequestType") != "Delete":  # users outlive the stack: the tables are retained
            password = secrets().get(os.environ["ADMIN_PASSWORD_SECRET_ID"], max_age=0)
            identity.bootstrap(os.environ["ADMIN_LOGIN"], password)
    except Exception as error:
        logger.exception("Bootstrap failed")
        if from_stack:
            cloudformation.respond(event, succeeded=False, reason=str(error)[:500])
            return {"status": "FAILED"}
        raise
    if from_stack:
        cloudformation.respond(event, succeeded=True)
    return {"status": "BOOTSTRAPPED", "systemOrganizationId": identity.SYSTEM_ORGANIZATION_ID}


wallet.cold_start.init_done()
