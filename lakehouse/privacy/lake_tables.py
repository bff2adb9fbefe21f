"""The user's rows in the Iceberg tables: found in every table of the lake's namespaces by its
identity columns (``*user_id_hash``) and by the subject's hashes inside any text column (the
quarantined payloads), then removed by rewriting only the partitions that held them."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, IsNull, Or
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform

from lakehouse.privacy.subject import Subject
from streaming.contracts.settings import Settings

IDENTITY_SUFFIX = "user_id_hash"
EVENT_DAY_COLUMNS = ("event_dt", "ts")


def lake_tables(catalog: Catalog, settings: Settings) -> Iterator[str]:
    """Every table of the lake's namespaces, as ``namespace.table``, in name order."""
    for namespace in (settings.lake_namespace, settings.mart_namespace):
        for identifier in sorted(catalog.list_tables(namespace)):
            yield ".".join(identifier)


def _leaves(table: pa.Table) -> pa.Table:
    """Every struct column flattened to its leaves (``user.user_id_hash``)."""
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table


def subject_rows(table: pa.Table, subject: Subject) -> pa.ChunkedArray | pa.Array:
    """A boolean mask of the rows that belong to the subject."""
    mask = pa.array([False] * table.num_rows, pa.bool_())
    leaves = _leaves(table)
    identities = {subject.server_hash, *subject.client_hashes}
    for name in leaves.column_names:
        column = leaves[name]
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        if name.endswith(IDENTITY_SUFFIX):
            found = pc.is_in(column, value_set=pa.array(sorted(identities)))
        else:
            found = pa.array([False] * table.num_rows, pa.bool_())
            for token in subject.tokens:
                contains = pc.match_substring(column, token.decode())
                found = pc.or_(found, pc.fill_null(contains, False))
        mask = pc.or_(mask, pc.fill_null(found, False))
    return mask


def event_days(rows: pa.Table) -> set[date]:
    """The event dates of ``rows`` (from ``event_dt`` or ``ts``), for the rebuild."""
    for name in EVENT_DAY_COLUMNS:
        if name in rows.column_names:
            values = rows[name].to_pylist()
            return {
                value.date() if isinstance(value, datetime) else value
                for value in values
                if isinstance(value, date)
            }
    return set()


@dataclass(frozen=True)
class TableErasure:
    identifier: str
    rows_removed: int
    event_days: frozenset[date]


def _partition_filter(table: Table, rows: pa.Table) -> BooleanExpression:
    """The partitions holding ``rows`` (identity partitions), or the whole table."""
    spec = table.spec()
    schema = table.schema()
    columns = []
    for spec_field in spec.fields:
        if not isinstance(spec_field.transform, IdentityTransform):
            return AlwaysTrue()
        columns.append(schema.find_column_name(spec_field.source_id))
    if not columns or any(name is None or "." in name for name in columns):
        return AlwaysTrue()
    names = [name for name in columns if name is not None]
    partitions = {tuple(row[name] for name in names) for row in rows.select(names).to_pylist()}
    terms: list[BooleanExpression] = []
    for values in sorted(partitions, key=str):
        parts: list[BooleanExpression] = [
            IsNull(term=name) if value is None else EqualTo(term=name, value=_literal(value))
            for name, value in zip(names, values, strict=True)
        ]
        terms.append(parts[0] if len(parts) == 1 else And(*parts))
    return terms[0] if len(terms) == 1 else Or(*terms)


def _literal(value: object) -> object:
    return value.isoformat() if isinstance(value, date | datetime) else value


def erase_from_table(catalog: Catalog, identifier: str, subject: Subject) -> TableErasure:
    """Rewrite the partitions holding the subject's rows without them (one commit)."""
    table = catalog.load_table(identifier)
    if table.current_snapshot() is None:
        return TableErasure(identifier, 0, frozenset())
    rows = table.scan().to_arrow()
    mask = subject_rows(rows, subject)
    removed = rows.filter(mask)
    if removed.num_rows == 0:
        return TableErasure(identifier, 0, frozenset())
    where = _partition_filter(table, removed)
    kept = table.scan(row_filter=where).to_arrow()
    kept = kept.filter(pc.invert(subject_rows(kept, subject)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        table.overwrite(kept, overwrite_filter=where)
    return TableErasure(identifier, removed.num_rows, frozenset(event_days(removed)))


def table_rows(catalog: Catalog, identifier: str, subject: Subject) -> pa.Table:
    """The subject's rows of one table (none when the table is empty)."""
    table = catalog.load_table(identifier)
    if table.current_snapshot() is None:
        return table.schema().as_arrow().empty_table()
    rows = table.scan().to_arrow()
    return rows.filter(subject_rows(rows, subject))
