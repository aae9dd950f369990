"""The kinds of event integrators receive, each committed with the operation it reports (its data's form per
type: wallet.models.event_data)."""

from enum import StrEnum


class EventType(StrEnum):
    TRANSFER_COMPLETED = "transfer.completed"
    TRANSFER_REFUNDED = "transfer.refunded"
    TOP_UP_CREDITED = "top_up.credited"
    TOP_UP_REVERSED = "top_up.reversed"
    TOP_UP_REQUEST_CREATED = "top_up_request.created"
    TOP_UP_REQUEST_ACCEPTED = "top_up_request.accepted"
    TOP_UP_REQUEST_DECLINED = "top_up_request.declined"
    TOP_UP_REQUEST_EXPIRED = "top_up_request.expired"
    WITHDRAWAL_HELD = "withdrawal.held"
    WITHDRAWAL_ACCEPTED = "withdrawal.accepted"
    WITHDRAWAL_DECLINED = "withdrawal.declined"
    WITHDRAWAL_EXPIRED = "withdrawal.expired"
    COIN_OPENED = "coin.opened"
    COIN_FROZEN = "coin.frozen"
    COIN_UNFROZEN = "coin.unfrozen"
    COIN_CLOSED = "coin.closed"
