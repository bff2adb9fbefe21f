"""Inline SQL rendered by dbt with the project's macros and run on the local target: what a
macro computes, without building a model."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from typing import Any

from lakehouse.dbt_invocation import DBT_PROJECT_DIR, dbt_command, dbt_environment
from lakehouse.window import Rebuild
from streaming.contracts.settings import Settings


def show_inline(
    settings: Settings,
    sql: str,
    *,
    limit: int = 500,
    rebuild: Rebuild | None = None,
    options: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The rows of ``sql`` (Jinja allowed), as dbt's ``show --output json`` gives them, for a
    run that rebuilds ``rebuild`` (the project's way of passing it) with more dbt ``options``."""
    show = ["show", "--inline", sql, "--limit", str(limit), "--output", "json", "-q", *options]
    result = subprocess.run(
        dbt_command(show),
        cwd=DBT_PROJECT_DIR,
        env=os.environ | dbt_environment(settings, rebuild),
        text=True,
        capture_output=True,
        check=True,
    )
    rows: list[dict[str, Any]] = json.loads(result.stdout)["show"]
    return rows
