"""One results table: printed, and written as JSON and Markdown under bench/results/."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).parent / "results"
VERSIONED = ("duckdb", "pyiceberg", "dbt-core", "dagster", "jsonschema-rs", "orjson")


@dataclass
class Row:
    figure: str
    ours: float
    unit: str
    peer: float | None = None
    peer_name: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.ours / self.peer if self.peer else None


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def print(self, console: Console | None = None) -> None:
        table = Table(title=self.title)
        for column in ("figure", "ours", "peer", "ratio", "goal", "met", "note"):
            table.add_column(
                column, justify="left" if column in ("figure", "goal", "note") else "right"
            )
        for row in self.rows:
            table.add_row(
                row.figure,
                f"{row.ours:,.2f} {row.unit}",
                f"{row.peer:,.2f} ({row.peer_name})" if row.peer is not None else "",
                f"{row.ratio:,.2f}x" if row.ratio is not None else "",
                row.goal,
                {True: "yes", False: "NO", None: ""}[row.met],
                row.note,
            )
        (console or Console(width=160)).print(table)

    def write(self, name: str) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        environment = machine()
        document = {
            "title": self.title,
            "environment": environment,
            "rows": [asdict(row) | {"ratio": row.ratio} for row in self.rows],
        }
        json_path = RESULTS_DIR / f"{name}.json"
        json_path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        lines = [
            f"# {self.title}",
            "",
            f"{environment['date']} on {environment['cpu']} ({environment['cores']} cores), "
            f"Python {environment['python']}.",
            "",
            "| figure | ours | peer | ratio | goal | met | note |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            peer = f"{row.peer:,.2f} ({row.peer_name})" if row.peer is not None else ""
            ratio = f"{row.ratio:,.2f}x" if row.ratio is not None else ""
            met = {True: "yes", False: "no", None: ""}[row.met]
            lines.append(
                f"| {row.figure} | {row.ours:,.2f} {row.unit} | {peer} | {ratio} | {row.goal} "
                f"| {met} | {row.note} |"
            )
        (RESULTS_DIR / f"{name}.md").write_text("\n".join(lines) + "\n")
        return json_path


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "commit": commit,
        "versions": versions,
    }


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))
