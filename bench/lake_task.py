"""Our lake build as one job, run as a subprocess by the benchmarks so it is measured exactly like
the PySpark peer (wall time, peak RSS of the process tree).

Three steps, each in a process of its own as the orchestrator runs its steps (Dagster's
multiprocess executor): every landed hour of the home's landing store into bronze (the DuckDB
load, bronze objects only, as the peer reads), the segment change log, then the full
silver+gold build (``dbt run``, local target). This process only starts them and prints one
JSON line with the timings. Usage::

    python -m bench.lake_task --home DIR [--select MODEL ...] [--bronze-only --hours ISO ...]
    python -m bench.lake_task --home DIR --step bronze|segments|build [--select ...] [--hours ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

STEPS = ("bronze", "segments", "build")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--select", nargs="*", default=None, help="dbt models (default: all)")
    parser.add_argument("--bronze-only", action="store_true", help="load bronze, build nothing")
    parser.add_argument("--hours", nargs="*", default=None, help="ingest hours (default: all)")
    parser.add_argument("--step", choices=STEPS, help="run one step in this process")
    args = parser.parse_args()
    if args.step is not None:
        print(json.dumps(_run_step(args)))
        return
    started = time.perf_counter()
    timings = _in_child(args, "bronze")
    if not args.bronze_only:
        timings |= _in_child(args, "segments")
        timings |= _in_child(args, "build")
    print(json.dumps({**timings, "total_s": time.perf_counter() - started}))


def _run_step(args: argparse.Namespace) -> dict[str, float]:
    if args.step == "bronze":
        return _bronze(args.home, args.hours)
    if args.step == "segments":
        return _segments(args.home)
    return _build(args)


def _in_child(args: argparse.Namespace, step: str) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.lake_task", "--home", str(args.home), "--step", step]
    if args.hours:
        command += ["--hours", *args.hours]
    if args.select:
        command += ["--select", *args.select]
    # the step's stderr (dbt's log, a traceback) passes through to the job's
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    timings: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return timings


def _bronze(home: Path, hours: list[str] | None) -> dict[str, float]:
    started = time.perf_counter()
    from lakehouse.bronze_load import load_bronze_hour
    from lakehouse.catalog import open_catalog
    from streaming.contracts.landing import landed_hours, landing_store
    from streaming.contracts.settings import Settings

    settings = Settings(home=home)
    catalog = open_catalog(settings)
    store = landing_store(settings)
    imports_s = time.perf_counter() - started
    step = time.perf_counter()
    rows = 0
    for hour in (
        [datetime.fromisoformat(hour) for hour in hours] if hours else landed_hours(settings, store)
    ):
        rows += load_bronze_hour(settings, hour, catalog=catalog, store=store).loaded_rows
    return {"bronze_rows": rows, "imports_s": imports_s, "bronze_s": time.perf_counter() - step}


def _segments(home: Path) -> dict[str, float]:
    started = time.perf_counter()
    from lakehouse.reference_load import load_segment_changes
    from streaming.contracts.settings import Settings

    load_segment_changes(Settings(home=home))
    return {"segments_s": time.perf_counter() - started}


def _build(args: argparse.Namespace) -> dict[str, float]:
    from lakehouse.build import build_lake
    from streaming.contracts.settings import Settings

    step = time.perf_counter()
    build_lake(
        Settings(home=args.home),
        select=" ".join(args.select) if args.select else None,
        run_tests=False,
        capture=True,
        segment_changes=False,
    )
    return {"build_s": time.perf_counter() - step}


if __name__ == "__main__":
    main()
