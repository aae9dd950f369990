"""Refunds of transfers: partial and repeated, each with its share of the commission.

Every refund moves the original transfer's legs back, scaled to its amount, and in the same
transaction moves the running refunded total kept on the original operation. That total is written
only if it still is the one the refund was computed from, so racing refunds are decided one after
the other and their sum never exceeds the original."""

from decimal import Decimal
from typing import Any

from wallet import audit, events, idempotency, ledger, ledger_store, transfers
from wallet.auth import Caller
from wallet.commission import Quote
from wallet.errors import BusinessRuleViolation, Conflict, NotFound
from wallet.ledger import Leg, Posting, Refusable
from wallet.models.catalog import OperationType
from wallet.models.events import EventType
from wallet.models.transfers import RefundDone, RefundRequest
from wallet.money import check_precision, in_digits, round_half_up

REFUND = "TRANSFER_REFUND"
MAX_ATTEMPTS = 8
# Kept on the record for replays, not sent to integrators.
PRIVATE_DETAILS = ("requestFingerprint", "fractionalDigits")


class RefundExceedsOriginal(BusinessRuleViolation):
    code = "REFUND_EXCEEDS_ORIGINAL"


class RefundedTotalMoved(Conflict):
    """Another refund of the same transfer landed first: decide again on the new total."""

    code = "CONCURRENT_UPDATE"


def refund(
    caller: Caller, original_id: str, request: RefundRequest, *, idempotency_key: str | None, fingerprint: str
) -> RefundDone:
    refund_id = idempotency.operation_id(caller.organization_id, f"{REFUND}:{original_id}", idempotency_key)
    if idempotency_key and (done := ledger_store.get_process(refund_id)):
        return _answer(done, fingerprint)  # a replay answers first, whatever changed since
    for _ in range(MAX_ATTEMPTS):
        posting, accounts = _posting(caller, original_id, refund_id, request, fingerprint)
        try:
            return _answer(ledger.post(posting, accounts=accounts).record, fingerprint)
        except RefundedTotalMoved:
            continue
        except ledger.InsufficientFunds:
            # The recipient's balance may have gone to a racing refund: then decide again on the new total.
            read_total = posting.details["refundedTotal"] - posting.details["amount"]
            if _refunded(ledger_store.get_process(original_id)) == read_total:
                raise
    raise RefundedTotalMoved("The transfer is being refunded by other operations; try again")


def commission_share(commission: Decimal, original: Decimal, refunded: Decimal, digits: int) -> Decimal:
    """The commission refunded once `refunded` of `original` is back: the same share, half-up, so the
    shares of refunds that add up to the original add up to exactly the commission charged."""
    return round_half_up(commission * refunded / original, digits)


def _posting(
    caller: Caller, original_id: str, refund_id: str, request: RefundRequest, fingerprint: str
) -> tuple[Posting, dict[str, ledger_store.AccountState]]:
    original = ledger_store.get_process(original_id)
    if original is None or original["type"] != OperationType.TRANSFER.value:
        raise _unknown()
    payer_key = ledger.customer_account(original["sourceCoinSerial"])
    payee_key = ledger.customer_account(original["destinationCoinSerial"])
    accounts = ledger_store.read_accounts([payer_key, payee_key])
    payer, payee = accounts.get(payer_key), accounts.get(payee_key)
    if payer is None or payee is None or not caller.may_see(payee.item["organizationId"]):
        raise _unknown()  # only the receiving side (or staff) refunds; for anyone else it does not exist
    digits = int(payee.item["fractionalDigits"])
    paid, commission = Decimal(original["amount"]), Decimal(original["commission"])
    refunded = _refunded(original)
    amount = check_precision(request.amount, digits) if request.amount else paid - refunded
    if amount <= 0 or refunded + amount > paid:
        raise RefundExceedsOriginal(
            f"Refunds would exceed the original amount; {paid - refunded:f} is left to refund",
            details=[{"field": "amount", "issue": f"at most {paid - refunded:f}"}],
        )
    commission_before = Decimal(original.get("commissionRefunded", 0))
    commission_after = commission_share(commission, paid, refunded + amount, digits)
    share = Quote(amount, commission_after - commission_before)
    legs = transfers.movement(payer, payee, share, ledger.shard_for(original_id))
    total = ledger_store.refunded_total_update(
        original_id, read_total=refunded, new_total=refunded + amount, commission_refunded=commission_after
    )
    details = {
        "refundOf": original_id,
        "organizationId": payee.item["organizationId"],
        "sourceCoinSerial": payee.item["coinSerial"],
        "payerCoinSerial": payer.item["coinSerial"],
        "amount": amount,
        "commissionRefunded": share.commission,
        "refundedTotal": refunded + amount,
        "requestFingerprint": fingerprint,
        "fractionalDigits": digits,
    } | ({"reason": request.reason} if request.reason else {})
    posting = Posting(
        refund_id,
        REFUND,
        payee.currency,
        tuple(Leg(leg.account, -leg.amount, leg.bucket) for leg in legs),
        details,
        companions=(
            Refusable(total, RefundedTotalMoved("Another refund of this transfer landed first")),
            events.outbox_write(
                EventType.TRANSFER_REFUNDED,
                refund_id,
                {"businessProcessId": refund_id, "currency": payee.currency}
                | {name: value for name, value in details.items() if name not in PRIVATE_DETAILS},
                ordering_key=payee.item["coinSerial"],
                organization_ids=[payee.item["organizationId"], payer.item["organizationId"]],
            ),
            audit.by(caller, "TRANSFER_REFUNDED", refund_id, {"refundOf": original_id, "amount": f"{amount:f}"}),
        ),
    )
    return posting, accounts


def _refunded(original: dict[str, Any] | None) -> Decimal:
    return Decimal((original or {}).get("refundedTotal", 0))


def _answer(record: dict[str, object], fingerprint: str) -> RefundDone:
    if record.get("requestFingerprint") != fingerprint:
        raise Conflict("This Idempotency-Key was used for another request", code="IDEMPOTENCY_KEY_REUSED")
    done = RefundDone.model_validate(record)
    digits = int(str(record["fractionalDigits"]))  # DynamoDB gives the figures back trimmed ("10.00" as 10)
    figures = ("amount", "commission_refunded", "refunded_total")
    return done.model_copy(update={name: in_digits(getattr(done, name), digits) for name in figures})


def _unknown() -> NotFound:
    return NotFound("No such transfer", details=[{"field": "businessProcessId", "issue": "not found"}])
