"""Accounts (coins): opening, listing, validating a payee, and statements."""

import secrets
from decimal import Decimal

from wallet import audit, catalog, clock, events, identity_store, ledger, ledger_store
from wallet.auth import Caller
from wallet.dynamo import Item
from wallet.errors import NotFound
from wallet.models.account_status import AccountStatus
from wallet.models.accounts import (
    Coin,
    Coins,
    CurrencyCodeRef,
    CurrencyRef,
    IssuerRef,
    NewCoin,
    StatementEntry,
    StatementRequest,
    ValidCoin,
)
from wallet.models.base import Page
from wallet.models.events import EventType
from wallet.models.identity import OwnerRef, public_name
from wallet.models.roles import CUSTOMER_ROLES
from wallet.money import in_digits


def open_coin(caller: Caller, new: NewCoin) -> Coin:
    caller.require(*CUSTOMER_ROLES)
    issuer = catalog.existing_issuer(new.issuer_id)
    currency = catalog.existing_currency(issuer.currency_code)
    organization = identity_store.get_organization(caller.organization_id)
    serial = secrets.token_hex(16)  # 128 random bits: a serial cannot be guessed from another
    created_at = clock.iso(clock.now())
    item = {
        "pk": ledger.customer_account(serial),
        "entity": "CUSTOMER_ACCOUNT",
        "coinSerial": serial,
        "name": new.name or f"{currency.code} account",
        "organizationId": caller.organization_id,
        "ownerName": organization.name if organization else caller.login,
        "issuerId": issuer.id,
        "issuerName": issuer.name,
        "currency": currency.code,
        "fractionalDigits": currency.fractional_digits,
        "status": AccountStatus.ACTIVE.value,
        "available": Decimal(0),
        "held": Decimal(0),
        "version": 0,
        "createdAt": created_at,
        "gsi1pk": f"ORG#{caller.organization_id}",
        "gsi1sk": f"{created_at}#{serial}",
    }
    coin = coin_of(item)
    opened = events.outbox_write(
        EventType.COIN_OPENED,
        serial,
        coin.model_dump(mode="json", by_alias=True),
        ordering_key=serial,
        organization_ids=[caller.organization_id],
        sequences={serial: 0},
    )
    ledger_store.put_account_if_absent(item, opened, audit.by(caller, "COIN_OPENED", serial, {"issuerId": issuer.id}))
    return coin


def list_coins(caller: Caller, organization_id: str | None = None) -> Coins:
    """The caller's organisation's accounts; staff name any customer's organisation."""
    wanted = organization_id or caller.organization_id
    if not caller.may_see(wanted):
        raise NotFound("No such organisation", details=[{"field": "organizationId", "issue": "not found"}])
    return Coins(coins=[coin_of(item) for item in ledger_store.accounts_of_organization(wanted)])


def validate_coin(coin_serial: str) -> ValidCoin:
    item = ledger_store.get_account_item(ledger.customer_account(coin_serial))
    if item is None or item["status"] != AccountStatus.ACTIVE.value:
        raise ledger.no_account("coinSerial")
    return ValidCoin(
        coin_serial=coin_serial,
        currency=CurrencyCodeRef(code=item["currency"]),
        owner=OwnerRef(name=public_name(item["ownerName"])),
    )


def statement(caller: Caller, request: StatementRequest) -> Page[StatementEntry]:
    wanted = request.filter
    account = ledger.visible_account(caller, wanted.coin_serial, "filter.coinSerial")
    items, token = ledger_store.statement_page(
        ledger.customer_account(wanted.coin_serial),
        since=wanted.from_,
        until=wanted.to,
        page_size=request.page_size,
        page_token=request.page_token,
    )
    digits = int(account["fractionalDigits"])
    figures = ("amount", "balanceAfter")
    records = [StatementEntry.model_validate(item | {f: in_digits(item[f], digits) for f in figures}) for item in items]
    return Page[StatementEntry](records=records, next_page_token=token)


def coin_of(item: Item) -> Coin:
    digits = int(item["fractionalDigits"])
    return Coin(
        coin_serial=item["coinSerial"],
        name=item["name"],
        issuer=IssuerRef(id=item["issuerId"], name=item["issuerName"]),
        currency=CurrencyRef(code=item["currency"], fractional_digits=int(item["fractionalDigits"])),
        available_balance=in_digits(item["available"], digits),
        held_balance=in_digits(item["held"], digits),
        status=AccountStatus(item["status"]),
        created_at=item["createdAt"],
    )
