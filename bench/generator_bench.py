"""Traffic generator throughput: what a user gets from ``clickstream generate --out FILE``."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.report import Report, Row, median_of

CLI = [sys.executable, "-m", "clickstream_cli.main"]
START = "2026-11-01"


def _generate(events: int, workers: int, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB, largest process) of one generator run."""
    command = [
        *CLI,
        "generate",
        "--events",
        str(events),
        "--seed",
        "7",
        "--start",
        START,
        "--workers",
        str(workers),
        "--out",
        str(out),
        "--quiet",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"generator failed: {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def _rate(workers: int, out: Path) -> float:
    """Events per second of one generator run of 1 M events."""
    return 1_000_000 / _generate(1_000_000, workers, out)[0]


def run(report: Report, *, full_events: int = 10_000_000, runs: int = 3) -> None:
    with tempfile.TemporaryDirectory(prefix="clickstream-bench-") as scratch:
        out = Path(scratch) / "events.jsonl"
        per_worker = {workers: median_of(runs, partial(_rate, workers, out)) for workers in (1, 2)}
        report.add(
            Row(
                "generator, 1 M events, 2 workers",
                per_worker[2],
                "events/s",
                peer=per_worker[1],
                peer_name="1 worker",
            )
        )
        seconds, rss = _generate(full_events, 2, out)
        size_gib = out.stat().st_size / 2**30
        out.unlink()
        report.add(
            Row(
                f"generator, {full_events / 1e6:.0f} M events to a file",
                seconds,
                "s",
                goal="< 120 s",
                met=seconds < 120,
                note=f"{size_gib:.1f} GiB written, peak RSS {rss:.0f} MiB",
            )
        )
        report.add(Row("generator peak RSS (largest process)", rss, "MiB"))
