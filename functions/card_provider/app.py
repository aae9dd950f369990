"""The card payment provider's authorisation. Replace this function to plug in a real provider."""

import wallet.cold_start  # first: the collector stays off during init (see the module)

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import screening
from wallet.models.requests import ScreeningSubject
from wallet.observability import logger


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Validated by the model itself: Powertools' parser would cost this step's cold start as much as pydantic.
    return screening.card_provider(ScreeningSubject.model_validate(event)).model_dump(by_alias=True)


wallet.cold_start.init_done()
