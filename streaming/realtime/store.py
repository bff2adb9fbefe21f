"""Where the local marts live: the consumer's database, and the snapshots queries read.

DuckDB lets one process write a database file and no one else open it meanwhile, so the
consumer keeps two files apart:

- ``<home>/realtime/state.duckdb``: its own, always open. ``_events`` holds one row per
  distinct ``event_id`` (a later copy of an id already stored is dropped on insert), each with
  a ``seq`` in storage order.
- ``<home>/realtime/snapshots/rt-{a,b,c}.duckdb``: three copies for readers, each with the
  same ``_events`` and the mart views. Publishing brings the oldest copy that is *not*
  published up to date (the rows after its own ``applied_seq``), closes it and then points
  ``<home>/realtime/rt.duckdb`` (a symbolic link, replaced atomically) at it. Readers attach
  whatever the link points to, read-only. A copy a reader still holds is passed over; if every
  unpublished copy is held, that publication is skipped and tried again at the next refresh.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from streaming.contracts.atomic_write import point_atomically
from streaming.contracts.settings import Settings
from streaming.realtime.local_sql import (
    EVENT_COLUMNS,
    EVENTS_TABLE,
    META_TABLE,
    TABLES,
    schema_statements,
)

ARROW_TYPES = {
    "BIGINT": pa.int64(),
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}
EVENT_SCHEMA = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in EVENT_COLUMNS])
SCHEMA_VERSION = hashlib.sha256("\n".join(schema_statements()).encode()).hexdigest()[:16]
SNAPSHOTS = ("rt-a.duckdb", "rt-b.duckdb", "rt-c.duckdb")
ATTACH_ATTEMPTS = 40
ATTACH_PAUSE_SECONDS = 0.025


class RealtimeUnavailableError(RuntimeError):
    """No snapshot of the real-time marts has been published yet (is the consumer running?)."""


def published_path(settings: Settings) -> Path:
    return settings.realtime_dir / "rt.duckdb"


def _execute_schema(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in schema_statements():
        conn.execute(statement)


def _meta(conn: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = conn.execute(f"SELECT value FROM {META_TABLE} WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: duckdb.DuckDBPyConnection, values: dict[str, str]) -> None:
    for key, value in values.items():
        conn.execute(
            f"INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES (?, ?)", [key, value]
        )


class RealtimeStore:
    """The consumer's side: add events (deduplicated), purge old ones, publish snapshots."""

    def __init__(self, settings: Settings, directory: Path | None = None) -> None:
        self.directory = directory or settings.realtime_dir
        self.state_path = self.directory / "state.duckdb"
        self.snapshot_dir = self.directory / "snapshots"
        self.link = self.directory / "rt.duckdb"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.conn = duckdb.connect(str(self.state_path))
        self.conn.execute("SET TimeZone = 'UTC'")
        _execute_schema(self.conn)
        state_id = _meta(self.conn, "state_id")
        if state_id is None:
            state_id = uuid.uuid4().hex
            _set_meta(self.conn, {"state_id": state_id})
        self.state_id = state_id
        row = self.conn.execute(f"SELECT max(seq) FROM {EVENTS_TABLE}").fetchone()
        self.last_seq: int = -1 if row is None or row[0] is None else int(row[0])
        self.horizon: datetime | None = None
        self.published_seq: int | None = None
        self.publications = 0
        self.skipped_publications = 0

    def close(self) -> None:
        self.conn.close()

    # --- writing ------------------------------------------------------------------------------

    def add(self, rows: list[dict[str, Any]]) -> int:
        """Store events whose ``event_id`` is not stored yet (nor earlier in ``rows``).

        One transaction; returns how many were new.
        """
        fresh: list[dict[str, Any]] = []
        seen: set[str] = set()
        for row in rows:
            if row["event_id"] in seen:
                continue
            seen.add(row["event_id"])
            fresh.append(row)
        if not fresh:
            return 0
        for offset, row in enumerate(fresh, start=1):
            row["seq"] = self.last_seq + offset
        batch = pa.Table.from_pylist(fresh, schema=EVENT_SCHEMA)  # noqa: F841 (read by DuckDB)
        inserted = self.conn.execute(
            f"INSERT INTO {EVENTS_TABLE} SELECT * FROM batch AS b "
            f"WHERE NOT EXISTS (SELECT 1 FROM {EVENTS_TABLE} AS e WHERE e.event_id = b.event_id)"
        ).fetchone()
        self.last_seq += len(fresh)
        return int(inserted[0]) if inserted else 0

    def purge(self, horizon: datetime) -> int:
        """Forget events that arrived before ``horizon`` (naive UTC): the retention window."""
        self.horizon = horizon
        deleted = self.conn.execute(
            f"DELETE FROM {EVENTS_TABLE} WHERE arrive_ts < ?", [horizon]
        ).fetchone()
        return int(deleted[0]) if deleted else 0

    # --- publishing ---------------------------------------------------------------------------

    def current_snapshot(self) -> Path | None:
        try:
            return self.link.resolve(strict=True) if self.link.is_symlink() else None
        except FileNotFoundError:
            return None

    def publish(self, extra_meta: dict[str, str] | None = None) -> bool:
        """Bring the unpublished copy up to date and publish it; False if a reader held it."""
        if self.published_seq == self.last_seq and self.current_snapshot() is not None:
            return True
        current = self.current_snapshot()
        candidates = sorted(
            (
                self.snapshot_dir / name
                for name in SNAPSHOTS
                if current is None or name != current.name
            ),
            key=lambda path: path.stat().st_mtime if path.exists() else 0.0,
        )
        for target in candidates:  # the oldest copy first
            try:
                conn = duckdb.connect(str(target))
            except (duckdb.IOException, duckdb.BinderException, duckdb.ConnectionException):
                continue  # a reader (another process, or this one) still has it open
            try:
                self._update(conn, extra_meta or {})
            finally:
                conn.close()
            break
        else:
            self.skipped_publications += 1
            return False
        self._point_link_at(target)
        self.published_seq = self.last_seq
        self.publications += 1
        return True

    def _update(self, conn: duckdb.DuckDBPyConnection, extra_meta: dict[str, str]) -> None:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("BEGIN")
        conn.execute(TABLES[1])  # the meta table
        fresh_copy = (
            _meta(conn, "state_id") != self.state_id
            or _meta(conn, "schema_version") != SCHEMA_VERSION
        )
        if fresh_copy:
            conn.execute(f"DROP TABLE IF EXISTS {EVENTS_TABLE} CASCADE")
            _execute_schema(conn)
            applied = -1
        else:
            applied = int(_meta(conn, "applied_seq") or -1)
        delta = self.conn.execute(  # noqa: F841 (read by DuckDB below)
            f"SELECT * FROM {EVENTS_TABLE} WHERE seq > ? ORDER BY seq", [applied]
        ).to_arrow_table()
        conn.execute(f"INSERT INTO {EVENTS_TABLE} SELECT * FROM delta")
        if self.horizon is not None:
            conn.execute(f"DELETE FROM {EVENTS_TABLE} WHERE arrive_ts < ?", [self.horizon])
        _set_meta(
            conn,
            {
                "state_id": self.state_id,
                "schema_version": SCHEMA_VERSION,
                "applied_seq": str(self.last_seq),
                "horizon": self.horizon.isoformat() if self.horizon else "",
                "published_at": datetime.now().astimezone().isoformat(timespec="milliseconds"),
                **extra_meta,
            },
        )
        conn.execute("COMMIT")

    def _point_link_at(self, target: Path) -> None:
        point_atomically(self.link, Path("snapshots") / target.name)


