"""Commit Parquet files written by DuckDB into an Iceberg table, replacing whole partitions.

DuckDB writes the data (fast, spills to disk, one partition value per file); pyiceberg only
writes metadata: one transaction deletes the partitions being rewritten and adds the new files,
so readers see either the old or the new partitions, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table

from lakehouse.catalog import table_location
from lakehouse.load_ledger import delete_matching
from lakehouse.tables import TABLE_PROPERTIES, with_lake_properties
from lakehouse.transactions import begin
from lakehouse.window import Rewrite
from streaming.contracts.settings import Settings

SCHEMA_FILE = "_schema.parquet"


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([field.with_nullable(True) for field in schema])


def _ensure_table(
    catalog: Catalog,
    settings: Settings,
    identifier: str,
    schema: pa.Schema,
    partition_by: Sequence[str],
) -> Table:
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        namespace, name = identifier.split(".", 1)
        transaction = catalog.create_table_transaction(
            identifier,
            schema=_nullable(schema),
            location=table_location(settings, namespace, name),
            properties=TABLE_PROPERTIES,
        )
        with transaction.update_spec() as update:
            for column in partition_by:
                update.add_identity(column)
        transaction.commit_transaction()
        return catalog.load_table(identifier)
    with table.update_schema() as update:
        update.union_by_name(_nullable(schema))
    return with_lake_properties(table)


def commit_files(
    catalog: Catalog,
    settings: Settings,
    identifier: str,
    files_dir: Path,
    *,
    partition_by: Sequence[str],
    rewrite: Rewrite | None,
) -> Table:
    """Replace the rewritten partitions (all of them when ``rewrite`` is None) with the files."""
    schema = pq.read_schema(files_dir / SCHEMA_FILE)
    table = _ensure_table(catalog, settings, identifier, schema, partition_by)
    data_files = sorted(
        str(path) for path in files_dir.rglob("*.parquet") if path.name != SCHEMA_FILE
    )
    with begin(table) as transaction:
        delete_matching(transaction, rewrite.where() if rewrite else AlwaysTrue())
        if data_files:
            transaction.add_files(data_files)
    return catalog.load_table(identifier)
