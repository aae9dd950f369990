"""Small DynamoDB helpers shared by the data-access modules: pages and transaction outcomes."""

import base64
import hmac
import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from typing import Any

from botocore.exceptions import ClientError

from wallet.aws import deferred_read, dynamodb
from wallet.errors import Contention, InvalidInput
from wallet.secrets import keyed_digest

Item = dict[str, Any]
# Reasons DynamoDB cancels a transaction's item with that mean "try again", not "refused".
TRANSIENT_REASONS = frozenset({"TransactionConflict", "ThrottlingError"})
TRANSACTION_ATTEMPTS = 5
MAX_TRANSACTION_ITEMS = 100  # TransactWriteItems' limit

# What a page token belongs to (route, caller, filter): set by the HTTP edge for each request, so a token
# from one list, caller or filter is refused by every other.
page_scope: ContextVar[str] = ContextVar("page_scope", default="")


def encode_page_token(last_key: Item | None) -> str | None:
    """Opaque and signed, so a client cannot steer a query to keys it was not given."""
    if not last_key:
        return None
    payload = json.dumps(last_key, sort_keys=True, default=str)
    signature = keyed_digest("page", page_scope.get(), payload)[:32]
    return base64.urlsafe_b64encode(f"{signature}.{payload}".encode()).decode()


def decode_page_token(token: str | None) -> Item | None:
    if not token:
        return None
    try:
        signature, _, payload = base64.urlsafe_b64decode(token.encode()).decode().partition(".")
        if hmac.compare_digest(keyed_digest("page", page_scope.get(), payload)[:32], signature):
            return json.loads(payload)  # type: ignore[no-any-return]
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput("pageToken", "is not a page token this API issued for this list, caller and filter")


def page(
    operation: Callable[..., Item], *, page_size: int, page_token: str | None, **request: Any
) -> tuple[list[Item], str | None]:
    """Reads on until the page fills or the data ends: a filter may leave a read empty, and an empty
    page never carries a token."""
    start = decode_page_token(page_token)
    if start:
        request["ExclusiveStartKey"] = start
    items: list[Item] = []
    while True:
        answer = operation(Limit=page_size - len(items), **request)
        items += answer.get("Items", [])
        last_key = answer.get("LastEvaluatedKey")
        if not last_key or len(items) >= page_size:
            return items, encode_page_token(last_key)
        request["ExclusiveStartKey"] = last_key


def query_page(**request: Any) -> tuple[list[Item], str | None]:
    return page(dynamodb().query, **request)


def scan_page(**request: Any) -> tuple[list[Item], str | None]:
    return page(dynamodb().scan, **request)


def filtered_query_page(*, page_size: int, page_token: str | None, **request: Any) -> tuple[list[Item], str | None]:
    """A query page under a filter: reads on past pages the filter emptied, so a page is never empty
    while a next page token is given."""
    start = decode_page_token(page_token)
    items: list[Item] = []
    while True:
        answer = dynamodb().query(Limit=page_size, **request, **({"ExclusiveStartKey": start} if start else {}))
        items += answer.get("Items", [])
        start = answer.get("LastEvaluatedKey")
        if items or not start:
            return items, encode_page_token(start)


def every_item(operation: str, **request: Any) -> list[Item]:
    """All pages of a query or scan ('query' or 'scan'), for the few reads that need everything."""
    call = getattr(dynamodb(), operation)
    items: list[Item] = []
    while True:
        answer = call(**request)
        items += answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return items
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def parallel_scan[T](segments: int, fold: Callable[[Iterator[Item]], T], **request: Any) -> list[T]:
    """A parallel scan (Segment/TotalSegments), one thread per segment: each segment's items, read page by
    page, are folded as they come (nothing holds the whole table), the folds returned in segment order.
    Each thread runs in a copy of the caller's context (what the caller's logs and metrics are keyed by)."""

    def scan_segment(segment: int) -> T:
        return fold(_segment_items(segment, segments, request))

    contexts = [copy_context() for _ in range(segments)]
    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="scan") as pool:
        return list(pool.map(lambda segment: contexts[segment].run(scan_segment, segment), range(segments)))


def _segment_items(segment: int, segments: int, request: dict[str, Any]) -> Iterator[Item]:
    start: Item | None = None
    while True:
        answer = dynamodb().scan(
            **request, Segment=segment, TotalSegments=segments, **({"ExclusiveStartKey": start} if start else {})
        )
        yield from answer.get("Items", [])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return


def batch_get(table: str, keys: list[Item]) -> list[Item]:
    """One BatchGetItem for up to 100 keys (duplicates dropped); unprocessed keys are asked again.
    Strongly consistent: reads by key gate money or rights (limits, balances). A deferred read of another
    table rides in the same request (wallet.aws.DeferredRead), and its check is made once the items are in."""
    unique = list({json.dumps(key, sort_keys=True): key for key in keys}.values())
    found: list[Item] = []
    request: dict[str, Any] = {table: {"Keys": unique, "ConsistentRead": True}} if unique else {}
    rider = deferred_read.get() if unique else None
    if rider is not None and rider.table != table:
        deferred_read.set(None)
        request[rider.table] = {"Keys": [rider.key], "ConsistentRead": True, "ProjectionExpression": rider.projection}
    else:
        rider = None
    rider_items: list[Item] = []
    while request:
        answer = dynamodb().batch_get_item(RequestItems=request)
        found += answer["Responses"].get(table, [])
        rider_items += answer["Responses"].get(rider.table, []) if rider else []
        request = answer.get("UnprocessedKeys") or {}
    if rider is not None:
        rider.check(rider_items[0] if rider_items else None)
    return found


def cancellation_codes(error: ClientError) -> list[str]:
    """The per-item outcome of a cancelled TransactWriteItems ('None' where the item was fine)."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def is_transient(error: ClientError) -> bool:
    """Cancelled only by conflicts with other transactions or by throttling: nothing was refused."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons = set(cancellation_codes(error)) - {"None"}
    return not reasons or reasons <= TRANSIENT_REASONS


def condition_failed(error: ClientError, index: int) -> bool:
    """Whether the transaction's item at `index` (negative: from the end) failed its own condition."""
    codes = cancellation_codes(error)
    return -len(codes) <= index < len(codes) and codes[index] == "ConditionalCheckFailed"


def transact_write(writes: list[dict[str, Any]]) -> None:
    """One TransactWriteItems. A cancellation by conflicts or throttles only is tried again (bounded,
    jittered), as the ledger does; any other is raised, for the caller to read with `condition_failed`."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            dynamodb().transact_write_items(TransactItems=writes)
            return
        except ClientError as error:
            if not is_transient(error):
                raise
        time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not secrecy
    raise Contention("The item is being changed by other operations; try again")
