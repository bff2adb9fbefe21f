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
from typing import TypedDict

import orjson
from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).parent / "results"
VERSIONED = (
    "duckdb",
    "pyiceberg",
    "dbt-core",
    "dbt-duckdb",
    "dagster",
    "pandas",
    "pyarrow",
    "jsonschema",
    "jsonschema-rs",
    "orjson",
)


@dataclass
class Row:
    """One figure. ``ratio`` is ours/peer, or peer/ours for figures where less is better
    (``lower_is_better``: seconds, bytes), so a ratio above 1 always favours ours, except growth
    rows (``growth``: ours/peer of the same pipeline, e.g. 30 days of history vs 1).

    ``equal`` is the output comparison of a peer row: a row whose outputs differ (False) shows no
    ratio and does not meet its goal."""

    figure: str
    ours: float | None
    unit: str
    peer: float | None = None
    peer_name: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""
    runs: int | None = None
    lower_is_better: bool = False
    equal: bool | None = None
    """True when the outputs were compared and equal; None when nothing is compared."""

    def __post_init__(self) -> None:
        if self.equal is False:
            self.met = False

    @property
    def ratio(self) -> float | None:
        if self.equal is False or not self.peer or not self.ours:
            return None
        return self.peer / self.ours if self.lower_is_better else self.ours / self.peer

    @property
    def ratio_text(self) -> str:
        if self.equal is False:
            return "outputs differ"
        ratio = self.ratio
        if ratio is None:
            return ""
        return f"{ratio:,.2f}x" + (" (peer/ours)" if self.lower_is_better else "")

    @property
    def ours_text(self) -> str:
        return "n/a" if self.ours is None else f"{self.ours:,.2f} {self.unit}"

    @property
    def peer_text(self) -> str:
        return f"{self.peer:,.2f} ({self.peer_name})" if self.peer is not None else ""

    @property
    def met_text(self) -> str:
        return {True: "met", False: "NOT met", None: ""}[self.met]


COLUMNS = ("figure", "ours", "peer", "ratio", "goal", "met", "runs", "note")


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.figure,
        row.ours_text,
        row.peer_text,
        row.ratio_text,
        row.goal,
        row.met_text,
        "" if row.runs is None else str(row.runs),
        row.note,
    )


@dataclass
class Report:
    title: str
    rows: list[Row] = field(default_factory=list)
    command: str = ""
    duration_s: float | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def print(self, console: Console | None = None) -> None:
        table = Table(title=self.title)
        for column in COLUMNS:
            table.add_column(
                column, justify="left" if column in ("figure", "goal", "note") else "right"
            )
        for row in self.rows:
            table.add_row(*cells(row))
        (console or Console(width=160)).print(table)

    def write(self, name: str) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        environment = machine()
        document = {
            "title": self.title,
            "environment": environment,
            "rows": [asdict(row) | {"ratio": row.ratio} for row in self.rows],
            "command": self.command,
            "duration_s": self.duration_s,
        }
        json_path = RESULTS_DIR / f"{name}.json"
        json_path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
        lines = [
            f"# {self.title}",
            "",
            f"{environment['date']} on {environment['cpu']} ({environment['cores']} cores), "
            f"Python {environment['python']}, commit {environment['commit']}"
            + (f"; `{self.command}`" if self.command else "")
            + (f" took {self.duration_s / 60:.1f} min" if self.duration_s else "")
            + ".",
            "",
            "Versions: "
            + ", ".join(f"{name} {version}" for name, version in environment["versions"].items())
            + ".",
            "",
            "A ratio above 1 favours ours: ours/peer for rates, peer/ours for times and memory; "
            "growth rows compare our own runs. Runs: how many runs the median is of.",
            "",
            "| " + " | ".join(COLUMNS) + " |",
            "|" + "---|" * len(COLUMNS),
        ]
        for row in self.rows:
            lines.append("| " + " | ".join(cells(row)) + " |")
        (RESULTS_DIR / f"{name}.md").write_text("\n".join(lines) + "\n")
        return json_path


class Machine(TypedDict):
    """Where and with what a benchmark ran."""

    date: str
    cpu: str
    cores: int
    python: str
    commit: str
    versions: dict[str, str]


def machine() -> Machine:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions |= peer_versions() | {"java": java_version()}
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


PEERS_PYTHON = Path(__file__).parent / ".venv-peers" / "bin" / "python"


def peer_versions() -> dict[str, str]:
    """Versions in the peers' environment (pyspark is not installed in ours)."""
    if not PEERS_PYTHON.exists():
        return {}
    script = (
        "from importlib import metadata\n"
        "for name in ('pyspark', 'pandas', 'pyarrow', 'matplotlib'):\n"
        "    print(name, metadata.version(name))\n"
    )
    result = subprocess.run(
        [str(PEERS_PYTHON), "-c", script], capture_output=True, text=True, check=False
    )
    found = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    return {f"{name} (peers)": version for name, version in found.items()}


def java_version() -> str:
    try:
        result = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return "not installed"
    first = (result.stderr or result.stdout).splitlines()[:1]
    return first[0].split('"')[1] if first and '"' in first[0] else "unknown"


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))
