"""After the rewrites, the bytes themselves: every snapshot but the current one is expired, then
every file of the warehouse no table references any more (the data files of the expired
snapshots, their manifests and manifest lists) is deleted.

Only files written before the request started are candidates, so a run writing beside the
request never loses a file it is about to commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from streaming.contracts.settings import Settings


def expire_all_but_current(catalog: Catalog, identifiers: Iterable[str]) -> int:
    """Expire every snapshot older than now except the protected ones; how many tables."""
    now = datetime.now(UTC)
    count = 0
    for identifier in identifiers:
        table = catalog.load_table(identifier)
        if len(table.metadata.snapshots) > 1:
            table.maintenance.expire_snapshots().older_than(now).commit()
            count += 1
    return count


def _local_path(location: str) -> Path | None:
    parsed = urlparse(location)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(unquote(parsed.path)).resolve()


def referenced_files(table: Table) -> set[Path]:
    """Every file the table's metadata still names: metadata files, manifest lists, manifests
    and the data files of every snapshot kept."""
    metadata = table.metadata
    locations = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    for snapshot in metadata.snapshots:
        locations.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            locations.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                locations.add(entry.data_file.file_path)
    return {path for location in locations if (path := _local_path(location)) is not None}


def remove_orphan_files(
    catalog: Catalog, settings: Settings, identifiers: Iterable[str], written_before: datetime
) -> int:
    """Delete the warehouse's files no table references, written before ``written_before``;
    how many (local target: the warehouse is a directory)."""
    if settings.env != "local":
        return 0
    referenced: set[Path] = set()
    for identifier in identifiers:
        referenced |= referenced_files(catalog.load_table(identifier))
    cutoff = written_before.timestamp()
    removed = 0
    for path in sorted(settings.warehouse_dir.resolve().rglob("*")):
        if not path.is_file() or path in referenced or path.stat().st_mtime >= cutoff:
            continue
        path.unlink()
        removed += 1
    return removed
