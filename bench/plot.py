"""Draws ``bench/results/scaling.png`` from ``scaling.json`` with the peers' matplotlib."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.report import PEERS_PYTHON, RESULTS_DIR

REPO = Path(__file__).resolve().parents[1]


def plot_scaling() -> Path:
    out = RESULTS_DIR / "scaling.png"
    command = [str(PEERS_PYTHON), "-m", "bench.peers.plot"]
    command += ["--data", str(RESULTS_DIR / "scaling.json"), "--out", str(out)]
    subprocess.run(command, cwd=REPO, check=True)
    return out
