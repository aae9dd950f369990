"""Data access for the ledger: the only module that knows the accounts and journal tables' keys."""

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

from wallet.aws import dynamodb
from wallet.config import settings
from wallet.dynamo import Item, batch_get, every_item, parallel_scan, query_page, transact_write

ACCOUNT = "ACCOUNT"
PROCESS = "PROCESS"


class AccountState(NamedTuple):
    """An account as read: its balances and the version a conditional write must still find."""

    key: str
    currency: str
    available: Decimal
    held: Decimal
    version: int
    is_customer: bool
    item: Item


def _accounts() -> str:
    return settings().accounts_table


def _journal() -> str:
    return settings().journal_table


def account_state(item: Item) -> AccountState:
    return AccountState(
        key=item["pk"],
        currency=item["currency"],
        available=Decimal(item["available"]),
        held=Decimal(item["held"]),
        version=int(item.get("version", 0)),
        is_customer=item["entity"] == "CUSTOMER_ACCOUNT",
        item=item,
    )


def read_accounts(keys: list[str]) -> dict[str, AccountState]:
    """One strongly consistent BatchGetItem for up to 100 accounts."""
    items = batch_get(_accounts(), [{"pk": key, "sk": ACCOUNT} for key in keys])
    return {item["pk"]: account_state(item) for item in items}


def put_accounts(items: list[Item]) -> None:
    for start in range(0, len(items), 25):
        writes = [{"PutRequest": {"Item": {**item, "sk": ACCOUNT}}} for item in items[start : start + 25]]
        request: dict[str, Any] = {_accounts(): writes}
        while request:
            request = dynamodb().batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def put_account_if_absent(item: Item, *companions: dict[str, Any]) -> None:
    """A new account, and what rides with it (its event), in one transaction."""
    account = {
        "TableName": _accounts(),
        "Item": {**item, "sk": ACCOUNT},
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    transact_write([{"Put": account}, *companions])


def get_account_item(key: str) -> Item | None:
    """Strongly consistent: it gates who may see or pay an account."""
    answer = dynamodb().get_item(TableName=_accounts(), Key={"pk": key, "sk": ACCOUNT}, ConsistentRead=True)
    item: Item | None = answer.get("Item")
    return item


def accounts_of_organization(organization_id: str) -> list[Item]:
    return every_item(
        "query",
        TableName=_accounts(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": f"ORG#{organization_id}"},
    )


# --- the one write of an operation ---


def process_put(process: Item) -> dict[str, Any]:
    """The business-process record: written once, so a replayed operation can never post twice."""
    return {
        "Put": {
            "TableName": _journal(),
            "Item": {**process, "pk": f"{PROCESS}#{process['businessProcessId']}", "sk": PROCESS},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def customer_balance_update(state: AccountState, available: Decimal, held: Decimal) -> dict[str, Any]:
    """New balances, valid only if nobody wrote the account since it was read."""
    return {
        "Update": {
            "TableName": _accounts(),
            "Key": {"pk": state.key, "sk": ACCOUNT},
            "UpdateExpression": "SET available = :available, held = :held, version = :next",
            "ConditionExpression": "version = :read",
            "ExpressionAttributeValues": {
                ":available": available,
                ":held": held,
                ":next": state.version + 1,
                ":read": state.version,
            },
        }
    }


def status_update(state: AccountState, status: str) -> dict[str, Any]:
    """A new status for a customer account, valid only on the read it was decided from (balances included);
    the version moves, so a posting decided on the old status fails its guard and reads again."""
    return {
        "Update": {
            "TableName": _accounts(),
            "Key": {"pk": state.key, "sk": ACCOUNT},
            "UpdateExpression": "SET #status = :status, version = :next",
            "ConditionExpression": "version = :read",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": status, ":next": state.version + 1, ":read": state.version},
        }
    }


def system_balance_update(key: str, currency: str, available: Decimal, held: Decimal) -> dict[str, Any]:
    """System accounts take commutative increments: no read, so concurrent operations never conflict."""
    return {
        "Update": {
            "TableName": _accounts(),
            "Key": {"pk": key, "sk": ACCOUNT},
            "UpdateExpression": "ADD available :available, held :held",
            "ConditionExpression": "attribute_exists(pk) AND currency = :currency",
            "ExpressionAttributeValues": {":available": available, ":held": held, ":currency": currency},
        }
    }


def entry_put(entry: Item) -> dict[str, Any]:
    sort_key = f"ENTRY#{entry['createdAt']}#{entry['businessProcessId']}#{entry['leg']:02d}"
    return {
        "Put": {
            "TableName": _journal(),
            "Item": {**entry, "pk": entry["account"], "sk": sort_key},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def refunded_total_update(
    business_process_id: str, *, read_total: Decimal, new_total: Decimal, commission_refunded: Decimal
) -> dict[str, Any]:
    """The running refunded total on the original operation, valid only if it still is what the refund
    was computed from: racing refunds are decided one after the other, never on the same total."""
    return {
        "Update": {
            "TableName": _journal(),
            "Key": {"pk": f"{PROCESS}#{business_process_id}", "sk": PROCESS},
            "UpdateExpression": "SET refundedTotal = :new, commissionRefunded = :commission",
            "ConditionExpression": "attribute_exists(pk) AND "
            + ("refundedTotal = :read" if read_total else "attribute_not_exists(refundedTotal)"),
            "ExpressionAttributeValues": {":new": new_total, ":commission": commission_refunded}
            | ({":read": read_total} if read_total else {}),
        }
    }


def write_operation(writes: list[dict[str, Any]]) -> None:
    dynamodb().transact_write_items(TransactItems=writes)


def get_process(business_process_id: str) -> Item | None:
    item: Item | None = (
        dynamodb()
        .get_item(
            TableName=_journal(), Key={"pk": f"{PROCESS}#{business_process_id}", "sk": PROCESS}, ConsistentRead=True
        )
        .get("Item")
    )
    return item


def statement_page(
    account_key: str, *, since: str | None, until: str | None, page_size: int, page_token: str | None
) -> tuple[list[Item], str | None]:
    condition = "pk = :pk AND sk BETWEEN :low AND :high"
    values = {":pk": account_key, ":low": f"ENTRY#{since or ''}", ":high": f"ENTRY#{until or '~'}~"}
    return query_page(
        TableName=_journal(),
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ScanIndexForward=False,
        page_size=page_size,
        page_token=page_token,
    )


def fold_accounts[T](segments: int, fold: Callable[[Iterator[AccountState]], T]) -> list[T]:
    """Every account, read by a parallel scan in `segments` segments, each segment's accounts folded."""
    return parallel_scan(segments, lambda items: fold(account_state(item) for item in items), TableName=_accounts())


def fold_entries[T](segments: int, fold: Callable[[Iterator[Item]], T]) -> list[T]:
    """Every journal entry (not the records kept beside them), by a parallel scan, each segment's folded."""
    return parallel_scan(
        segments,
        fold,
        TableName=_journal(),
        FilterExpression="begins_with(sk, :entry)",
        ProjectionExpression="#account, #bucket, #amount",
        ExpressionAttributeNames={"#account": "account", "#bucket": "bucket", "#amount": "amount"},
        ExpressionAttributeValues={":entry": "ENTRY#"},
    )


def all_entries() -> list[Item]:
    return [item for item in every_item("scan", TableName=_journal()) if item["sk"].startswith("ENTRY#")]