# --- reading ---------------------------------------------------------------------------------


def attach_realtime(
    conn: duckdb.DuckDBPyConnection, settings: Settings, alias: str = "rt"
) -> Path | None:
    """Attach the published snapshot read-only as ``alias``; None when there is none yet.

    The consumer may be writing the copy the link pointed to a moment ago: then the link is
    read again (it has moved on) and the attach retried.
    """
    link = published_path(settings)
    last_error: Exception | None = None
    for _ in range(ATTACH_ATTEMPTS):
        if not link.is_symlink():
            return None
        target = link.resolve()
        try:
            conn.execute(f"ATTACH '{target}' AS \"{alias}\" (READ_ONLY)")
        except (
            duckdb.IOException,
            duckdb.BinderException,
            duckdb.ConnectionException,
        ) as error:
            last_error = error
            time.sleep(ATTACH_PAUSE_SECONDS)
            continue
        return target
    raise RealtimeUnavailableError(f"could not attach the real-time snapshot: {last_error}")


@contextmanager
def open_realtime(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with the marts attached as ``rt``."""
    conn = duckdb.connect()
    try:
        conn.execute("SET TimeZone = 'UTC'")
        if attach_realtime(conn, settings) is None:
            raise RealtimeUnavailableError(
                f"no real-time marts under {settings.realtime_dir} yet: start the consumer "
                "(`clickstream rt consume`)"
            )
        yield conn
    finally:
        conn.close()
