"""The fast bronze path on a local landing store: DuckDB reads the hour's gzip NDJSON with the
bronze types and writes partitioned Parquet into the table's data folder; the caller commits the
files to Iceberg without copying them.

When DuckDB refuses the hour (a corrupt object, a malformed line, a value of the wrong type),
each object is tried on its own; objects it still refuses go line by line through
``bronze_rows`` and their good rows are written in the same pass as the readable objects.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from lakehouse.bronze_rows import (
    PAYLOAD_FIELDS,
    ParsedObject,
    parse_object,
)
from lakehouse.tables import BRONZE_EVENTS
from streaming.contracts.landing import IngestHour
from streaming.contracts.settings import Settings

MEMORY_LIMIT = "1GB"
FALLBACK_VIEW = "bronze_line_rows"


def duckdb_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"  # read with its offset, stored as UTC without one
    if pa.types.is_list(arrow_type):
        return f"{duckdb_type(arrow_type.value_type)}[]"
    if pa.types.is_struct(arrow_type):
        members = ", ".join(f'"{child.name}" {duckdb_type(child.type)}' for child in arrow_type)
        return f"STRUCT({members})"
    raise TypeError(f"no DuckDB type for {arrow_type}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


JSON_COLUMNS = (
    "{"
    + ", ".join(f"{_quote(s.name)}: {_quote(duckdb_type(s.type))}" for s in PAYLOAD_FIELDS)
    + "}"
)


def read_json_sql(paths: list[Path]) -> str:
    files = "[" + ", ".join(_quote(str(path)) for path in paths) + "]"
    return (
        f"read_json({files}, format='newline_delimited', compression='gzip', "
        f"columns={JSON_COLUMNS}, filename=true)"
    )


def select_sql(paths: list[Path], root: Path, hour: IngestHour) -> str:
    payload = ", ".join(
        f'cast("{s.name}" as timestamp) as "{s.name}"'
        if pa.types.is_timestamp(s.type)
        else f'"{s.name}"'
        for s in PAYLOAD_FIELDS
    )
    return (
        f"select {payload}, event_type as events_type, "
        f"date '{hour.ingest_dt.isoformat()}' as ingest_dt, '{hour.hour}' as hour, "
        f"substr(filename, {len(str(root)) + 2}) as source_object from {read_json_sql(paths)}"
    )


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    spill = settings.duckdb_dir / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    conn.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    conn.execute(f"set temp_directory = {_quote(str(spill))}")
    conn.execute("set preserve_insertion_order = false")
    return conn


@dataclass
class DuckDBHour:
    """Parquet files written for the hour, and what each object turned into."""

    files: list[Path] = field(default_factory=list)
    loaded: Counter[str] = field(default_factory=Counter)
    parsed_by_line: list[ParsedObject] = field(default_factory=list)


def write_hour(
    conn: duckdb.DuckDBPyConnection,
    root: Path,
    keys: list[str],
    hour: IngestHour,
    data_dir: Path,
) -> DuckDBHour:
    """Write the hour's rows as Parquet in a fresh folder under ``data_dir``."""
    result = DuckDBHour()
    if not keys:
        return result
    target = data_dir / hour.path / f"load-{uuid.uuid4()}"
    paths = [root / key for key in keys]
    try:
        _copy(conn, select_sql(paths, root, hour), target)
    except duckdb.Error as error:
        shutil.rmtree(target, ignore_errors=True)
        readable, refused = _split_readable(conn, paths, root, hour, error)
        result.parsed_by_line = [
            parse_object(path.relative_to(root).as_posix(), path.read_bytes()) for path in refused
        ]
        _copy(conn, _with_line_rows(conn, readable, root, hour, result.parsed_by_line), target)
    result.files = sorted(target.rglob("*.parquet"))
    if result.files:
        counts = conn.execute(
            "select source_object, count(*) from read_parquet("
            f"{_quote(str(target / '**' / '*.parquet'))}) group by all"
        ).fetchall()
        result.loaded.update(dict(counts))
    return result


def _copy(conn: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"copy ({query}) to {_quote(str(target))} (format parquet, "
        "partition_by (events_type, ingest_dt, hour), write_partition_columns true, "
        "compression zstd)"
    )


def _split_readable(
    conn: duckdb.DuckDBPyConnection,
    paths: list[Path],
    root: Path,
    hour: IngestHour,
    error: Exception | None = None,
) -> tuple[list[Path], list[Path]]:
    """The objects DuckDB reads whole, and those it refuses. An error naming its file removes
    that file; one that names none halves the search."""
    if error is None:
        error = _read_error(conn, paths, root, hour)
    if error is None:
        return paths, []
    if len(paths) == 1:
        return [], paths
    named = [path for path in paths if f'"{path}"' in str(error)]
    if named:
        rest = [path for path in paths if path not in named]
        readable, refused = _split_readable(conn, rest, root, hour) if rest else ([], [])
        return readable, named + refused
    middle = len(paths) // 2
    first = _split_readable(conn, paths[:middle], root, hour)
    second = _split_readable(conn, paths[middle:], root, hour)
    return first[0] + second[0], first[1] + second[1]


def _read_error(
    conn: duckdb.DuckDBPyConnection, paths: list[Path], root: Path, hour: IngestHour
) -> Exception | None:
    try:
        for _ in conn.execute(select_sql(paths, root, hour)).to_arrow_reader():
            pass
    except (duckdb.Error, pa.ArrowException, OSError) as error:
        return error
    return None


def _with_line_rows(
    conn: duckdb.DuckDBPyConnection,
    readable: list[Path],
    root: Path,
    hour: IngestHour,
    parsed: list[ParsedObject],
) -> str:
    rows = [
        row
        | {
            "events_type": row["event_type"],
            "ingest_dt": hour.ingest_dt,
            "hour": hour.hour,
            "source_object": item.key,
        }
        for item in parsed
        for row in item.rows
    ]
    conn.register(FALLBACK_VIEW, pa.Table.from_pylist(rows, schema=BRONZE_EVENTS))
    line_rows = f"select * from {FALLBACK_VIEW}"
    if not readable:
        return line_rows
    return f"{select_sql(readable, root, hour)} union all by name {line_rows}"
