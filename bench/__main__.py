"""``make bench``: every benchmark, one table, results under bench/results/.

``python -m bench delivery`` runs only the named benchmarks (results in ``latest-delivery.*``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    bronze_bench,
    delivery_bench,
    generator_bench,
    ingest_bench,
    lake_bench,
    realtime_bench,
)
from bench.report import Report

BENCHMARKS: dict[str, Callable[[Report], None]] = {
    "generator": generator_bench.run,
    "ingest": ingest_bench.run,
    "delivery": delivery_bench.run,
    "bronze": bronze_bench.run,
    "lake": lake_bench.run,
    "realtime": realtime_bench.run,
}


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmarks {unknown}; choose from {sorted(BENCHMARKS)}")
    chosen = names or list(BENCHMARKS)
    report = Report("clickstream benchmarks")
    for name in chosen:
        BENCHMARKS[name](report)
    report.print()
    path = report.write("latest" if not names else "latest-" + "-".join(chosen))
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main(sys.argv[1:])
