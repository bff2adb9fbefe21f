"""Our lake build against the PySpark peer (seed 002's Glue job, run ``local[2]``), on the same
landing objects, in the same run; and its scaling at 1 M / 10 M / 30 M events.

Both sides run as subprocesses measured the same way (wall time including start-up, peak RSS
of the whole process tree, sampled every 0.1 s):

* ours: ``python -m bench.lake_task``: every landed hour into bronze (Iceberg), then the full
  silver+gold ``dbt run``, each step in a process of its own as the orchestrator runs them; it
  does more than the peer (gold and user segments too);
* the peer: ``bench/.venv-peers/bin/python -m bench.peers.spark_job``: landing -> bronze
  Parquet -> silver events -> silver sessions, driver memory 4 GB, 8 shuffle partitions.

Before any ratio is reported, silver events and silver sessions of both are compared in DuckDB
(row count and an order-independent hash of every column); a difference marks the row
"outputs differ" and its goal not met.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.lake_bench import _bench_root, _fresh_lake, _landing, generation_seconds
from bench.measure import (
    Comparison,
    Measured,
    column_types,
    compare_relations,
    directory_bytes,
    run_measured,
    spark_ddl,
)
from bench.report import PEERS_PYTHON, Report, Row
from lakehouse import engine
from lakehouse.bronze_rows import PAYLOAD_FIELDS
from lakehouse.catalog import open_catalog
from streaming.contracts.settings import Settings

REPO = Path(__file__).resolve().parents[1]
DRIVER_MEMORY = os.environ.get("BENCH_SPARK_DRIVER_MEMORY", "4g")
SHUFFLE_PARTITIONS = int(os.environ.get("BENCH_SPARK_SHUFFLE_PARTITIONS", "8"))
COMPARED = ("silver_events", "silver_sessions")
ON_PEER_COLUMNS = {"silver_sessions"}
"""Compared on the peer's columns: it does not derive the session's traffic source and device
(channel group, referrer medium and source, landing and exit page, device class, browser, OS)."""
GiB = 2**30
MiB = 2**20


def peers_python() -> Path:
    if not PEERS_PYTHON.exists():
        raise SystemExit(f"{PEERS_PYTHON} is missing: run `make peers` (or `make bench`)")
    return PEERS_PYTHON


@dataclass
class Side:
    runs: list[Measured] = field(default_factory=list)
    timings: list[dict[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_rss(self) -> int:
        return int(statistics.median(run.peak_rss for run in self.runs))

    def peak_split(self) -> str:
        """At the peak of the run with the median peak: its largest process, and the rest."""
        run = sorted(self.runs, key=lambda run: run.peak_rss)[len(self.runs) // 2]
        name, largest = run.peak_largest
        return f"{name} {largest / MiB:,.0f} + the rest {(run.peak_rss - largest) / MiB:,.0f} MiB"

    def add(self, measured: Measured) -> None:
        self.runs.append(measured)
        self.timings.append(json.loads(measured.stdout.strip().splitlines()[-1]))

    def step(self, name: str) -> float:
        return statistics.median(timing[name] for timing in self.timings)


@dataclass
class LakeComparison:
    events: int
    ours: Side
    peer: Side
    comparisons: list[Comparison]
    bytes_ours: dict[str, int]
    bytes_peer: dict[str, int]
    raw_gzip: int
    bronze_rows: int
    load_average: float = 0.0
    """The machine's 5-minute load average when the runs ended (other work skews times)."""
    generation_s: float | None = None
    """How long ``clickstream generate`` took to land the data set."""

    @property
    def equal(self) -> bool | None:
        if not self.comparisons:
            return None
        return all(comparison.equal for comparison in self.comparisons)

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "bronze_rows": self.bronze_rows,
            "ours_seconds": self.ours.seconds,
            "ours_peak_rss": self.ours.peak_rss,
            "peer_seconds": self.peer.seconds if self.peer.runs else None,
            "peer_peak_rss": self.peer.peak_rss if self.peer.runs else None,
            "equal": self.equal,
            "bytes_ours": self.bytes_ours,
            "bytes_peer": self.bytes_peer,
            "raw_gzip": self.raw_gzip,
            "runs_ours": len(self.ours.runs),
            "runs_peer": len(self.peer.runs),
            "load_average": self.load_average,
            "generation_s": self.generation_s,
        }


