"""``clickstream dev``: the Dagster UI on the local default."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer


def dev(
    port: Annotated[int, typer.Option(help="Port of the Dagster UI (bound to 127.0.0.1).")] = 3000,
) -> None:
    """Serve the Dagster UI with sensors and schedules, state kept under the local home."""
    dagster = Path(sys.executable).with_name("dagster")
    workspace = Path.cwd() / "workspace.yaml"
    if not workspace.exists():
        raise typer.BadParameter(f"run from the project root: {workspace} not found")
    os.execv(
        dagster,
        [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p", str(port)],
    )
