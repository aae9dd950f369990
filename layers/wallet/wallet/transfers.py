"""Transfers between customers' accounts, transfer templates, and smart cards."""

import secrets
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

from wallet import audit, catalog_store, clock, events, idempotency, ledger, ledger_store, limits, payment_tools_store
from wallet.auth import Caller
from wallet.commission import Quote, quote
from wallet.errors import BusinessRuleViolation, Conflict, NotFound
from wallet.ledger import Leg, Posting, SystemAccount
from wallet.ledger_store import AccountState
from wallet.models.base import Page
from wallet.models.catalog import Calculation, OperationType
from wallet.models.events import EventType
from wallet.models.identity import OwnerRef, public_name
from wallet.models.limits import LimitRule
from wallet.models.transfers import (
    CardFound,
    NewSmartCard,
    NewTemplate,
    PaymentToolType,
    SmartCard,
    SmartCards,
    SmartCardStatus,
    Template,
    TemplateListRequest,
    TransferCalculation,
    TransferDone,
)
from wallet.money import check_precision, in_digits
from wallet.secrets import keyed_digest


class PreparedTransfer(NamedTuple):
    """A transfer checked and priced from one read of both accounts."""

    accounts: dict[str, AccountState]
    source: AccountState
    destination: AccountState
    quote: Quote
    limit: LimitRule | None


def prepare(caller: Caller, source_serial: str, destination_serial: str, amount: Decimal) -> PreparedTransfer:
    source_key, destination_key = ledger.customer_account(source_serial), ledger.customer_account(destination_serial)
    accounts = ledger_store.read_accounts([source_key, destination_key])
    source = accounts.get(source_key)
    if source is None or source.item["organizationId"] != caller.organization_id:
        raise ledger.no_account("sourceCoinSerial")
    destination = accounts.get(destination_key)
    if destination is None:
        raise ledger.no_account("destinationCoinSerial")
    if source_key == destination_key:
        raise BusinessRuleViolation("The source and the destination are the same account", code="SAME_ACCOUNT")
    for state in (source, destination):
        ledger.check_open(state)
    if source.currency != destination.currency:
        raise BusinessRuleViolation("The accounts are in different currencies", code="CURRENCY_MISMATCH")
    digits = int(source.item["fractionalDigits"])
    amount = check_precision(amount, digits)
    rule = catalog_store.get_commission_rule(OperationType.TRANSFER, source.item["issuerId"])
    limit = limits.rule_for(OperationType.TRANSFER.value, source.currency, caller.role.value, source.item["coinSerial"])
    return PreparedTransfer(accounts, source, destination, quote(amount, rule, digits), limit)


def calculation(prepared: PreparedTransfer) -> Calculation:
    shown = prepared.quote
    return Calculation(amount=shown.amount, commission=shown.commission, total_amount=shown.total(True))


def movement(source: AccountState, destination: AccountState, money: Quote, shard: int) -> tuple[Leg, ...]:
    """The legs of a transfer: the sender pays amount and commission, the commission goes to the sender's
    issuer; between two issuers the amount settles through each one's transit account, so each issuer's
    own books sum to zero. A refund posts the same legs negated, for its share of amount and commission."""
    paying, receiving = source.item["issuerId"], destination.item["issuerId"]
    legs = [Leg(source.key, -money.total(True)), Leg(destination.key, money.amount)]
    if money.commission:
        legs.append(Leg(ledger.system_account(paying, SystemAccount.COMMISSION, shard), money.commission))
    if paying != receiving:
        legs.append(Leg(ledger.system_account(paying, SystemAccount.TRANSIT, shard), money.amount))
        legs.append(Leg(ledger.system_account(receiving, SystemAccount.TRANSIT, shard), -money.amount))
    return tuple(leg for leg in legs if leg.amount)


def transfer_calculation(prepared: PreparedTransfer) -> TransferCalculation:
    return TransferCalculation(**calculation(prepared).model_dump(), currency=prepared.source.currency)


