"""moto's TransactWriteItems, without its repeated backups: to roll back a cancelled transaction moto first
deep-copies each table the transaction names, but once per item naming it, so a posting of eight items on
three tables copied the ledger's tables eight times (most of a money test's CPU, growing with the tables). Here
each table is copied once per transaction. The copies are all taken before the transaction's first write, so
one copy is the same backup: what a transaction does, and what a cancelled one leaves, are unchanged."""

import copy
import threading
from functools import cache
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table


class _OneCopyPerTable:
    """The `copy` module as moto's DynamoDB backend sees it: within a transaction, a table's deep copy is made
    once and handed out again; every other copy is made as usual."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        copies: dict[int, Table] | None = getattr(self._local, "copies", None)
        if copies is None or not isinstance(value, Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = copy.deepcopy(value)
        return copies[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def transaction(self, original: Any) -> Any:
        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            self._local.copies = {}
            try:
                original(backend, transact_items)
            finally:
                self._local.copies = None

        return transact_write_items


@cache
def install() -> None:
    """Once per process: every embedded world's moto then copies each table once per transaction."""
    copies = _OneCopyPerTable()
    dynamodb_models.copy = copies  # type: ignore[attr-defined,assignment]
    backend = dynamodb_models.DynamoDBBackend
    backend.transact_write_items = copies.transaction(backend.transact_write_items)  # type: ignore[method-assign]
