"""The fast bronze path on a local landing store: the hour's gzip NDJSON objects are inflated
by ISA-L on every core into a scratch folder, then DuckDB reads them with the bronze types and
writes Parquet into the table's data folder; the caller commits the files to Iceberg without
copying them.

DuckDB could read the gzip itself, but it takes some objects cut off short (in the gzip
trailer, or at some points of the compressed data) as complete: their lost lines would leave
no trace. ISA-L refuses such an object, which then goes to quarantine whole. The write options
are the dbt project's (``parquet_write_options``), so bronze files are written as the models'.

The hour goes through in chunks of at most ``CHUNK_BYTES`` of landed (compressed) objects, so
the scratch space and DuckDB's buffers stay bounded whatever the size of the hour. The scratch
folder is in memory (``/dev/shm``) when there is room: written to a disk, the inflated JSON cost
a third of the load's CPU time in the kernel.

An object that does not inflate goes line by line through ``bronze_rows`` (which quarantines it
whole). When DuckDB refuses a chunk (a malformed line, a value of the wrong type), each object
is tried on its own; objects it still refuses go line by line too, and their good rows are
written beside the readable objects'.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from lakehouse.bronze_rows import (
    GZIP_ERRORS,
    PAYLOAD_FIELDS,
    ParsedObject,
    gunzip_file,
    parse_object,
)
from lakehouse.dbt_invocation import parquet_write_options
from lakehouse.tables import BRONZE_EVENTS
from streaming.contracts.landing import IngestHour
from streaming.contracts.settings import Settings

FALLBACK_VIEW = "bronze_line_rows"
CHUNK_BYTES = 128 * 2**20
"""Landed bytes inflated and written per DuckDB pass (about 0.9 GB of JSON); two chunks are
inflated at a time at most."""
MEMORY_SCRATCH = Path("/dev/shm")
MEMORY_SCRATCH_ROOM = 4 * 2**30
"""Free space ``/dev/shm`` must have to be used as scratch: twice a chunk's JSON, with margin
for objects that compress better than usual."""
STALE_SCRATCH_S = 3600
"""A scratch folder this old was left by a load that died (a chunk takes seconds)."""


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
    """The inflated objects, typed: their names keep the landed ``.gz``, their bytes do not."""
    files = "[" + ", ".join(_quote(str(path)) for path in paths) + "]"
    return (
        f"read_json({files}, format='newline_delimited', compression='uncompressed', "
        f"columns={JSON_COLUMNS}, filename=true)"
    )


def select_sql(paths: list[Path], root: Path, hour: IngestHour) -> str:
    """Bronze rows of the inflated objects at ``paths``, which lie under ``root`` at their
    landing keys (``source_object``)."""
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
    conn.execute(f"set memory_limit = '{settings.duckdb.memory_limit}'")
    conn.execute(f"set threads = {settings.duckdb.thread_count}")
    conn.execute(f"set temp_directory = {_quote(str(spill))}")
    conn.execute("set preserve_insertion_order = false")
    return conn


@dataclass
class DuckDBHour:
    """Parquet files written for the hour, and what each object turned into."""

    files: list[Path] = field(default_factory=list)
    loaded: Counter[str] = field(default_factory=Counter)
    parsed_by_line: list[ParsedObject] = field(default_factory=list)


@dataclass(frozen=True)
class Scratch:
    """Where objects are inflated, and by how many threads."""

    folder: Path
    threads: int

    @classmethod
    def of(cls, settings: Settings) -> Scratch:
        """The settings' scratch folder, cleared of what loads that died left there."""
        folder = settings.duckdb.scratch_dir or _default_scratch(settings)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("inflate-*"):
            try:
                age = time.time() - stale.stat().st_mtime
            except FileNotFoundError:  # its load, sharing the folder, just finished
                continue
            if age > STALE_SCRATCH_S:
                shutil.rmtree(stale, ignore_errors=True)
        return cls(folder, settings.duckdb.thread_count)


def _default_scratch(settings: Settings) -> Path:
    """In memory when ``/dev/shm`` has room (one folder per system user, each load in its own
    folder below it); else under the home."""
    try:
        room = shutil.disk_usage(MEMORY_SCRATCH).free
    except OSError:
        room = 0
    if room >= MEMORY_SCRATCH_ROOM and os.access(MEMORY_SCRATCH, os.W_OK):
        return MEMORY_SCRATCH / f"clickstream-scratch-{os.getuid()}"
    return settings.duckdb_dir / "scratch"


@dataclass(frozen=True)
class _Chunk:
    number: int
    event_type: str
    keys: list[str]


