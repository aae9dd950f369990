"""moto's TransactWriteItems, rolled back by the items it wrote instead of by whole tables: to undo a cancelled
transaction moto first deep-copies each table the transaction names (every item, every stream record), once per
item naming it: most of a money test's CPU, growing with the tables. Here a transaction's writes are journalled
as they happen (the item each replaces, or its absence, and each stream's length before the transaction) and a
cancelled transaction is undone from that journal, in reverse. What a transaction does, and what a cancelled one
leaves (the tables' items and their streams as they were), are unchanged; a table with a Lambda event source
mapping (moto hands its stream records to Lambda and forgets them) keeps moto's own backup."""

import copy
import threading
from functools import cache
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table

# An item as it was before the transaction wrote it: its table, hash and range key, and the item or None.
Undo = tuple[Table, DynamoType, DynamoType | None, Item | None]


class _Journal:
    """The writes of the transaction running on this thread, if one is."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def undo(self) -> list[Undo] | None:
        return getattr(self._local, "undo", None)

    def record(self, table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> None:
        undo = self.undo
        if undo is None:
            return
        shards: dict[int, tuple[StreamShard, int]] = self._local.shards
        if table.stream_shard is not None and id(table) not in shards:
            shards[id(table)] = (table.stream_shard, len(table.stream_shard.items))
        undo.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))

    def rolled_back(self) -> None:
        for table, hash_value, range_value, before in reversed(self.undo or []):
            if range_value is None:
                if before is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = before  # type: ignore[assignment]
            elif before is None:
                table.items[hash_value].pop(range_value, None)
            else:
                table.items[hash_value][range_value] = before
        for shard, length in self._local.shards.values():
            del shard.items[length:]

    def transaction(self, original: Any) -> Any:
        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            if any(table.lambda_event_source_mappings for table in backend.tables.values()):
                original(backend, transact_items)
                return
            self._local.undo, self._local.shards = [], {}
            try:
                original(backend, transact_items)
            except BaseException:
                self.rolled_back()
                raise
            finally:
                self._local.undo = None

        return transact_write_items

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """The `copy` module's, except that within a journalled transaction moto's backup of a table is the
        table itself: restoring it changes nothing, and the journal undoes the writes."""
        if self.undo is not None and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _key(table: Table, attributes: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
    """The key of the item `attributes` name; None without one (moto then refuses the write, writing nothing)."""
    if table.hash_key_attr not in attributes or (table.range_key_attr and table.range_key_attr not in attributes):
        return None
    hash_value = DynamoType(attributes[table.hash_key_attr])
    return hash_value, DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None


@cache
def install() -> None:
    """Once per process: every embedded world's moto then journals its transactions' writes."""
    journal = _Journal()
    backend = dynamodb_models.DynamoDBBackend
    put_item, delete_item, update_item = Table.put_item, Table.delete_item, backend.update_item

    def journalled_put(table: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
        if journal.undo is not None and (key := _key(table, item_attrs)):
            journal.record(table, *key)
        return put_item(table, item_attrs, *args, **kwargs)

    def journalled_delete(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        journal.record(table, hash_key, range_key)
        return delete_item(table, hash_key, range_key)

    def journalled_update(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        # moto updates the item in place: the journal keeps a copy of it as it was.
        if journal.undo is not None and (key_values := _key(table := backend.get_table(table_name), key)):
            journal.record(table, *key_values)
        return update_item(backend, table_name, key, *args, **kwargs)

    Table.put_item = journalled_put  # type: ignore[method-assign,assignment]
    Table.delete_item = journalled_delete  # type: ignore[method-assign,assignment]
    backend.update_item = journalled_update  # type: ignore[method-assign,assignment]
    dynamodb_models.copy = journal  # type: ignore[attr-defined,assignment]
    backend.transact_write_items = journal.transaction(backend.transact_write_items)  # type: ignore[method-assign]
