"""The local home: the one directory every piece of local state lives under."""

from __future__ import annotations

import os

from streaming.contracts.settings import Settings

_HEADER = "# Written by clickstream: instance settings for the local Dagster home."
# Runs queue; at most one at a time per value of the `clickstream/writes` tag (one bronze
# load, one dbt-built refresh), so no two runs write the same tables. Runs tagged
# `dagster/max_retries` are retried (the bronze loads and the segments).
_DAGSTER_INSTANCE = f"""\
{_HEADER}
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      - key: clickstream/writes
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_retries:
  enabled: true
  max_retries: 0
"""


def prepare_home(settings: Settings) -> None:
    """Create the home layout and point every tool at it (telemetry off, nothing in ~)."""
    directories = [settings.home, settings.dagster_home, settings.dbt_state_dir, settings.log_dir]
    if settings.env == "local":
        directories += [settings.landing_dir, settings.warehouse_dir]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    instance = settings.dagster_home / "dagster.yaml"
    if not instance.exists() or _written_by_us_and_outdated(instance.read_text()):
        instance.write_text(_DAGSTER_INSTANCE)
    for name, value in settings.process_environment().items():
        os.environ.setdefault(name, value)


def _written_by_us_and_outdated(text: str) -> bool:
    """An instance file this project wrote earlier (a user's own file is left alone)."""
    return text.startswith(_HEADER) and text != _DAGSTER_INSTANCE
