"""The local home: the one directory every piece of local state lives under."""

from __future__ import annotations

import os

from streaming.settings import Settings

_DAGSTER_INSTANCE = """\
# Written by clickstream: instance settings for the local Dagster home.
telemetry:
  enabled: false
"""


def prepare_home(settings: Settings) -> None:
    """Create the home layout and point every tool at it (telemetry off, nothing in ~)."""
    directories = [settings.home, settings.dagster_home, settings.dbt_state_dir, settings.log_dir]
    if settings.env == "local":
        directories += [settings.landing_dir, settings.warehouse_dir]
    for directory in directories:
        directory.mkdir(parents=True, exist_ok=True)
    instance = settings.dagster_home / "dagster.yaml"
    if not instance.exists():
        instance.write_text(_DAGSTER_INSTANCE)
    for name, value in settings.process_environment().items():
        os.environ.setdefault(name, value)
