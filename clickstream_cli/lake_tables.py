"""The tables of the lake, as its catalog lists them, with their row counts."""

from __future__ import annotations

from dataclasses import dataclass

from streaming.contracts.settings import Settings

TOTAL_RECORDS = "total-records"


@dataclass(frozen=True)
class LakeTable:
    name: str
    """``namespace.table``, as queries name it."""
    rows: int | None
    """From the current snapshot's summary (no data is read); None when it does not say."""


def lake_tables(settings: Settings) -> list[LakeTable]:
    from lakehouse.catalog import open_catalog

    catalog = open_catalog(settings)
    tables = []
    for namespace in sorted(catalog.list_namespaces()):
        for identifier in sorted(catalog.list_tables(namespace)):
            snapshot = catalog.load_table(identifier).current_snapshot()
            if snapshot is None:
                rows: int | None = 0
            else:
                total = snapshot.summary.get(TOTAL_RECORDS) if snapshot.summary else None
                rows = None if total is None else int(total)
            tables.append(LakeTable(".".join(identifier), rows))
    return tables
