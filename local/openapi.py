"""The one OpenAPI 3.1 document of the whole API, assembled from the functions' own resolvers.

`python -m local.openapi` (`make openapi`) writes it to the layer, whence the API serves it at
`GET /openapi.json`; tests/test_openapi.py fails when the code and the committed file disagree.
Each function's resolver describes its routes and models; this adds what is the same for all: the
bearer security, the error responses and their codes, and an example request from events/.
"""

import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from local.template import ROOT, Template

DOCUMENT = ROOT / "layers" / "wallet" / "wallet" / "openapi.json"
TITLE = "Wallet API"
VERSION = "1.0.0"
DESCRIPTION = (
    "An open, serverless e-wallet: accounts, money in and out with approvals, transfers, templates and cards. "
    "Money is a decimal string; every error has the shape of `Error`."
)
PUBLIC = {
    ("post", "/authorization"),
    ("post", "/registration"),
    ("post", "/registration/confirm"),
    ("post", "/password/recovery"),
    ("post", "/password/recovery/confirm"),
    ("get", "/openapi.json"),
}
# The codes an answer of each status may carry (wallet.errors and the functions' domain errors).
ERRORS: dict[int, tuple[str, list[str]]] = {
    400: ("Invalid input: the field is named in `details`", ["VALIDATION_ERROR", "INVALID_OTP", "WRONG_PASSWORD"]),
    401: ("No token, a bad, expired or revoked one, or a wrong login or password", ["UNAUTHENTICATED"]),
    403: ("The caller's role forbids it", ["FORBIDDEN"]),
    404: ("Unknown id, or one the caller may not see; unknown route", ["NOT_FOUND"]),
    409: ("Duplicate, wrong state, or an Idempotency-Key used for another body", ["CONFLICT"]),
    413: ("The body exceeds 64 KiB", ["PAYLOAD_TOO_LARGE"]),
    415: ("A body that is not application/json", ["UNSUPPORTED_MEDIA_TYPE"]),
    422: ("A business rule: insufficient funds, inactive account, ...", ["BUSINESS_RULE_VIOLATION"]),
    429: (
        "Too many attempts (`Retry-After` says when to try again), or the stage's throttle on any route",
        ["TOO_MANY_ATTEMPTS", "TOO_MANY_REQUESTS"],
    ),
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string", "examples": ["INSUFFICIENT_FUNDS"]},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "issue": {"type": "string"}},
            },
        },
    },
}


def document() -> dict[str, Any]:
    template = Template()
    _give_modules_the_template_globals(template)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    examples = _examples()
    for function in sorted({route.function for route in template.routes()}):
        part = _resolver_document(template.functions()[function])
        for path, operations in part.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas |= part.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.pop("ResponseValidationError", None)
    for path, operations in paths.items():
        for method, operation in operations.items():
            _complete(operation, method, path, examples.get((method, path)), schemas)
    webhooks = _webhooks(schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "webhooks": webhooks,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": _error_responses(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearerAuth": []}],
    }


def _webhooks(schemas: dict[str, Any]) -> dict[str, Any]:
    """What a subscription receives, one entry per event type. Their schemas are named apart (Webhook...):
    an event carries its data as it travels, which need not be the API's answer of the same name."""
    from wallet.models.event_data import envelope_model
    from wallet.models.events import EventType

    webhooks: dict[str, Any] = {}
    for event_type in EventType:
        model = envelope_model(event_type)
        schema = model.model_json_schema(
            by_alias=True, mode="serialization", ref_template="#/components/schemas/Webhook{model}"
        )
        schemas |= {f"Webhook{name}": definition for name, definition in schema.pop("$defs", {}).items()}
        name = f"Webhook{model.__name__}"
        schemas[name] = schema
        webhooks[event_type.value] = {
            "post": {
                "summary": f"The {event_type.value} event, signed (Wallet-Signature: t=...,v1=...)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                },
                "responses": {"200": {"description": "Received: any 2xx acknowledges the delivery"}},
            }
        }
    return webhooks


def _complete(operation: dict[str, Any], method: str, path: str, example: Any, schemas: dict[str, Any]) -> None:
    """The answers every operation may give besides its own, in the one error shape, and examples."""
    public = (method, path) in PUBLIC
    statuses = {400, 404, 429}  # 429: the stage throttles every route (template.yaml, MethodSettings)
    if not public:
        statuses |= {401, 403}
        operation.pop("security", None)
    else:
        operation["security"] = []
        statuses |= {401} if path == "/authorization" else set()  # a wrong login or password
    if method == "post":
        statuses |= {409, 413, 415, 422}
    if path == "/openapi.json":
        statuses = {404, 429}
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)  # Powertools' own validation shape, which this API never sends
    statuses |= {int(status) for status in responses if status >= "400"}  # a route's own, in the one shape
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    if "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = {} if example is None else example
    for status, answer in responses.items():
        if status < "400" and "application/json" in answer.get("content", {}):
            body = answer["content"]["application/json"]
            body["example"] = _example_of(body["schema"], schemas)


