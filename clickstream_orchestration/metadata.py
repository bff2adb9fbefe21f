"""Metadata the UI shows for a lake table: rows, schema, a small preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa
from pyiceberg.expressions import BooleanExpression
from pyiceberg.table import Table

PREVIEW_ROWS = 5
_PREVIEW_CELL = 80


def table_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                field.name,
                str(field.field_type),
                description=field.doc,
                constraints=dg.TableColumnConstraints(nullable=not field.required),
            )
            for field in table.schema().fields
        ]
    )


def arrow_table_schema(schema: pa.Schema) -> dg.TableSchema:
    """The columns of a table the Python loaders own, before it is first written."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                field.name,
                str(field.type),
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
            )
            for field in schema
        ]
    )


def table_metadata(
    table: Table, identifier: str, *, partition_filter: BooleanExpression | None = None
) -> dict[str, Any]:
    """Row counts (whole table and the partition written), schema and a preview."""
    metadata: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(table.scan().count()),
        "dagster/column_schema": table_schema(table),
        "dagster/table_name": identifier,
        "dagster/uri": dg.MetadataValue.path(table.location()),
    }
    snapshot = table.current_snapshot()
    if snapshot is not None:
        metadata["iceberg/snapshot_id"] = dg.MetadataValue.text(str(snapshot.snapshot_id))
    if partition_filter is not None:
        scan = table.scan(row_filter=partition_filter, limit=PREVIEW_ROWS)
        metadata["dagster/partition_row_count"] = dg.MetadataValue.int(
            table.scan(row_filter=partition_filter).count()
        )
    else:
        scan = table.scan(limit=PREVIEW_ROWS)
    metadata["preview"] = dg.MetadataValue.md(_markdown(scan.to_arrow()))
    return metadata


def _markdown(rows: pa.Table) -> str:
    names = rows.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows.to_pylist():
        cells = [_cell(row[name]) for name in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= _PREVIEW_CELL else text[: _PREVIEW_CELL - 1] + "…"