def write_hour(
    conn: duckdb.DuckDBPyConnection,
    root: Path,
    keys: list[str],
    hour: IngestHour,
    *,
    data_dir: Path,
    scratch: Scratch,
) -> DuckDBHour:
    """Write the hour's rows as Parquet in a fresh folder under ``data_dir``.

    Each chunk holds objects of one event type, so DuckDB writes it without partitioning
    (partitioned writing costs a third more); the next chunk is inflated while DuckDB writes."""
    result = DuckDBHour()
    if not keys:
        return result
    target = data_dir / hour.path / f"load-{uuid.uuid4()}"
    refused: list[str] = []
    try:
        with ThreadPoolExecutor(scratch.threads) as pool:
            chunks = list(_chunks(root, keys))
            pending = _start_inflating(pool, root, chunks[0], scratch.folder)
            for index, chunk in enumerate(chunks):
                inflating = pending
                if index + 1 < len(chunks):
                    pending = _start_inflating(pool, root, chunks[index + 1], scratch.folder)
                folder, inflated, corrupt = _finish_inflating(inflating)
                try:
                    refused += corrupt
                    refused += _copy_readable(
                        conn, inflated, folder, hour, target=target, chunk=chunk
                    )
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
        result.parsed_by_line = [parse_object(key, (root / key).read_bytes()) for key in refused]
        line_rows = _line_rows(result.parsed_by_line, hour)
        if line_rows.num_rows:
            conn.register(FALLBACK_VIEW, line_rows)
            _copy_partitioned(conn, f"select * from {FALLBACK_VIEW}", target / "lines")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    result.files = sorted(target.rglob("*.parquet"))
    if result.files:
        counts = conn.execute(
            "select source_object, count(*) from read_parquet("
            f"{_quote(str(target / '**' / '*.parquet'))}) group by all"
        ).fetchall()
        result.loaded.update(dict(counts))
    return result


def _chunks(root: Path, keys: list[str]) -> Iterator[_Chunk]:
    """The keys by event type (the landing key's ``events_type=``), in chunks of at most
    ``CHUNK_BYTES``."""
    by_type: dict[str, list[str]] = {}
    for key in keys:
        by_type.setdefault(_key_event_type(key), []).append(key)
    number = 0
    for event_type, typed in by_type.items():
        chunk: list[str] = []
        size = 0
        for key in typed:
            chunk.append(key)
            size += (root / key).stat().st_size
            if size >= CHUNK_BYTES:
                yield _Chunk(number, event_type, chunk)
                number, chunk, size = number + 1, [], 0
        if chunk:
            yield _Chunk(number, event_type, chunk)
            number += 1


def _key_event_type(key: str) -> str:
    for part in key.split("/"):
        if part.startswith("events_type="):
            return part.removeprefix("events_type=")
    return ""


_Inflating = tuple[Path, list[str], list[Future[Path | None]]]


def _start_inflating(
    pool: ThreadPoolExecutor, root: Path, chunk: _Chunk, scratch: Path
) -> _Inflating:
    """Each object of the chunk inflating to ``<folder>/<key>`` in the pool."""
    folder = scratch / f"inflate-{uuid.uuid4()}"

    def inflate(key: str) -> Path | None:
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            gunzip_file(root / key, path)
        except GZIP_ERRORS:
            path.unlink(missing_ok=True)
            return None
        return path

    return folder, chunk.keys, [pool.submit(inflate, key) for key in chunk.keys]


def _finish_inflating(inflating: _Inflating) -> tuple[Path, list[Path], list[str]]:
    """(the folder, the inflated files, the keys that are not gzip)."""
    folder, keys, futures = inflating
    inflated: list[Path] = []
    corrupt: list[str] = []
    for key, future in zip(keys, futures, strict=True):
        path = future.result()
        if path is None:
            corrupt.append(key)
        else:
            inflated.append(path)
    return folder, inflated, corrupt


def _copy_readable(
    conn: duckdb.DuckDBPyConnection,
    paths: list[Path],
    folder: Path,
    hour: IngestHour,
    *,
    target: Path,
    chunk: _Chunk,
) -> list[str]:
    """Write what DuckDB reads of ``paths``; the keys of the objects it refuses."""
    if not paths:
        return []
    try:
        _copy_chunk(conn, select_sql(paths, folder, hour), target, chunk)
        return []
    except duckdb.Error as error:
        readable, refused = _split_readable(conn, paths, folder, hour, error)
    if readable:
        _copy_chunk(conn, select_sql(readable, folder, hour), target, chunk)
    return [path.relative_to(folder).as_posix() for path in refused]


def _copy_chunk(conn: duckdb.DuckDBPyConnection, query: str, target: Path, chunk: _Chunk) -> None:
    """The chunk's rows in one folder of unpartitioned files when every row has the chunk's
    event type (as the delivery lands them), partitioned otherwise."""
    folder = target / f"{chunk.number}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"copy ({query}) to {_quote(str(folder))} "
        f"(format parquet, per_thread_output true, {parquet_write_options()})"
    )
    files = _quote(str(folder / "*.parquet"))
    kind = _quote(chunk.event_type)
    other_types = conn.execute(  # from the row groups' statistics, without reading the rows
        f"select count(*) from parquet_metadata({files}) where path_in_schema = 'events_type' "
        f"and (stats_min_value is distinct from {kind} or stats_max_value is distinct from "
        f"{kind} or coalesce(stats_null_count, 1) > 0)"
    ).fetchone()
    if other_types and other_types[0]:
        shutil.rmtree(folder)
        _copy_partitioned(conn, query, folder)


def _copy_partitioned(conn: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"copy ({query}) to {_quote(str(target))} (format parquet, "
        "partition_by (events_type, ingest_dt, hour), write_partition_columns true, "
        f"{parquet_write_options()})"
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


def _line_rows(parsed: list[ParsedObject], hour: IngestHour) -> pa.Table:
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
    return pa.Table.from_pylist(rows, schema=BRONZE_EVENTS)
