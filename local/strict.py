"""Where moto is kinder than AWS, the embedded world is made as strict as AWS, so a bug that would
appear only once deployed fails here first. Each rule is switched on with the world and off with it."""

from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.eval.environment import Environment

# DynamoDB keeps up to 38 significant digits.
DYNAMODB_NUMBERS = Context(prec=38)
# Errors AWS's States.ALL does not catch: the execution fails.
UNCATCHABLE_BY_STATES_ALL = {"States.Runtime", "States.DataLimitExceeded"}
# What DynamoDB says for each reason it cancels a transaction item with.
CANCELLATION_MESSAGES = {
    "ConditionalCheckFailed": "The conditional request failed",
    "TransactionConflict": "Transaction is ongoing for the item",
    "ThrottlingError": "Throughput exceeds the current capacity of your table or index.",
    "ValidationError": "One or more parameter values were invalid.",
}

ReasonForItem = Callable[[dict[str, Any]], str | None]


class EventuallyConsistentRead(AssertionError):
    """A read by key without ConsistentRead: on DynamoDB it may miss the latest write."""


def normalised_number(text: str) -> str:
    """As DynamoDB stores a number: leading and trailing zeroes trimmed ("10.00" -> "10")."""
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError):
        return text  # left for moto's own validation to refuse
    if not number.is_finite():
        return text
    return "0" if number.is_zero() else f"{number.normalize(DYNAMODB_NUMBERS):f}"


class StrictWorld:
    """The rules moto does not enforce, installed on the process's default boto3 session and moto."""

    def __init__(self) -> None:
        self._restore: list[Callable[[], None]] = []
        self._cancellations: list[ReasonForItem] = []

    def install(self, session: boto3.Session) -> None:
        self._patch(DynamoType, "__init__", _normalising_init(DynamoType.__init__))
        self._patch(Table, "put_item", _index_keys_typed(Table.put_item))
        self._patch(ErrorEqualsDecl, "_eval_body", _states_all_as_aws(ErrorEqualsDecl._eval_body))
        events = session.events
        events.register("before-parameter-build.dynamodb.GetItem", _require_consistent_get)
        events.register("before-parameter-build.dynamodb.BatchGetItem", _require_consistent_batch_get)
        events.register("provide-client-params.dynamodb.TransactWriteItems", _remember_transaction)
        events.register("before-call.dynamodb.TransactWriteItems", self._maybe_cancel)  # type: ignore[arg-type]

    def uninstall(self) -> None:
        while self._restore:
            self._restore.pop()()
        self._cancellations.clear()

    def cancel_transaction(self, reason_for_item: ReasonForItem, *, times: int = 1) -> None:
        """The next `times` TransactWriteItems are cancelled as DynamoDB would, with the reason
        `reason_for_item` gives each item ('TransactionConflict', 'ThrottlingError', ...; None: no reason).
        moto itself never answers TransactionConflict or ThrottlingError."""
        self._cancellations += [reason_for_item] * times

    @property
    def pending_cancellations(self) -> int:
        """Cancellations asked for that no transaction has met yet."""
        return len(self._cancellations)

    def _maybe_cancel(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self._cancellations:
            return None
        reason_for_item = self._cancellations.pop(0)
        codes = [reason_for_item(item) or "None" for item in context["strict_transaction"]["TransactItems"]]
        reasons = [
            {"Code": code} if code == "None" else {"Code": code, "Message": CANCELLATION_MESSAGES[code]}
            for code in codes
        ]
        message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{', '.join(codes)}]"
        error = {"Error": {"Code": "TransactionCanceledException", "Message": message}, "CancellationReasons": reasons}
        return AWSResponse("", 400, HTTPHeaders(), None), error

    def _patch(self, owner: type, name: str, replacement: Any) -> None:
        original = owner.__dict__[name]
        setattr(owner, name, replacement)
        self._restore.append(lambda: setattr(owner, name, original))


def _remember_transaction(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["strict_transaction"] = params


def _normalising_init(original: Callable[..., None]) -> Callable[..., None]:
    def init(self: DynamoType, type_as_dict: Any) -> None:
        original(self, type_as_dict)
        if self.type == "N":
            self.value = normalised_number(self.value)
        elif self.type == "NS":
            self.value = [normalised_number(value) for value in self.value]

    return init


def _index_keys_typed(original: Callable[..., Any]) -> Callable[..., Any]:
    """An item's index key attributes must have their declared type (a NULL sort key included): DynamoDB
    refuses the write, moto checks only a PutItem's NULL global index keys. Every put goes through here
    (PutItem, BatchWriteItem, a transaction's Put; a refused one cancels nothing: the request fails)."""

    def put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        declared = {definition["AttributeName"]: definition["AttributeType"] for definition in self.attr}
        for index in [*self.indexes, *self.global_indexes]:
            for key in index.schema:
                name = key["AttributeName"]
                actual = next(iter(item_attrs[name]), None) if name in item_attrs else declared[name]
                if actual != declared[name]:
                    raise MockValidationException(
                        "One or more parameter values were invalid: Type mismatch for Index Key "
                        f"{name} Expected: {declared[name]} Actual: {actual} IndexName: {index.name}"
                    )
        return original(self, item_attrs, *args, **kwargs)

    return put_item


def _states_all_as_aws(original: Callable[[ErrorEqualsDecl, Environment], None]) -> Callable[..., None]:
    def eval_body(self: ErrorEqualsDecl, env: Environment) -> None:
        error_name = env.stack[-1]
        if getattr(error_name, "error_name", None) in UNCATCHABLE_BY_STATES_ALL:
            env.stack.pop()
            env.stack.append(error_name in self.error_names)  # only a catcher naming it exactly
            return
        original(self, env)

    return eval_body


def _require_consistent_get(params: dict[str, Any], **_: Any) -> None:
    if not params.get("ConsistentRead"):
        raise EventuallyConsistentRead(f"GetItem on {params.get('TableName')} without ConsistentRead")


def _require_consistent_batch_get(params: dict[str, Any], **_: Any) -> None:
    for table, request in params.get("RequestItems", {}).items():
        if not request.get("ConsistentRead"):
            raise EventuallyConsistentRead(f"BatchGetItem on {table} without ConsistentRead")
