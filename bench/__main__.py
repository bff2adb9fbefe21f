"""``make bench``: every benchmark, one table, results under bench/results/."""

from __future__ import annotations

from bench import generator_bench, ingest_bench
from bench.report import Report


def main() -> None:
    report = Report("clickstream benchmarks")
    generator_bench.run(report)
    ingest_bench.run(report)
    report.print()
    path = report.write("latest")
    print(f"results written to {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
