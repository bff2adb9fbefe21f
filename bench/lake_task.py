"""Our lake build as one job, run as a subprocess by the benchmarks so it is measured exactly like
the PySpark peer (wall time, peak RSS of the process tree).

Every landed hour of the home's landing store into bronze (the DuckDB load, bronze objects only,
as the peer reads), then the full silver+gold build (``dbt run``, local target). Prints one JSON
line with the timings. Usage::

    python -m bench.lake_task --home DIR [--select MODEL ...] [--bronze-only --hours ISO ...]
"""

from __future__ import annotations

import argparse
import json
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

    from lakehouse.bronze_load import load_bronze_hour
    from lakehouse.build import build_lake
    from lakehouse.catalog import open_catalog
    from streaming.contracts.landing import landed_hours, landing_store
    from streaming.contracts.settings import Settings

    settings = Settings(home=args.home)
    catalog = open_catalog(settings)
    store = landing_store(settings)
    timings = {"imports_s": time.perf_counter() - started}
    step = time.perf_counter()
    rows = 0
    hours = (
        [datetime.fromisoformat(hour) for hour in args.hours]
        if args.hours
        else landed_hours(settings, store)
    )
    for hour in hours:
        rows += load_bronze_hour(settings, hour, catalog=catalog, store=store).loaded_rows
    timings["bronze_s"] = time.perf_counter() - step
    if args.bronze_only:
        print(
            json.dumps({"bronze_rows": rows, **timings, "total_s": time.perf_counter() - started})
        )
        return
    step = time.perf_counter()
    build_lake(
        settings,
        select=" ".join(args.select) if args.select else None,
        run_tests=False,
        capture=True,
    )
    timings["build_s"] = time.perf_counter() - step
    timings["total_s"] = time.perf_counter() - started
    print(json.dumps({"bronze_rows": rows, **timings}))


if __name__ == "__main__":
    main()
