"""The dbt project as Dagster sees it: one manifest per target, parsed when it is stale.

Definitions need ``manifest.json`` to exist when they load. ``dagster dev`` would parse only
under its own flag, and a fresh clone has none, so the manifest is (re)built here whenever a
model, macro or project file is newer than it (about 6 s; a no-op otherwise).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from lakehouse.dbt_invocation import (
    DBT_PROJECT_DIR,
    dbt_command,
    dbt_environment,
    dbt_target,
)
from streaming.contracts.settings import Settings

_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots")


def dbt_project(settings: Settings) -> DbtProject:
    target = dbt_target(settings)
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target,
        target_path=Path("target") / target,
    )


def ensure_manifest(settings: Settings) -> Path:
    project = dbt_project(settings)
    manifest = project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source():
        return manifest
    environment = os.environ | dbt_environment(settings)
    environment["DBT_TARGET_PATH"] = str(project.target_path)
    result = subprocess.run(
        [*dbt_command(["parse"]), "--quiet"],
        cwd=DBT_PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not manifest.exists():
        raise RuntimeError(f"dbt parse failed for target {project.target}:\n{result.stdout}")
    return manifest


def max_lateness_days() -> int:
    """How many days after its event date an event may still arrive (a dbt project var)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return int(project["vars"]["max_lateness_days"])


def _newest_source() -> float:
    newest = 0.0
    for name in _SOURCES:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for item in path.rglob("*"):
                if item.is_file():
                    newest = max(newest, item.stat().st_mtime)
    return newest
