"""Bronze load throughput: one busy ingest hour of landed objects into ``lake.bronze_events``,
end to end (gzip NDJSON -> typed Parquet -> Iceberg commit), in this process.

The hour is a million distinct events landed by ``clickstream generate --landing`` (cached
under the bench folder). The DuckDB engine (local landing store) is the figure; the pyarrow
engine (any store, S3 included) is its peer, on the same objects in the same run.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.lake_bench import START, _fresh_lake, _landing, generation_seconds
from bench.report import Report, Row
from lakehouse.bronze_load import Engine, load_bronze_hour
from lakehouse.catalog import open_catalog
from streaming.contracts.landing import IngestHour, bronze_objects, landing_store
from streaming.contracts.schema_registry import producer_event_types
from streaming.contracts.settings import Settings

EVENTS = 1_000_000
GOAL = 300_000


def measure(settings: Settings, engine: Engine) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (all threads) and rows of one full load of the hour."""
    catalog = open_catalog(settings)
    cpu = time.process_time()
    result = load_bronze_hour(settings, START, catalog=catalog, engine=engine, force=True)
    return result.seconds, time.process_time() - cpu, result.loaded_rows


def run(report: Report, *, runs: int = 3) -> None:
    landing_home = _landing(EVENTS, 0, hours=1)
    settings = _fresh_lake(landing_home, "bronze-hour")
    store = landing_store(settings)
    objects = bronze_objects(store, settings, IngestHour.of(START), producer_event_types())
    size = sum(item.size for item in objects)
    plan: tuple[tuple[Engine, int], ...] = (("duckdb", runs), ("arrow", 1))
    figures = {engine: [measure(settings, engine) for _ in range(count)] for engine, count in plan}
    rates = {
        engine: statistics.median(rows / wall for wall, _, rows in values)
        for engine, values in figures.items()
    }
    rows = figures["duckdb"][0][2]
    cpu = statistics.median(cpu_seconds for _, cpu_seconds, _ in figures["duckdb"])
    generated = generation_seconds(landing_home)
    report.add(
        Row(
            f"bronze load, one hour of {rows / 1e6:.2f} M distinct events (duckdb engine)",
            rates["duckdb"],
            "events/s",
            peer=rates["arrow"],
            peer_name="arrow engine, 1 run",
            goal=f">= {GOAL:,} events/s",
            met=rates["duckdb"] >= GOAL,
            runs=runs,
            note=(
                f"gzip NDJSON -> Parquet -> Iceberg commit; {len(objects)} objects, "
                f"{size / 2**20:.0f} MiB gzip; {rows / cpu:,.0f} events per CPU-second; "
                f"load average {os.getloadavg()[0]:.1f}"
                + (f"; generated in {generated / 60:.1f} min" if generated else "")
            ),
        )
    )


def main() -> None:
    report = Report("bronze load")
    run(report)
    report.print()
    path = report.write("bronze")
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
