"""The card payment provider's authorisation. Replace this function to plug in a real provider."""

from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from wallet import screening
from wallet.models.requests import ScreeningSubject
from wallet.observability import logger


@logger.inject_lambda_context(clear_state=True)
@event_parser(model=ScreeningSubject)
def lambda_handler(subject: ScreeningSubject, context: LambdaContext) -> dict[str, Any]:
    return screening.card_provider(subject).model_dump(by_alias=True)