def run_ours(landing_home: Path, name: str) -> tuple[Measured, Settings]:
    settings = _fresh_lake(landing_home, name)
    command = [sys.executable, "-m", "bench.lake_task", "--home", str(settings.home)]
    return run_measured(command, cwd=REPO), settings


def run_peer(landing_home: Path, out: Path) -> Measured:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    schema = out.parent / f"{out.name}.schema.ddl"
    schema.write_text(spark_ddl(PAYLOAD_FIELDS))
    command = [
        str(peers_python()),
        "-m",
        "bench.peers.spark_job",
        "--landing",
        str(landing_home / "landing"),
        "--out",
        str(out),
        "--schema",
        str(schema),
        "--driver-memory",
        DRIVER_MEMORY,
        "--shuffle-partitions",
        str(SHUFFLE_PARTITIONS),
    ]
    return run_measured(command, cwd=REPO)


def compare_outputs(settings: Settings, out: Path) -> list[Comparison]:
    conn = engine.connect(settings, open_catalog(settings))
    conn.execute("set TimeZone = 'UTC'")
    try:
        comparisons = []
        for table in COMPARED:
            peer = f"read_parquet('{out / table}/**/*.parquet', hive_partitioning = true)"
            columns = list(column_types(conn, peer)) if table in ON_PEER_COLUMNS else None
            comparisons.append(compare_relations(conn, table, f"lake.{table}", peer, columns))
        return comparisons
    finally:
        conn.close()


def layer_bytes(settings: Settings) -> dict[str, int]:
    """Bytes on disk per layer of our lake (data and Iceberg metadata)."""
    lake = settings.warehouse_dir
    sizes = {"bronze": 0, "silver": 0, "gold": 0}
    for table in lake.glob("*/*"):
        if not table.is_dir():
            continue
        name = table.name
        layer = (
            "bronze"
            if name.startswith(("bronze", "quarantine"))
            else "silver"
            if name.startswith("silver")
            else "gold"
        )
        sizes[layer] += directory_bytes(table)
    return sizes


def landing_for(events: int) -> Path:
    """A day of ``events`` generated events (every size generated afresh, none copied)."""
    return _landing(events, 1)


def compare_lake(events: int, runs: int, peer_runs: int | None = None) -> LakeComparison:
    landing_home = landing_for(events)
    ours, peer = Side(), Side()
    settings = None
    for _ in range(runs):
        measured, settings = run_ours(landing_home, f"peer-ours-{events}")
        ours.add(measured)
    out = _bench_root() / f"peer-spark-{events}"
    for _ in range(runs if peer_runs is None else peer_runs):
        peer.add(run_peer(landing_home, out))
    assert settings is not None
    comparisons = compare_outputs(settings, out) if peer.runs else []
    return LakeComparison(
        events=events,
        ours=ours,
        peer=peer,
        comparisons=comparisons,
        bytes_ours=layer_bytes(settings),
        bytes_peer={layer: directory_bytes(out / layer) for layer in ("bronze_events", *COMPARED)},
        raw_gzip=directory_bytes(landing_home / "landing" / settings.landing_bronze_prefix),
        bronze_rows=int(ours.timings[-1]["bronze_rows"]),
        load_average=os.getloadavg()[1],
        generation_s=generation_seconds(landing_home),
    )


