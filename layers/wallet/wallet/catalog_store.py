"""Data access for set-up: the only module that knows the catalog table's keys."""

from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, condition_failed, every_item, query_page, transact_write
from wallet.errors import Conflict
from wallet.models.catalog import Bank, Currency, Issuer, OperationType, StoredCommissionRule


def _table() -> str:
    return settings().catalog_table


def _item(kind: str, ident: str, record: Item, listed_at: str) -> Item:
    return {"pk": f"{kind}#{ident}", "sk": kind, "gsi1pk": kind, "gsi1sk": f"{listed_at}#{ident}", **record}


def _put_new(item: Item) -> dict[str, Any]:
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _get(kind: str, ident: str) -> Item | None:
    """Strongly consistent: these reads gate money (rules, issuers, banks, currencies)."""
    key = {"pk": f"{kind}#{ident}", "sk": kind}
    item: Item | None = dynamodb().get_item(TableName=_table(), Key=key, ConsistentRead=True).get("Item")
    return item


KINDS: dict[type[BaseModel], str] = {
    Currency: "CURRENCY",
    Issuer: "ISSUER",
    Bank: "BANK",
    StoredCommissionRule: "COMMISSION",
}


def list_of[Record: BaseModel](
    record_type: type[Record], page_size: int, page_token: str | None
) -> tuple[list[Record], str | None]:
    """A page of one kind of set-up record, in the order they were added."""
    items, token = query_page(
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :kind",
        ExpressionAttributeValues={":kind": KINDS[record_type]},
        page_size=page_size,
        page_token=page_token,
    )
    return [record_type.model_validate(item) for item in items], token


def _record(model: Any) -> Item:
    return dict(model.model_dump(by_alias=True, exclude_none=True))


# --- currencies ---


def add_currency(currency: Currency, *companions: dict[str, Any]) -> None:
    try:
        transact_write([_put_new(_item("CURRENCY", currency.code, _record(currency), currency.code)), *companions])
    except ClientError as error:
        if condition_failed(error, 0):
            raise Conflict(f"The currency {currency.code} exists already", code="DUPLICATE_CURRENCY") from error
        raise


def fractional_digits_by_currency() -> dict[str, int]:
    items = every_item(
        "query",
        TableName=_table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :kind",
        ExpressionAttributeValues={":kind": "CURRENCY"},
    )
    return {item["code"]: int(item["fractionalDigits"]) for item in items}


def get_currency(code: str) -> Currency | None:
    item = _get("CURRENCY", code)
    return Currency.model_validate(item) if item else None


# --- issuers ---


def add_issuer(issuer: Issuer, *companions: dict[str, Any]) -> None:
    transact_write([_put_new(_item("ISSUER", issuer.id, _record(issuer), issuer.created_at)), *companions])


def get_issuer(issuer_id: str) -> Issuer | None:
    item = _get("ISSUER", issuer_id)
    return Issuer.model_validate(item) if item else None


# --- banks ---


def add_bank(bank: Bank, *companions: dict[str, Any]) -> None:
    """The bank and its BIC and SWIFT claims in one transaction: each code is used once, no race."""
    claims = [("BIC", bank.bic), ("SWIFT", bank.swift)]
    writes = [_put_new(_item("BANK", bank.bank_id, _record(bank), bank.created_at))]
    writes += [_put_new({"pk": f"{kind}#{code}", "sk": kind, "bankId": bank.bank_id}) for kind, code in claims]
    try:
        transact_write([*writes, *companions])
    except ClientError as error:
        taken = [field.lower() for index, (field, _) in enumerate(claims, start=1) if condition_failed(error, index)]
        if not taken:
            raise
        raise Conflict(
            "A bank with this code exists already",
            code="DUPLICATE_BANK_CODE",
            details=[{"field": field, "issue": "already used by another bank"} for field in taken],
        ) from error


def get_bank(bank_id: str) -> Bank | None:
    item = _get("BANK", bank_id)
    return Bank.model_validate(item) if item else None


# --- commission rules: one per operation type and issuer, replaced by a newer one ---


def put_commission_rule(rule: StoredCommissionRule, *companions: dict[str, Any]) -> None:
    """Its figures are kept as the decimal strings they were given in: they are never summed in DynamoDB,
    and a stored number would come back trimmed ("0.10" as 0.1)."""
    ident = f"{rule.operation_type.value}#{rule.issuer_id}"
    record = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    rule_put = {"Put": {"TableName": _table(), "Item": _item("COMMISSION", ident, record, ident)}}
    transact_write([rule_put, *companions])


def commission_rule_key(operation_type: OperationType, issuer_id: str) -> dict[str, str]:
    return {"pk": f"COMMISSION#{operation_type.value}#{issuer_id}", "sk": "COMMISSION"}


def get_commission_rule(operation_type: OperationType, issuer_id: str) -> StoredCommissionRule | None:
    item = _get("COMMISSION", f"{operation_type.value}#{issuer_id}")
    return StoredCommissionRule.model_validate(item) if item else None
