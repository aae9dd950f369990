"""Data access for limits: rules in the catalog table, usage counters beside the journal.

A counter is one item per account, operation type, UTC window and measure (amount or count),
moved by the conditional ADD that rides in the posting's own transaction. Rules are read back as stored
items (limits makes them models), so what only moves counters imports no rule model."""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from wallet.config import settings
from wallet.dynamo import Item, batch_get, every_item, transact_write

if TYPE_CHECKING:
    from wallet.models.limits import LimitRule

LIMIT = "LIMIT"
USE = "LIMITUSE"


def _catalog() -> str:
    return settings().catalog_table


def _journal() -> str:
    return settings().journal_table


def rule_key(operation: str, currency: str, subject: str) -> dict[str, str]:
    """subject: 'ROLE#INDIVIDUAL' or 'COIN#<serial>'."""
    return {"pk": f"{LIMIT}#{operation}#{currency}", "sk": subject}


def put_rule(rule: "LimitRule", subject: str, at: str, *companions: dict[str, Any]) -> None:
    """A second rule for the same operation, currency and subject replaces the first; its audit entry rides with it."""
    key = rule_key(rule.operation_type.value, rule.currency_code, subject)
    # Amounts kept as the decimal strings they were given: a stored number comes back trimmed ("25.00" as 25).
    record = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    item = record | key | {"gsi1pk": LIMIT, "gsi1sk": f"{at}#{subject}"}
    transact_write([{"Put": {"TableName": _catalog(), "Item": item}}, *companions])


def rules(keys: list[dict[str, str]]) -> list[Item]:
    return batch_get(_catalog(), keys)


def all_rules() -> list[Item]:
    return every_item(
        "query",
        TableName=_catalog(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :kind",
        ExpressionAttributeValues={":kind": LIMIT},
    )


def counter_key(coin_serial: str, operation: str, window: str, measure: str) -> dict[str, str]:
    """window: 'DAY#2026-11-27' or 'MONTH#2026-11'; measure: 'AMOUNT' or 'COUNT'."""
    return {"pk": f"{USE}#{coin_serial}#{operation}", "sk": f"{window}#{measure}"}


def counter_use(key: dict[str, str], delta: Decimal, limit: Decimal, expires_at_epoch: int) -> dict[str, Any]:
    """Adds `delta` only if the counter stays within `limit`: no number of concurrent operations passes it."""
    return {
        "Update": {
            "TableName": _journal(),
            "Key": key,
            "UpdateExpression": "ADD used :delta SET expiresAtEpoch = :expires",
            "ConditionExpression": "attribute_not_exists(used) OR used <= :room",
            "ExpressionAttributeValues": {":delta": delta, ":room": limit - delta, ":expires": expires_at_epoch},
        }
    }


def counter_release(key: dict[str, str], delta: Decimal) -> dict[str, Any]:
    """Gives back what an operation used (a declined or expired withdrawal)."""
    return {
        "Update": {
            "TableName": _journal(),
            "Key": key,
            "UpdateExpression": "ADD used :minus",
            "ExpressionAttributeValues": {":minus": -delta},
        }
    }


# Where an operation's record keeps what it used (limits.recorded), for `releases` to give back.
LIMIT_USE = "limitUse"


def releases(record: dict[str, Any] | None) -> tuple[dict[str, Any], ...]:
    """The counter updates that give back what a recorded operation used (its LIMIT_USE, limits.recorded)."""
    used = (record or {}).get(LIMIT_USE, [])
    return tuple(counter_release({"pk": use["pk"], "sk": use["sk"]}, Decimal(use["delta"])) for use in used)


def counters(keys: list[dict[str, str]]) -> dict[tuple[str, str], Decimal]:
    """What each counter has used, by (pk, sk); counters never moved are left out."""
    return {(item["pk"], item["sk"]): Decimal(item["used"]) for item in batch_get(_journal(), keys)}
