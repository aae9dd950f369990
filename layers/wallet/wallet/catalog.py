"""Set-up: currencies, issuers with their system accounts, the bank catalog, commission rules."""

import uuid
from decimal import Decimal

from pydantic import BaseModel

from wallet import audit, catalog_store, clock, ledger, ledger_store
from wallet.auth import Caller
from wallet.errors import NotFound
from wallet.models.base import Page
from wallet.models.catalog import (
    Bank,
    CommissionRule,
    Currency,
    Issuer,
    NewBank,
    NewCurrency,
    NewIssuer,
    StoredCommissionRule,
)
from wallet.money import check_precision


def add_currency(new: NewCurrency, by: Caller) -> Currency:
    currency = Currency(**new.model_dump(), created_at=clock.iso(clock.now()))
    catalog_store.add_currency(currency, audit.by(by, "CURRENCY_CREATED", currency.code))
    return currency


def add_issuer(new: NewIssuer, by: Caller) -> Issuer:
    """The issuer and its emission, commission and transit accounts, each split into shards."""
    currency = existing_currency(new.currency_code)
    issuer = Issuer(**new.model_dump(), id=str(uuid.uuid4()), created_at=clock.iso(clock.now()))
    shards = [
        {
            "pk": key,
            "entity": "SYSTEM_ACCOUNT",
            "kind": kind.value,
            "issuerId": issuer.id,
            "currency": currency.code,
            "available": Decimal(0),
            "held": Decimal(0),
        }
        for kind in ledger.SystemAccount
        for key in ledger.system_shards(issuer.id, kind)
    ]
    ledger_store.put_accounts(shards)  # before the issuer is visible, so no operation finds them missing
    catalog_store.add_issuer(issuer, audit.by(by, "ISSUER_CREATED", issuer.id, {"currencyCode": currency.code}))
    return issuer


def add_bank(new: NewBank, by: Caller) -> Bank:
    bank = Bank(**new.model_dump(), bank_id=str(uuid.uuid4()), created_at=clock.iso(clock.now()))
    catalog_store.add_bank(bank, audit.by(by, "BANK_CREATED", bank.bank_id, {"bic": bank.bic}))
    return bank


def set_commission_rule(rule: CommissionRule, by: Caller) -> StoredCommissionRule:
    """Its money figures in the issuer's currency's digits: a fee the currency cannot pay is refused."""
    digits = existing_currency(existing_issuer(rule.issuer_id).currency_code).fractional_digits
    figures = {
        name: check_precision(value, digits, name)
        for name in ("fixed", "min", "max")
        if (value := getattr(rule, name)) is not None
    }
    stored = StoredCommissionRule(**(rule.model_dump() | figures), updated_at=clock.iso(clock.now()))
    target = f"{rule.operation_type.value}#{rule.issuer_id}"
    catalog_store.put_commission_rule(stored, audit.by(by, "COMMISSION_SET", target, rule.model_dump(mode="json")))
    return stored


def existing_currency(code: str) -> Currency:
    currency = catalog_store.get_currency(code)
    if currency is None:
        raise NotFound("No such currency", details=[{"field": "currencyCode", "issue": "not found"}])
    return currency


def existing_issuer(issuer_id: str) -> Issuer:
    issuer = catalog_store.get_issuer(issuer_id)
    if issuer is None:
        raise NotFound("No such issuer", details=[{"field": "issuerId", "issue": "not found"}])
    return issuer


def existing_bank(bank_id: str) -> Bank:
    bank = catalog_store.get_bank(bank_id)
    if bank is None:
        raise NotFound("No such bank", details=[{"field": "bankId", "issue": "not found"}])
    return bank


def listing[Record: BaseModel](record_type: type[Record], page_size: int, page_token: str | None) -> Page[Record]:
    records, token = catalog_store.list_of(record_type, page_size, page_token)
    return Page[Record](records=records, next_page_token=token)