def execute(
    caller: Caller,
    prepared: PreparedTransfer,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    description: str | None = None,
    destination_card: str | None = None,
) -> TransferDone:
    """One posting: the sender pays amount and commission. The same idempotency key with the same
    request answers the first result again; with another request it is a conflict."""
    process_id = idempotency.operation_id(caller.organization_id, OperationType.TRANSFER.value, idempotency_key)
    shown = prepared.quote
    legs = movement(prepared.source, prepared.destination, shown, ledger.shard_for(process_id))
    details = {
        "organizationId": caller.organization_id,
        "sourceCoinSerial": prepared.source.item["coinSerial"],
        "destinationCoinSerial": prepared.destination.item["coinSerial"],
        "amount": shown.amount,
        "commission": shown.commission,
        "requestFingerprint": fingerprint,
        "actor": caller.actor,
    }
    if description:
        details["description"] = description
    if destination_card:
        details["destinationSmartCardId"] = destination_card
    used = limits.uses(prepared.limit, prepared.source.item["coinSerial"], shown.amount, clock.now())
    event = events.outbox_write(
        EventType.TRANSFER_COMPLETED,
        process_id,
        {
            "businessProcessId": process_id,
            "sourceCoinSerial": details["sourceCoinSerial"],
            "destinationCoinSerial": details["destinationCoinSerial"],
            "amount": shown.amount,
            "commission": shown.commission,
            "totalAmount": shown.total(True),
            "currency": prepared.source.currency,
            "description": description,
        },
        ordering_key=details["sourceCoinSerial"],
        organization_ids=[caller.organization_id, prepared.destination.item["organizationId"]],
    )
    posting = Posting(
        process_id,
        OperationType.TRANSFER.value,
        prepared.source.currency,
        legs,
        details,
        companions=(*limits.companions(used), event),
    )
    posted = ledger.post(posting, accounts=prepared.accounts)
    digits = int(prepared.source.item["fractionalDigits"])
    return _done(posted.record, digits, fingerprint if posted.replayed else None)


def replay(caller: Caller, idempotency_key: str | None, fingerprint: str) -> TransferDone | None:
    """A retry answers what the first call answered, before any check: a card blocked or a fee raised since
    does not turn a transfer that went through into a refusal (and the client into paying twice)."""
    if idempotency_key is None:
        return None
    process_id = idempotency.operation_id(caller.organization_id, OperationType.TRANSFER.value, idempotency_key)
    record = ledger_store.get_process(process_id)
    if record is None:
        return None
    currency = catalog_store.get_currency(record["currency"])
    return _done(record, currency.fractional_digits if currency else 0, fingerprint)


def _done(record: dict[str, Any], digits: int, fingerprint: str | None) -> TransferDone:
    """The transfer's answer from its record; a replay's fingerprint must be the first request's."""
    if fingerprint is not None and record.get("requestFingerprint") != fingerprint:
        raise Conflict("This Idempotency-Key was used for another request", code="IDEMPOTENCY_KEY_REUSED")
    amount, commission = (in_digits(record[name], digits) for name in ("amount", "commission"))
    return TransferDone(
        business_process_id=record["businessProcessId"],
        amount=amount,
        commission=commission,
        total_amount=amount + commission,
    )


# --- templates ---


def save_template(caller: Caller, new: NewTemplate) -> Template:
    _destination_coin(new)  # the destination must exist now
    template = Template(**new.model_dump(), transfer_template_id=str(uuid.uuid4()), created_at=clock.iso(clock.now()))
    payment_tools_store.put_template(template, caller.organization_id)
    return template


def own_template(caller: Caller, template_id: str) -> Template:
    found = payment_tools_store.get_template(template_id)
    if found is None or found[1] != caller.organization_id:
        raise NotFound("No such template", details=[{"field": "transferTemplateId", "issue": "not found"}])
    return found[0]


