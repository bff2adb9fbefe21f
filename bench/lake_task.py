"""Our lake build as one job, run as a subprocess by the benchmarks so it is measured exactly like
the PySpark peer (wall time, peak RSS of the process tree).

Every landed hour of the home's landing store into bronze (the DuckDB load, bronze objects only,
as the peer reads), in a child process as the orchestrator runs it apart from dbt; then the full
silver+gold build (``dbt run``, local target). Prints one JSON line with the timings. Usage::

    python -m bench.lake_task --home DIR [--select MODEL ...] [--bronze-only --hours ISO ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--select", nargs="*", default=None, help="dbt models (default: all)")
    parser.add_argument("--bronze-only", action="store_true", help="load bronze, build nothing")
    parser.add_argument("--hours", nargs="*", default=None, help="ingest hours (default: all)")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.bronze_only:
        rows, timings = _load_bronze(args.home, args.hours, started)
        print(
            json.dumps({"bronze_rows": rows, **timings, "total_s": time.perf_counter() - started})
        )
        return
    bronze = _bronze_in_child(args.home, args.hours)
    from lakehouse.build import build_lake
    from streaming.contracts.settings import Settings

    step = time.perf_counter()
    build_lake(
        Settings(home=args.home),
        select=" ".join(args.select) if args.select else None,
        run_tests=False,
        capture=True,
    )
    timings = {
        "imports_s": bronze["imports_s"],
        "bronze_s": bronze["bronze_s"],
        "build_s": time.perf_counter() - step,
        "total_s": time.perf_counter() - started,
    }
    print(json.dumps({"bronze_rows": int(bronze["bronze_rows"]), **timings}))


def _bronze_in_child(home: Path, hours: list[str] | None) -> dict[str, float]:
    """The bronze load in a process of its own, as the orchestrator runs it apart from dbt:
    what the load held is given back before dbt starts."""
    command = [sys.executable, "-m", "bench.lake_task", "--home", str(home), "--bronze-only"]
    if hours:
        command += ["--hours", *hours]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    timings: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return timings


def _load_bronze(
    home: Path, hours: list[str] | None, started: float
) -> tuple[int, dict[str, float]]:
    from lakehouse.bronze_load import load_bronze_hour
    from lakehouse.catalog import open_catalog
    from streaming.contracts.landing import landed_hours, landing_store
    from streaming.contracts.settings import Settings

    settings = Settings(home=home)
    catalog = open_catalog(settings)
    store = landing_store(settings)
    timings = {"imports_s": time.perf_counter() - started}
    step = time.perf_counter()
    chosen = (
        [datetime.fromisoformat(hour) for hour in hours] if hours else landed_hours(settings, store)
    )
    rows = 0
    for hour in chosen:
        rows += load_bronze_hour(settings, hour, catalog=catalog, store=store).loaded_rows
    timings["bronze_s"] = time.perf_counter() - step
    return rows, timings


if __name__ == "__main__":
    main()
