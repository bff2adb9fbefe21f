"""The end of a dbt invocation on the local target: publish or discard every staged table.

A staged table the audit passes (``lakehouse/audit.py``) is committed into its Iceberg table
(``iceberg_writer.commit_files``: one transaction replacing the rewritten partitions); one it
withholds is discarded, and its Iceberg table is untouched. Either way its pointer file then
names the table's committed metadata, which the DuckDB view is re-pointed at
(``macros/publication.sql``), and the outcome is recorded (``lakehouse/publication.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.audit import NodeResult, withheld_models
from lakehouse.iceberg_writer import commit_files
from lakehouse.publication import Publication, write_publication
from lakehouse.staging import (
    StagedTable,
    discard,
    forget,
    staged_tables,
)
from streaming.contracts.settings import Settings


def pointer_path(settings: Settings, identifier: str) -> Path:
    """The file naming the committed metadata of ``schema.table`` (absent: no table yet)."""
    return settings.duckdb_dir / "pointers" / identifier


def record_committed(catalog: Catalog, settings: Settings, identifier: str) -> None:
    """Point ``identifier``'s pointer file at its table's current metadata."""
    pointer = pointer_path(settings, identifier)
    try:
        location = catalog.load_table(identifier).metadata_location
    except NoSuchTableError:
        pointer.unlink(missing_ok=True)
        return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(location)


def _commit(catalog: Catalog, settings: Settings, staged: StagedTable) -> None:
    commit_files(
        catalog,
        settings,
        staged.identifier,
        staged.files_dir,
        partition_by=staged.partitioned_by,
        rewrite=staged.rewrite,
    )
    forget(settings, staged)


def publish_staged(
    catalog: Catalog,
    settings: Settings,
    invocation_id: str,
    results: Iterable[NodeResult],
    upstream: Mapping[str, Sequence[str]],
) -> Publication:
    """Commit the invocation's staged tables that pass the audit, discard the others."""
    staged = staged_tables(settings, invocation_id)
    withheld = withheld_models(
        results, {table.unique_id: table.identifier for table in staged}, upstream
    )
    for table in staged:
        if table.unique_id in withheld:
            discard(settings, table)
        else:
            _commit(catalog, settings, table)
        record_committed(catalog, settings, table.identifier)
    publication = Publication(
        invocation_id=invocation_id,
        published=frozenset(t.identifier for t in staged if t.unique_id not in withheld),
        withheld={t.identifier: withheld[t.unique_id] for t in staged if t.unique_id in withheld},
    )
    write_publication(settings, publication)
    return publication
