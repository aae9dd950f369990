"""Events for integrations: each decided request is announced on EventBridge."""

import json

from wallet.aws import events
from wallet.config import settings
from wallet.models.requests import MoneyRequest, RequestKind

EVENT_NAMES = {RequestKind.TOP_UP: "TopUp", RequestKind.WITHDRAWAL: "Withdrawal"}


def announce(request: MoneyRequest) -> str:
    """`TopUpAccepted`, `WithdrawalDeclined`, ...: the detail is the request as the API shows it."""
    detail_type = f"{EVENT_NAMES[request.kind]}{request.status.value.title()}"
    events().put_events(
        Entries=[
            {
                "Source": settings().event_source,
                "DetailType": detail_type,
                "Detail": json.dumps(request.model_dump(mode="json", by_alias=True)),
            }
        ]
    )
    return detail_type
