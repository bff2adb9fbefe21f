"""Measuring a job run as a subprocess (wall time, peak RSS of its whole process tree), and
comparing two results for equality before any ratio between them is reported.

Both sides of a comparison (ours and a peer) run as subprocesses measured the same way: the
sampler reads ``/proc`` every ``interval`` seconds and sums the resident memory of the process
and all its descendants (the JVM of PySpark, dbt's processes), keeping the peak of that sum.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


# --- the process tree and its memory ----------------------------------------------------------


def children_of(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Direct children of ``pid`` (every thread's children), [] once it is gone."""
    found: list[int] = []
    try:
        tasks = list((proc / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """``pid`` and all its descendants."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children_of(current, proc)
    return tree


def rss_bytes(pid: int, proc: Path = Path("/proc")) -> int:
    """Resident set size of one process (0 once it is gone)."""
    try:
        fields = (proc / str(pid) / "statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * PAGE_SIZE


def process_name(pid: int, proc: Path = Path("/proc")) -> str:
    """The process's command name (``dbt``, ``java``, ``python``), "" once it is gone."""
    try:
        return (proc / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def tree_rss_bytes(pid: int, proc: Path = Path("/proc")) -> int:
    return sum(rss_bytes(member, proc) for member in process_tree(pid, proc))


class PeakRss:
    """Samples the RSS of a process tree in a background thread; ``peak`` is the largest sum,
    ``peak_largest`` the name and RSS of the tree's largest process at that sample (dbt in our
    lake build, the JVM in PySpark's)."""

    def __init__(self, pid: int, interval: float = 0.1, proc: Path = Path("/proc")) -> None:
        self.pid = pid
        self.interval = interval
        self.proc = proc
        self.peak = 0
        self.peak_largest: tuple[str, int] = ("", 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        sizes = {
            member: rss_bytes(member, self.proc) for member in process_tree(self.pid, self.proc)
        }
        current = sum(sizes.values())
        if current > self.peak:
            largest = max(sizes, key=sizes.__getitem__)
            self.peak = current
            self.peak_largest = (process_name(largest, self.proc), sizes[largest])
        self.samples += 1
        return current

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measured:
    seconds: float
    peak_rss: int
    """Bytes: the peak of the sampled sum over the process tree."""
    stdout: str
    stderr: str = field(repr=False, default="")
    peak_largest: tuple[str, int] = ("", 0)
    """The name and RSS (bytes) of the job's largest process at the peak."""


class JobError(RuntimeError):
    pass


def run_measured(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    interval: float = 0.1,
    timeout: float | None = None,
) -> Measured:
    """Run ``command`` to completion; its wall time and the peak RSS of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with PeakRss(process.pid, interval) as sampler:
        stdout, stderr = process.communicate(timeout=timeout)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise JobError(f"{command[:4]} exited {process.returncode}:\n{stderr[-4000:]}")
    return Measured(seconds, sampler.peak, stdout, stderr, sampler.peak_largest)


def directory_bytes(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --- equal outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    digest: int
    """Order-independent: the sum of every row's hash."""


@dataclass(frozen=True)
class Comparison:
    name: str
    ours: Fingerprint
    peer: Fingerprint
    columns: tuple[str, ...]
    only_ours: int = 0
    only_peer: int = 0

    @property
    def equal(self) -> bool:
        return self.ours == self.peer

    def describe(self) -> str:
        if self.equal:
            return f"{self.name}: {self.ours.rows:,} rows equal"
        return (
            f"{self.name} differs: {self.ours.rows:,} rows ours, {self.peer.rows:,} peer; "
            f"{self.only_ours:,} only in ours, {self.only_peer:,} only in the peer"
        )


def column_types(conn: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = conn.execute(f"describe select * from {relation}").fetchall()
    return {name: kind for name, kind, *_ in rows}


def _projection(columns: Iterable[str], types: Mapping[str, str]) -> str:
    return ", ".join(f'cast("{name}" as {types[name]}) as "{name}"' for name in columns)


def fingerprint(conn: duckdb.DuckDBPyConnection, relation: str, projection: str) -> Fingerprint:
    """Row count and the sum of every row's hash, the row hashed as JSON (so a null, an empty
    string, an empty list and a list holding a null all differ)."""
    row = conn.execute(
        f"select count(*), coalesce(sum(hash(to_json(projected))::hugeint), 0) "
        f"from (select {projection} from {relation}) as projected"
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    rows, digest = row
    return Fingerprint(int(rows), int(digest))


def compare_relations(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    ours: str,
    peer: str,
    columns: Sequence[str] | None = None,
) -> Comparison:
    """Compare two relations (SQL table expressions) on ``columns`` (default: all of ours),
    the peer's columns cast to our types. Counts the differing rows when the fingerprints
    differ."""
    conn.execute("set enable_progress_bar = false")
    types = column_types(conn, ours)
    chosen = tuple(columns or types)
    missing = set(chosen) - set(column_types(conn, peer))
    if missing:
        raise ValueError(f"{name}: the peer's output lacks columns {sorted(missing)}")
    projection = _projection(chosen, types)
    result = Comparison(
        name,
        fingerprint(conn, ours, projection),
        fingerprint(conn, peer, projection),
        chosen,
    )
    if result.equal:
        return result
    only = []
    for left, right in ((ours, peer), (peer, ours)):
        row = conn.execute(
            f"select count(*) from (select {projection} from {left} "
            f"except all select {projection} from {right})"
        ).fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        only.append(row[0])
    return Comparison(name, result.ours, result.peer, chosen, int(only[0]), int(only[1]))


# --- the bronze schema for the PySpark peer ---------------------------------------------------


def spark_ddl(schema: pa.Schema | Iterable[pa.Field]) -> str:
    """A Spark DDL schema string (``a STRING, b STRUCT<c: BIGINT>``) for an Arrow schema."""
    return ", ".join(f"`{item.name}` {_spark_type(item.type)}" for item in schema)


def _spark_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type):
        return "STRING"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_int32(arrow_type):
        return "INT"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_date32(arrow_type):
        return "DATE"
    if pa.types.is_list(arrow_type):
        return f"ARRAY<{_spark_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        members = ", ".join(f"`{child.name}`: {_spark_type(child.type)}" for child in arrow_type)
        return f"STRUCT<{members}>"
    raise TypeError(f"no Spark type for {arrow_type}")
