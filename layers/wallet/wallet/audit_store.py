"""Data access for the audit trail: the only module that knows the audit table's keys.

Entries are spread by their own id; gsi1 finds an actor's, gsi2 a target's and gsi3 every entry,
each newest first."""

from typing import Any

from wallet.config import settings
from wallet.dynamo import Item, filtered_query_page

EVERY_ENTRY = "AUDIT"


def _table() -> str:
    return settings().audit_table


def entry_put(entry: Item) -> dict[str, Any]:
    """A TransactWriteItems element: the entry, written with the change it records."""
    sort_key = f"{entry['at']}#{entry['auditId']}"
    item = {
        **{key: value for key, value in entry.items() if value is not None},
        "pk": f"AUDIT#{entry['auditId']}",
        "sk": "AUDIT",
        "gsi1pk": f"ACTOR#{entry['actor']['userId']}",
        "gsi2pk": f"TARGET#{entry['targetId']}",
        "gsi3pk": EVERY_ENTRY,
        "gsisk": sort_key,
    }
    return {"Put": {"TableName": _table(), "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def page(
    *,
    actor_user_id: str | None,
    target_id: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    page_size: int,
    page_token: str | None,
) -> tuple[list[Item], str | None]:
    """Newest first, from the narrowest index the filter allows; never a scan."""
    if actor_user_id:
        index, key, partition = "gsi1", "gsi1pk", f"ACTOR#{actor_user_id}"
    elif target_id:
        index, key, partition = "gsi2", "gsi2pk", f"TARGET#{target_id}"
    else:
        index, key, partition = "gsi3", "gsi3pk", EVERY_ENTRY
    values: dict[str, Any] = {":partition": partition, ":low": since or "0", ":high": f"{until or '~'}~"}
    conditions = []
    if actor_user_id and target_id:
        conditions.append("targetId = :target")
        values[":target"] = target_id
    if action:
        conditions.append("#action = :action")
        values[":action"] = action
    request: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": index,
        "KeyConditionExpression": f"{key} = :partition AND gsisk BETWEEN :low AND :high",
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,
    }
    if conditions:
        request["FilterExpression"] = " AND ".join(conditions)
    if action:
        request["ExpressionAttributeNames"] = {"#action": "action"}
    return filtered_query_page(page_size=page_size, page_token=page_token, **request)