# Strings a value of a patterned field may take, the first that fits its pattern and lengths is the example.
_PATTERNED = ("10.50", "EUR", "GB", "4111111111111111", "DEUTDEFF", "customer@example.com", "123456", "Secret#123")


def _example_of(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0, name: str = "") -> Any:
    """A value of the schema, built from its own words (const, examples, default, enum, type, pattern), so a
    response's example follows its model wherever the model changes."""
    if "$ref" in schema:
        return _example_of(schemas[schema["$ref"].rpartition("/")[2]], schemas, depth, name)
    for word in ("const", "examples", "default", "enum"):
        if schema.get(word) is not None:
            return schema[word][0] if word in ("examples", "enum") else schema[word]
    kind = schema.get("type", "object" if "properties" in schema else None)
    for word in ("anyOf", "oneOf", "allOf"):
        if word in schema and kind != "object":
            branches = [branch for branch in schema[word] if branch.get("type") != "null"]
            return _example_of(branches[0], schemas, depth, name)
    if isinstance(kind, list):
        kind = next(each for each in kind if each != "null")
    if kind == "object":
        properties = {
            field: _example_of(part, schemas, depth + 1, field)
            for field, part in schema.get("properties", {}).items()
            if field in _wanted(schema, schemas, depth)
        }
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict):
            properties = {"key": _example_of(extra, schemas, depth + 1)}
        return properties
    if kind == "array":
        return [_example_of(schema.get("items", {}), schemas, depth + 1, name)] if depth < 3 else []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        return _string_example(schema, name)
    return {}


def _wanted(schema: dict[str, Any], schemas: dict[str, Any], depth: int) -> set[str]:
    """The fields an object's example gives: all it has near the top; where the object states rules across its
    fields, its required ones, those its first choices ask for, and those of each rule whose `if` it meets."""
    properties = schema.get("properties", {})
    if not any(word in schema for word in ("oneOf", "anyOf", "allOf", "if")):
        return set(properties) if depth < 3 else set(schema.get("required", []))
    wanted = set(schema.get("required", []))
    for rule in [schema.get("oneOf", [{}])[0], schema.get("anyOf", [{}])[0], *schema.get("allOf", []), schema]:
        if "if" not in rule:
            wanted |= set(rule.get("required", [])) if rule is not schema else set()
            continue
        values = {field: _example_of(properties[field], schemas, depth + 1, field) for field in properties}
        met = all(
            values.get(field) == condition.get("const", values.get(field))
            and values.get(field) in condition.get("enum", [values.get(field)])
            for field, condition in rule["if"].get("properties", {}).items()
        )
        wanted |= set(rule.get("then" if met else "else", {}).get("required", []))
    return wanted & set(properties)


def _string_example(schema: dict[str, Any], name: str) -> str:
    """A patterned string's first fitting sample; otherwise one that reads as the field it fills."""
    if schema.get("format") == "date-time" or name.endswith("At"):
        return "2026-01-31T12:00:00Z"
    if "pattern" not in schema:
        money = any(word in name.lower() for word in ("amount", "balance", "fee", "total", "commission"))
        unpatterned = "EUR" if name in ("code", "currency") else "10.50" if money else f"{name or 'text'}-1"
        return unpatterned if len(unpatterned) <= schema.get("maxLength", len(unpatterned)) else "x"
    fits = [
        text
        for text in _PATTERNED
        if re.search(schema["pattern"], text)
        and schema.get("minLength", 0) <= len(text) <= schema.get("maxLength", len(text))
    ]
    return fits[0] if fits else "x" * schema.get("minLength", 1)


def _error_responses() -> dict[str, Any]:
    return {
        f"Error{status}": {
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"},
                    "examples": {
                        code: {"value": {"code": code, "message": description, "details": []}} for code in codes
                    },
                }
            },
        }
        for status, (description, codes) in ERRORS.items()
    }


def _resolver_document(function: Any) -> dict[str, Any]:
    """The function's own resolver's description of its routes, loaded as Lambda would load it."""
    for layer in function.layers:
        if str(layer) not in sys.path:
            sys.path.append(str(layer))
    module_file = function.handler.rpartition(".")[0]
    spec = importlib.util.spec_from_file_location(
        f"wallet_openapi_{function.logical_id}", function.code_uri / f"{module_file}.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    described: dict[str, Any] = json.loads(module.app.get_openapi_json_schema(openapi_version="3.1.0"))
    return described


def _examples() -> dict[tuple[str, str], Any]:
    """Each route's request body in its sample event (events/), as the operation's example."""
    found: dict[tuple[str, str], Any] = {}
    for sample in sorted((ROOT / "events").rglob("*.json")):
        event = json.loads(sample.read_text())
        if "httpMethod" in event and event.get("body"):
            found.setdefault((event["httpMethod"].lower(), event["resource"]), json.loads(event["body"]))
    return found


def _give_modules_the_template_globals(template: Template) -> None:
    """Powertools reads some settings when first imported; tracing stays off here."""
    variables = template.body["Globals"]["Function"]["Environment"]["Variables"]
    for name, value in variables.items():
        if isinstance(value, str):
            os.environ.setdefault(name, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DOCUMENT
    target.write_text(text())
    print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


if __name__ == "__main__":
    main()
