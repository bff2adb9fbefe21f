"""Bronze load throughput: one ingest hour of landed objects into ``lake.bronze_events``.

The hour is landed by the generator (a smaller run), then each object's lines are repeated
until the hour holds about ``events`` lines: the same bytes shape as landed traffic, at the
volume of a busy hour, without minutes of generation. Bronze keeps duplicates, so the load does
the same work as on distinct events.
"""

from __future__ import annotations

import gzip
import math
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.report import Report, Row
from lakehouse.bronze_load import Engine, load_bronze_hour
from lakehouse.catalog import open_catalog
from streaming.contracts.landing import IngestHour, LocalLandingStore, bronze_objects
from streaming.contracts.schema_registry import producer_event_types
from streaming.contracts.settings import Settings
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing

HOUR = datetime(2026, 11, 1, 12, tzinfo=UTC)
GOAL = 300_000


def land_hour(settings: Settings, events: int, generated_events: int) -> tuple[int, int]:
    """Land about ``events`` lines in HOUR; returns (lines, compressed bytes)."""
    store = LocalLandingStore(settings.landing_dir)
    config = TrafficConfig(events=generated_events, seed=7, start=HOUR, days=1 / 24)
    write_landing(config, store, settings, workers=2)
    objects = bronze_objects(store, settings, IngestHour.of(HOUR), producer_event_types())
    bodies = {item.key: gzip.decompress(store.get(item.key)) for item in objects}
    landed = sum(body.count(b"\n") for body in bodies.values())
    repeat = max(1, math.ceil(events / landed))
    for key, body in bodies.items():
        store.put(key, gzip.compress(body * repeat, compresslevel=1, mtime=0))
    size = sum(item.size for item in store.list(settings.landing_bronze_prefix + "/"))
    return landed * repeat, size


def measure(settings: Settings, engine: Engine) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (all threads) and rows of one full load of the hour."""
    catalog = open_catalog(settings)
    cpu = time.process_time()
    result = load_bronze_hour(settings, HOUR, catalog=catalog, engine=engine, force=True)
    return result.seconds, time.process_time() - cpu, result.loaded_rows


def run(report: Report, *, events: int = 1_000_000, runs: int = 3) -> None:
    with tempfile.TemporaryDirectory(prefix="clickstream-bronze-bench-") as scratch:
        settings = Settings(home=Path(scratch))
        lines, size = land_hour(settings, events, generated_events=20_000)
        figures: dict[str, list[tuple[float, float, int]]] = {}
        plan: tuple[tuple[Engine, int], ...] = (("duckdb", runs), ("arrow", 1))
        for engine, count in plan:
            figures[engine] = [measure(settings, engine) for _ in range(count)]
        rates = {
            engine: statistics.median(rows / wall for wall, _, rows in values)
            for engine, values in figures.items()
        }
        cpu = statistics.median(cpu_seconds for _, cpu_seconds, _ in figures["duckdb"])
        load = os.getloadavg()[0]
        report.add(
            Row(
                f"bronze load, one hour of {lines / 1e6:.2f} M events (duckdb engine)",
                rates["duckdb"],
                "events/s",
                peer=rates["arrow"],
                peer_name="arrow engine, 1 run",
                goal=f">= {GOAL:,} events/s",
                met=rates["duckdb"] >= GOAL,
                note=(
                    f"median of {runs}; {size / 2**20:.0f} MiB gzip landed; "
                    f"{lines / cpu:,.0f} events per CPU-second; load average {load:.1f}"
                ),
            )
        )
