"""The edge: what a request body must be before any route sees it, the same in API Gateway and locally.

A body is JSON in UTF-8, an object, nested at most 32 deep, with numbers a decimal column can hold;
anything else is refused here with a 4xx naming `body`, so no handler meets a value it cannot store.
"""

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from wallet.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32
# Longer number tokens than this cannot be a stored decimal (18 integer + 8 fractional digits, sign, point).
MAX_NUMBER_CHARS = 40
JSON_MEDIA_TYPE = "application/json"


class UnreadableNumber:
    """A JSON number that is not a plain decimal (an exponent, too many digits): no model field accepts it,
    so validation names the field that carried it."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"UnreadableNumber({self.text[:20]!r})"


def checked_event(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event with its body as UTF-8 JSON text and its media type as Powertools reads it, and the body."""
    raw = event.get("body")
    if raw is None or raw == "":
        return event, None
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    media_type = (headers.get("content-type") or JSON_MEDIA_TYPE).split(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(f"A body must be {JSON_MEDIA_TYPE}, not {media_type[:100]}")
    text = _utf8_text(raw, is_base64=bool(event.get("isBase64Encoded")))
    body = parse_json_body(text)  # refuse here what the resolver's own reading would turn into a 500
    plain_headers = {
        name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"
    }
    multi_headers = {
        name: values
        for name, values in (event.get("multiValueHeaders") or {}).items()
        if name.lower() != "content-type"
    }
    return {
        **event,
        "body": text,
        "isBase64Encoded": False,
        "headers": {**plain_headers, "content-type": JSON_MEDIA_TYPE},
        "multiValueHeaders": {**multi_headers, "content-type": [JSON_MEDIA_TYPE]},
    }, body


def list_scope(event: dict[str, Any], body: dict[str, Any] | None, caller_id: str) -> str:
    """The route, the caller and the filter a page token is bound to (pages and sizes aside)."""
    query = {
        name: value
        for name, value in (event.get("queryStringParameters") or {}).items()
        if name not in ("pageToken", "pageSize")
    }
    wanted = {"filter": (body or {}).get("filter"), "query": query}
    route = f"{event.get('httpMethod')} {event.get('resource')}"
    return "\x1f".join((route, caller_id, json.dumps(wanted, sort_keys=True, default=str)))


def parse_json_body(body: str) -> Any:
    """Numbers are parsed exactly (Decimal), never through a binary float."""
    if len(body.encode()) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body exceeds {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(body, parse_float=_decimal, parse_int=_integer, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidInput("body", f"is not valid JSON: {error.msg} at position {error.pos}") from None
    except RecursionError:
        raise InvalidInput("body", f"is nested deeper than {MAX_DEPTH}") from None
    if not isinstance(value, dict):
        raise InvalidInput("body", "must be a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise InvalidInput("body", f"is nested deeper than {MAX_DEPTH}")
    return value


def _utf8_text(raw: str, *, is_base64: bool) -> str:
    try:
        data = base64.b64decode(raw, validate=True) if is_base64 else raw.encode("utf-8")
        return data.decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise InvalidInput("body", "is not UTF-8 text") from None


def _decimal(text: str) -> Decimal | UnreadableNumber:
    if len(text) > MAX_NUMBER_CHARS or "e" in text or "E" in text:
        return UnreadableNumber(text)
    return Decimal(text)


def _integer(text: str) -> int | UnreadableNumber:
    return UnreadableNumber(text) if len(text) > MAX_NUMBER_CHARS else int(text)


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _depth(value: Any) -> int:
    """Iterative, so a deep body cannot exhaust the stack here either."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
