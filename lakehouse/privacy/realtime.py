"""The user's rows in the local real-time marts: the consumer's state and each published
snapshot are copied into fresh DuckDB files without them, then moved into place, so no freed
block of the old file keeps the bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from lakehouse.privacy.subject import Subject
from streaming.contracts.settings import Settings
from streaming.realtime.local_sql import EVENTS_TABLE


class RealtimeBusyError(RuntimeError):
    """The consumer holds its database: stop it (`clickstream local down`) and run again."""


def realtime_files(settings: Settings) -> list[Path]:
    directory = settings.realtime_dir
    if not directory.is_dir():
        return []
    return sorted(
        path for path in directory.rglob("*.duckdb") if path.is_file() and not path.is_symlink()
    )


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with ``path`` attached read-only as ``src``."""
    conn = duckdb.connect()
    try:
        conn.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
        conn.execute("USE src")
    except (duckdb.IOException, duckdb.ConnectionException, duckdb.BinderException) as error:
        conn.close()
        raise RealtimeBusyError(
            f"{path} is open in another process (the real-time consumer?): stop it and run "
            f"the request again ({str(error).splitlines()[0]})"
        ) from error
    return conn


def _has_events(conn: duckdb.DuckDBPyConnection, database: str = "src") -> bool:
    found = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND table_name = ?",
        [database, EVENTS_TABLE],
    ).fetchone()
    return bool(found and found[0])


def realtime_rows(settings: Settings, subject: Subject) -> list[dict[str, Any]]:
    """The subject's rows in the consumer's state (the snapshots hold copies of them)."""
    state = settings.realtime_dir / "state.duckdb"
    if not state.is_file():
        return []
    conn = _attach(state)
    try:
        if not _has_events(conn):
            return []
        result = conn.execute(
            f"SELECT * FROM {EVENTS_TABLE} WHERE user_id_hash = ? ORDER BY seq",
            [subject.server_hash],
        )
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        conn.close()


def _erase_from_file(path: Path, subject: Subject) -> int:
    """Copy ``path`` into a fresh file without the subject's rows, then move it into place;
    the old file is only read, so a crash leaves it whole and a re-run starts over."""
    conn = _attach(path)
    fresh = path.with_name(f".{path.name}.erased")
    try:
        if not _has_events(conn, "src"):
            return 0
        count = conn.execute(
            f"SELECT count(*) FROM {EVENTS_TABLE} WHERE user_id_hash = ?", [subject.server_hash]
        ).fetchone()
        removed = int(count[0]) if count else 0
        if removed == 0:
            return 0
        source = "src"
        fresh.unlink(missing_ok=True)
        conn.execute(f"ATTACH '{fresh}' AS fresh")
        conn.execute(f'COPY FROM DATABASE "{source}" TO fresh (SCHEMA)')
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_type = 'BASE TABLE'",
            [source],
        ).fetchall()
        for (name,) in tables:
            columns = {
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_catalog = ? AND table_name = ?",
                    [source, name],
                ).fetchall()
            }
            where = "WHERE user_id_hash IS DISTINCT FROM ?" if "user_id_hash" in columns else ""
            conn.execute(
                f'INSERT INTO fresh."{name}" SELECT * FROM "{source}"."{name}" {where}',
                [subject.server_hash] if where else [],
            )
        conn.execute("DETACH fresh")
    finally:
        conn.close()
    fresh.replace(path)
    return removed


def erase_from_realtime(settings: Settings, subject: Subject) -> int:
    """Remove the subject's rows from the state and every snapshot; the state's count."""
    removed = 0
    for path in realtime_files(settings):
        count = _erase_from_file(path, subject)
        if path.name == "state.duckdb":
            removed = count
    return removed