def list_templates(caller: Caller, request: TemplateListRequest) -> Page[Template]:
    records, token = payment_tools_store.templates_of(
        caller.organization_id,
        request.filter.payment_tool_type,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return Page[Template](records=records, next_page_token=token)


def destination_of(template: Template) -> str:
    """The account a template pays into: its own, or the one behind its card (if the card is active)."""
    return _destination_coin(template)


def _destination_coin(template: NewTemplate) -> str:
    if template.payment_tool_type == PaymentToolType.COIN:
        serial = template.destination.coin_serial
        if serial is None:
            raise ledger.no_account("destination.coinSerial")
        ledger.existing_account(serial, "destination.coinSerial")
        return serial
    found = payment_tools_store.get_card(template.destination.smart_card_id or "")
    if found is None:
        raise NotFound("No such card", details=[{"field": "destination.smartCardId", "issue": "not found"}])
    card, _ = found
    if card.status != SmartCardStatus.ACTIVE:
        raise BusinessRuleViolation("The card is blocked", code="CARD_BLOCKED")
    return card.coin_serial


def template_from_operation(caller: Caller, business_process_id: str, name: str | None) -> Template:
    record = ledger_store.get_process(business_process_id)
    if (
        record is None
        or record.get("organizationId") != caller.organization_id
        or "destinationCoinSerial" not in record
    ):
        raise NotFound("No such operation", details=[{"field": "businessProcessId", "issue": "not found"}])
    card_id = record.get("destinationSmartCardId")
    new = NewTemplate.model_validate(
        {
            "name": name or f"Transfer of {record['createdAt'][:10]}",
            "paymentToolType": PaymentToolType.SMART_CARD if card_id else PaymentToolType.COIN,
            "destination": {"smartCardId": card_id} if card_id else {"coinSerial": record["destinationCoinSerial"]},
        }
    )
    return save_template(caller, new)


# --- smart cards ---


def issue_card(new: NewSmartCard, by: Caller) -> SmartCard:
    account = ledger.existing_account(new.coin_serial)
    while True:  # a number already issued (1 in 10^14 per card) is drawn again
        number = card_number()
        card = SmartCard(
            smart_card_id=str(uuid.uuid4()),
            masked_number=f"**** **** **** {number[-4:]}",
            coin_serial=new.coin_serial,
            status=SmartCardStatus.ACTIVE,
        )
        # Only a keyed digest of the number is kept: it is never stored, shown or logged whole.
        if payment_tools_store.put_new_card(
            card,
            organization_id=account["organizationId"],
            number_digest=keyed_digest("card", number),
            created_at=clock.iso(clock.now()),
            recorded=audit.by(by, "CARD_ISSUED", card.smart_card_id, {"coinSerial": new.coin_serial}),
        ):
            return card


def card_number(prefix: str = "9") -> str:
    """16 digits, the last a Luhn check digit; the prefix 9 is the range for private cards."""
    body = prefix + "".join(str(secrets.randbelow(10)) for _ in range(14))
    return body + str(luhn_check_digit(body))


def luhn_check_digit(digits: str) -> int:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def my_cards(caller: Caller) -> SmartCards:
    return SmartCards(records=payment_tools_store.cards_of(caller.organization_id))


def set_card_status(caller: Caller, card_id: str, status: SmartCardStatus, reason: str | None) -> SmartCard:
    """Blocked, a card receives nothing; unblocked, it receives again. Recorded on the audit trail."""
    found = payment_tools_store.get_card(card_id)
    if found is None:
        raise NotFound("No such card", details=[{"field": "smartCardId", "issue": "not found"}])
    action = "CARD_BLOCKED" if status == SmartCardStatus.BLOCKED else "CARD_UNBLOCKED"
    payment_tools_store.set_card_status(card_id, status, audit.by(caller, action, card_id, {"reason": reason}))
    return found[0].model_copy(update={"status": status})


def look_up_card(number: str) -> CardFound:
    """By the number's keyed digest (the number itself is never stored); a blocked card is not found."""
    card_id = payment_tools_store.card_id_by_number(keyed_digest("card", number))
    found = payment_tools_store.get_card(card_id) if card_id else None
    account = ledger_store.get_account_item(ledger.customer_account(found[0].coin_serial)) if found else None
    if found is None or account is None or found[0].status != SmartCardStatus.ACTIVE:
        raise NotFound("No such card", details=[{"field": "cardNumber", "issue": "not found"}])
    card = found[0]
    return CardFound(
        smart_card_id=card.smart_card_id,
        masked_number=card.masked_number,
        owner=OwnerRef(name=public_name(account["ownerName"])),
    )
