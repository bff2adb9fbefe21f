"""Right of access: every row the lake holds for one user, from every table, as one document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lakehouse.catalog import open_catalog
from lakehouse.privacy.lake_tables import lake_tables, table_rows
from lakehouse.privacy.landing import decoded, discover_client_hashes, landing_lines
from lakehouse.privacy.local_files import line_file_rows
from lakehouse.privacy.realtime import realtime_rows
from lakehouse.privacy.subject import Subject
from streaming.contracts.landing import landing_store
from streaming.contracts.settings import Settings


def export_user(settings: Settings, subject: Subject) -> dict[str, Any]:
    """``tables``: each lake table's rows of the user; ``landing``: each landed object's lines;
    ``realtime``: the rows of the real-time marts (local target)."""
    catalog = open_catalog(settings)
    store = landing_store(settings)
    subject = discover_client_hashes(settings, store, subject)
    tables = {}
    for identifier in lake_tables(catalog, settings):
        rows = table_rows(catalog, identifier, subject)
        if rows.num_rows:
            tables[identifier] = rows.to_pylist()
    landing: dict[str, list[Any]] = {}
    for key, line in landing_lines(store, subject):
        landing.setdefault(key, []).append(decoded(line))
    realtime = realtime_rows(settings, subject) if settings.env == "local" else []
    files = {
        name: [decoded(line) for line in lines]
        for name, lines in line_file_rows(settings, subject).items()
    }
    return {
        "user_id_hash": subject.server_hash,
        "exported_at": datetime.now(UTC).isoformat(),
        "tables": tables,
        "landing": landing,
        "realtime": {"_events": realtime} if realtime else {},
        "files": files,
        "counts": {
            "tables": {name: len(rows) for name, rows in tables.items()},
            "landing": sum(len(lines) for lines in landing.values()),
            "realtime": len(realtime),
            "files": sum(len(lines) for lines in files.values()),
        },
    }
