"""``make bench``: our pipeline against its peers, one table, results under bench/results/.

* ``python -m bench`` (``make bench``, a few minutes): the quick set, written to ``latest.*``;
* ``python -m bench --full`` (``make bench-full``): the scaling runs too (1 M / 10 M / 30 M
  events, hourly increments, ordinary and late, with 1, 7 and 40 days of history), written to
  ``full.*`` with the plot ``scaling.png``;
* ``python -m bench delivery`` runs only the named benchmarks (results in ``latest-delivery.*``);
  ``python -m bench ingest-slowloris`` measures slow clients against the ingest.

The peers (PySpark, pandas) run in ``bench/.venv-peers``, which ``make bench`` installs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial

from bench import (
    alert_bench,
    bronze_bench,
    dashboard_bench,
    delivery_bench,
    generator_bench,
    ingest_bench,
    lake_bench,
    landing_bench,
    latency_bench,
    peer_bench,
    realtime_bench,
    slowloris_bench,
    stream_bench,
)
from bench.report import Report


def _scaling(report: Report) -> None:
    peer_bench.run_scaling(report)
    from bench import plot

    plot.plot_scaling()


# A benchmark records its rows in the report; what it returns is not used here.
BENCHMARKS: dict[str, Callable[[Report], object]] = {
    "ingest-core": partial(ingest_bench.run, http=False),
    "landing": landing_bench.run,
    "lake-peer": peer_bench.run,
    "latency": latency_bench.run,
    "realtime": realtime_bench.run,
    "alerts": alert_bench.run,
    "ingest": ingest_bench.run,
    "generator": generator_bench.run,
    "delivery": delivery_bench.run,
    "bronze": bronze_bench.run,
    "lake": lake_bench.run,
    "scaling": _scaling,
    "lake-10m": partial(peer_bench.run_scaling, sizes=(10_000_000,)),
    "lake-30m": partial(peer_bench.run_scaling, sizes=(30_000_000,)),
    "increments": lake_bench.run_increments,
    "increments-quick": lake_bench.run_increments_quick,
    "ingest-slowloris": slowloris_bench.run,
    "stream": stream_bench.run,
    "dashboards": dashboard_bench.run,
}
QUICK = (
    "ingest",
    "bronze",
    "landing",
    "lake-peer",
    "latency",
    "realtime",
    "alerts",
    "stream",
    "increments-quick",
    "dashboards",
)
FULL = (
    "ingest",
    "bronze",
    "landing",
    "scaling",
    "increments",
    "latency",
    "realtime",
    "alerts",
    "stream",
    "dashboards",
)


def main(arguments: list[str]) -> None:
    full = "--full" in arguments
    names = [name for name in arguments if name != "--full"]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        raise SystemExit(f"unknown benchmarks {unknown}; choose from {sorted(BENCHMARKS)}")
    chosen = names or list(FULL if full else QUICK)
    command = "make bench-full" if full else "make bench"
    if names:
        command = "python -m bench " + " ".join(arguments)
    report = Report("clickstream benchmarks: ours against the peers", command=command)
    started = time.perf_counter()
    for name in chosen:
        print(f"--- {name} ...", flush=True)
        BENCHMARKS[name](report)
    report.duration_s = time.perf_counter() - started
    report.print()
    name = "latest-" + "-".join(chosen) if names else ("full" if full else "latest")
    path = report.write(name)
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main(sys.argv[1:])
