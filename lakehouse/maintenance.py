"""Iceberg table maintenance: expiring old snapshots keeps metadata (and every commit) small."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pyiceberg.catalog import Catalog


def expire_snapshots(catalog: Catalog, identifiers: Iterable[str], older_than: datetime) -> None:
    """Drop the snapshots of each table taken before ``older_than`` (the current one stays)."""
    for identifier in identifiers:
        table = catalog.load_table(identifier)
        table.maintenance.expire_snapshots().older_than(older_than).commit()
