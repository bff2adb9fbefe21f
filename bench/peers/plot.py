"""The scaling plot: lake build time and peak memory against events, ours and PySpark.

Runs in ``bench/.venv-peers`` (matplotlib is not in the main environment)::

    python -m bench.peers.plot --data bench/results/scaling.json --out bench/results/scaling.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (
        ("ours", "ours (DuckDB + dbt + Iceberg)", "o-"),
        ("peer", "PySpark local[2]", "s--"),
    ):
        points = [row for row in rows if row.get(f"{key}_seconds") is not None]
        events = [row["events"] / 1e6 for row in points]
        time_axis.plot(events, [row[f"{key}_seconds"] for row in points], style, label=label)
        memory_axis.plot(
            events, [row[f"{key}_peak_rss"] / 2**30 for row in points], style, label=label
        )
    time_axis.set(title="lake build time", xlabel="events (millions)", ylabel="seconds")
    memory_axis.set(title="peak RSS (process tree)", xlabel="events (millions)", ylabel="GiB")
    memory_axis.axhline(4, color="grey", linestyle=":", linewidth=1, label="4 GiB goal")
    for axis in (time_axis, memory_axis):
        axis.grid(True, alpha=0.3)
        axis.legend()
        axis.set_xlim(left=0)
        axis.set_ylim(bottom=0)
    figure.suptitle(
        "lake build from landing objects (ours: bronze + silver + gold; "
        "PySpark: bronze + silver), 2 cores"
    )
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    plot(json.loads(args.data.read_text()), args.out)


if __name__ == "__main__":
    main()
