"""Right of access: every row the lake holds for one user, from every table, as one document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lakehouse.catalog import open_catalog
from lakehouse.privacy.dead_letters import scan_dead_letters, unreachable
from lakehouse.privacy.lake_tables import lake_tables, table_rows
from lakehouse.privacy.landing import decoded, discover_client_hashes, landing_lines
from lakehouse.privacy.local_files import line_file_rows
from lakehouse.privacy.realtime import realtime_rows
from lakehouse.privacy.subject import Subject
from streaming.contracts.landing import landing_store
from streaming.contracts.settings import Settings


def export_user(settings: Settings, subject: Subject) -> dict[str, Any]:
    """``tables``: each lake table's rows of the user; ``landing``: each landed object's lines;
    ``realtime``: the rows of the real-time marts (local target); ``files``: the alert and log
    lines; ``dead_letters``: the DLQ messages."""
    catalog = open_catalog(settings)
    store = landing_store(settings)
    subject = discover_client_hashes(settings, store, subject)
    tables = {}
    for identifier in lake_tables(catalog, settings):
        rows = table_rows(catalog, identifier, subject)
        if rows.num_rows:
            tables[identifier] = rows.to_pylist()
    landing: dict[str, list[Any]] = {}
    for key, line in landing_lines(store, settings, subject):
        landing.setdefault(key, []).append(decoded(line))
    realtime = realtime_rows(settings, subject) if settings.env == "local" else []
    files = {
        name: [decoded(line) for line in lines]
        for name, lines in line_file_rows(settings, subject).items()
    }
    dead_letters = [decoded(body.encode()) for body in _dead_letters(settings, subject)]
    return {
        "user_id_hash": subject.server_hash,
        "exported_at": datetime.now(UTC).isoformat(),
        "tables": tables,
        "landing": landing,
        "realtime": {"_events": realtime} if realtime else {},
        "files": files,
        "dead_letters": dead_letters,
        "counts": {
            "tables": {name: len(rows) for name, rows in tables.items()},
            "landing": sum(len(lines) for lines in landing.values()),
            "realtime": len(realtime),
            "files": sum(len(lines) for lines in files.values()),
            "dead_letters": len(dead_letters),
        },
    }


def _dead_letters(settings: Settings, subject: Subject) -> list[str]:
    """The subject's DLQ messages, read and made visible again (none when the local stack,
    which keeps the queue in memory, is not running)."""
    from streaming.contracts.aws_clients import client
    from streaming.producer.dead_letters import DeadLetterQueue

    try:
        dlq = DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
    except Exception as error:
        if settings.env == "local" and unreachable(error):
            return []
        raise
    return scan_dead_letters(dlq, subject, delete=False)
