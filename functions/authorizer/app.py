"""The API's token authorizer: API Gateway calls it (result cached per token) before any non-public route.

It reuses the layer's token verification, so an unauthenticated request never reaches a function."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet.auth import caller_from_authorization_header
from wallet.errors import Unauthenticated
from wallet.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        caller = caller_from_authorization_header(event.get("authorizationToken"))
    except Unauthenticated:
        # API Gateway's contract: exactly this message answers 401 (the UNAUTHORIZED gateway response).
        raise Exception("Unauthorized") from None
    # The policy is cached per token for every route: allow the whole stage, not only methodArn.
    api_id, stage = str(event["methodArn"]).split("/")[:2]
    return {
        "principalId": caller.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_id}/{stage}/*"}],
        },
        "context": {
            "login": caller.login,
            "organizationId": caller.organization_id,
            "organizationType": caller.organization_type.value,
            "role": caller.role.value,
        },
    }


wallet.cold_start.init_done()