def add_rows(report: Report, result: LakeComparison, *, goal_ratio: float | None) -> None:
    millions = f"{result.events / 1e6:g} M"
    has_peer = bool(result.peer.runs)
    detail = "; ".join(
        comparison.describe()
        + (
            f" on the peer's {len(comparison.columns)} columns (no traffic source or device)"
            if comparison.name in ON_PEER_COLUMNS
            else ""
        )
        for comparison in result.comparisons
    )
    generated = (
        f"data set landed by `clickstream generate` in {result.generation_s / 60:.1f} min; "
        if result.generation_s is not None
        else "data set landed by `clickstream generate`; "
    )
    ours_steps = (
        f"{generated}load average {result.load_average:.1f}; "
        f"{result.bronze_rows:,} bronze rows; ours bronze {result.ours.step('bronze_s'):.0f} s "
        f"+ segment changes {result.ours.step('segments_s'):.0f} s + dbt "
        f"{result.ours.step('build_s'):.0f} s"
    )
    peer_steps = (
        f"; peer session {result.peer.step('session_s'):.0f} s, bronze "
        f"{result.peer.step('bronze_s'):.0f} s, events "
        f"{result.peer.step('silver_events_s'):.0f} s, sessions "
        f"{result.peer.step('silver_sessions_s'):.0f} s"
        if has_peer
        else "; PySpark not run at this size"
    )
    ratio = result.peer.seconds / result.ours.seconds if has_peer else None
    report.add(
        Row(
            f"lake build, landing -> bronze -> silver (+gold for ours), {millions} events",
            result.ours.seconds,
            "s",
            peer=result.peer.seconds if has_peer else None,
            peer_name=f"PySpark local[2], {len(result.peer.runs)} run(s)",
            goal=f">= {goal_ratio:g}x PySpark" if goal_ratio else "",
            met=(ratio is not None and ratio >= goal_ratio) if goal_ratio else None,
            runs=len(result.ours.runs),
            lower_is_better=True,
            equal=result.equal,
            note=f"{detail}; {ours_steps}{peer_steps}" if detail else ours_steps + peer_steps,
        )
    )
    report.add(
        Row(
            f"lake build peak RSS (process tree), {millions} events",
            result.ours.peak_rss / MiB,
            "MiB",
            peer=result.peer.peak_rss / MiB if has_peer else None,
            peer_name=f"PySpark, driver memory {DRIVER_MEMORY}",
            runs=len(result.ours.runs),
            lower_is_better=True,
            equal=result.equal,
            note=(
                "sum of RSS over the job's processes, sampled every 0.1 s; at the peak, ours: "
                + result.ours.peak_split()
                + (f"; peer: {result.peer.peak_split()}" if has_peer else "")
            ),
        )
    )
    ours_total = sum(result.bytes_ours.values())
    peer_total = sum(result.bytes_peer.values())
    report.add(
        Row(
            f"bytes on disk vs raw gzip JSON ({result.raw_gzip / MiB:,.0f} MiB), {millions} events",
            ours_total / MiB,
            "MiB",
            peer=peer_total / MiB if has_peer else None,
            peer_name="PySpark Parquet: bronze + silver events + sessions",
            lower_is_better=True,
            equal=result.equal,
            note=(
                "ours (Iceberg, zstd, with metadata): "
                + ", ".join(
                    f"{layer} {size / MiB:,.0f}" for layer, size in result.bytes_ours.items()
                )
                + f" MiB = {ours_total / result.raw_gzip:.2f}x raw"
                + (
                    f"; peer (zstd) {peer_total / result.raw_gzip:.2f}x raw (ours has gold too)"
                    if has_peer
                    else ""
                )
            ),
        )
    )


def run(report: Report, *, events: int = 1_000_000, runs: int = 3) -> LakeComparison:
    """``make bench``: the 1 M comparison, medians of ``runs``."""
    result = compare_lake(events, runs)
    add_rows(report, result, goal_ratio=None)
    return result


SCALING_EVENTS = (1_000_000, 10_000_000, 30_000_000)
SPARK_MAX_EVENTS = int(os.environ.get("BENCH_SPARK_MAX_EVENTS", str(max(SCALING_EVENTS))))
"""PySpark runs at scaling sizes up to this many events (30 M takes it a long time)."""
RSS_GOAL = 4 * 10**9
"""The goal of 4 GB, in decimal units (3,815 MiB): the stricter reading."""


def run_scaling(report: Report, sizes: tuple[int, ...] = SCALING_EVENTS) -> list[LakeComparison]:
    """``make bench-full``: one run per size (each takes minutes), ours and PySpark; the
    scaling file (and its plot) only records the full set of sizes."""
    results = []
    for events in sizes:
        result = compare_lake(events, runs=1, peer_runs=1 if events <= SPARK_MAX_EVENTS else 0)
        add_rows(report, result, goal_ratio=5 if events == 10_000_000 else None)
        if events == 30_000_000:
            peak_gib = result.ours.peak_rss / GiB
            report.add(
                Row(
                    "lake build peak RSS at 30 M events (ours)",
                    result.ours.peak_rss / 10**9,
                    "GB",
                    goal="<= 4 GB",
                    met=result.ours.peak_rss <= RSS_GOAL,
                    runs=1,
                    note=f"process tree: the bronze load and dbt; {peak_gib:.2f} GiB",
                )
            )
        results.append(result)
        if sizes == SCALING_EVENTS:
            scaling_file().write_text(json.dumps([item.as_dict() for item in results], indent=2))
    return results


def scaling_file() -> Path:
    return Path(__file__).parent / "results" / "scaling.json"
