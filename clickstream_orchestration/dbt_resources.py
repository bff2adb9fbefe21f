"""dbt as Dagster sees it: the one cached project per target, its manifest (parsed when it is
stale) and the resource that runs ``lakehouse.dbt_invocation``'s command inside a run.

Definitions need ``manifest.json`` to exist when they load. ``dagster dev`` would parse only
under its own flag, and a fresh clone has none, so the manifest is (re)built here whenever a
model, macro or project file is newer than it (about 6 s; a no-op otherwise). Processes that
load the definitions at once (the UI's code server and a run, parallel test workers) take a lock
first, so none reads a manifest another is writing.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from lakehouse.dbt_invocation import (
    DBT_PROJECT_DIR,
    dbt_command,
    dbt_environment,
    dbt_executable,
    dbt_target,
)
from streaming.contracts.settings import Settings

PARTIAL_PARSE = "partial_parse.msgpack"
_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests", "snapshots")


def dagster_dbt_project(settings: Settings) -> DbtProject:
    """The dbt project of the settings' target as dagster-dbt reads it (one per target)."""
    return _project_for(dbt_target(settings))


@functools.cache
def _project_for(target: str) -> DbtProject:
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target,
        target_path=Path("target") / target,
    )


class LakeDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs each ``cli`` call paid before dbt started (5.6 s
    of a 38 s run on a small lake): ``dbt --version`` in a subprocess, about 3 s, though the
    executable is this environment's and its version the installed dbt-core's; and a dbt
    adapter with the project's macros loaded, about 1.2 s a call, which only the column
    metadata reads (``column_metadata``, the lakehouse resource's ``column_lineage``)."""

    column_metadata: bool = False

    @functools.cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        if not self.column_metadata:
            return None
        return super()._initialize_dbt_core_adapter(args)


def keep_parse(settings: Settings, invocation_target: Path) -> None:
    """Keeps the parse a finished dbt command saved as the home's (in ``DBT_TARGET_PATH``),
    which dagster-dbt copies into every next command's target folder: dbt then hashes the
    project's files, finds nothing changed and skips parsing, about 3 s a command. dbt takes a
    saved parse only for the profile it was made with (the home's DuckDB file) and the same
    ``--vars``, which is why runs pass their event days in the environment."""
    saved = invocation_target / PARTIAL_PARSE
    if not saved.exists():
        return
    kept = settings.dbt_target_dir / PARTIAL_PARSE
    kept.parent.mkdir(parents=True, exist_ok=True)
    copying = kept.with_name(f"{PARTIAL_PARSE}.{os.getpid()}")
    shutil.copyfile(saved, copying)
    copying.replace(kept)


def dbt_resource(settings: Settings, *, column_metadata: bool = False) -> DbtCliResource:
    project = dagster_dbt_project(settings)
    return LakeDbtCliResource(
        project_dir=str(project.project_dir),
        profiles_dir=str(project.profiles_dir),
        target=project.target,
        dbt_executable=str(dbt_executable()),
        column_metadata=column_metadata,
    )


def ensure_manifest(settings: Settings) -> Path:
    project = dagster_dbt_project(settings)
    manifest = project.manifest_path
    if _is_fresh(manifest):
        return manifest
    targets = manifest.parent.parent
    targets.mkdir(parents=True, exist_ok=True)
    with (targets / f"{project.target}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_fresh(manifest):
            _parse(settings, project)
    return manifest


def _is_fresh(manifest: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source()


def _parse(settings: Settings, project: DbtProject) -> None:
    """Parses into a working directory, then moves the manifest into place in one rename."""
    parsing = project.manifest_path.parent.with_name(f"{project.target}.parsing")
    manifest = parsing / "manifest.json"
    environment = os.environ | dbt_environment(settings)
    environment["DBT_TARGET_PATH"] = str(parsing)
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
    project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest.replace(project.manifest_path)


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
