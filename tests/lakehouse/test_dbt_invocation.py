from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from lakehouse.dbt_invocation import DBT_PROJECT_DIR, dbt_environment
from lakehouse.window import EventDays, Window
from streaming.contracts.settings import Settings
from tests.dbt_show import show_inline

REBUILD_SQL = (
    "select '{{ (rebuild_days() or []) | join(' ') }}' as days, "
    "$${{ in_bronze_ingest_days('ingest_dt') | trim }}$$ as bronze"
)


def test_dbt_duckdb_gets_the_memory_limit_and_threads_of_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLICKSTREAM_DUCKDB__MEMORY_LIMIT_MB", "2048")
    monkeypatch.setenv("CLICKSTREAM_DUCKDB__THREADS", "3")
    environment = dbt_environment(Settings())
    assert environment["CLICKSTREAM_DUCKDB_MEMORY"] == "2048MiB"
    assert environment["CLICKSTREAM_DUCKDB_THREADS"] == "3"
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    local = profile["clickstream"]["outputs"]["local"]["settings"]
    assert "env_var('CLICKSTREAM_DUCKDB_MEMORY'" in local["memory_limit"]
    assert "env_var('CLICKSTREAM_DUCKDB_THREADS'" in local["threads"]


def test_a_rebuild_is_passed_in_the_environment_or_by_hand_as_vars(tmp_path: Path) -> None:
    """The project's runs pass the rebuild in the environment (dbt keeps its saved parse); by
    hand it is passed with ``--vars``: either way the models see the run's days."""
    settings = Settings(home=tmp_path)
    arrivals = EventDays((date(2026, 11, 20), date(2026, 10, 11)), (date(2026, 11, 20),))
    assert show_inline(settings, REBUILD_SQL, rebuild=arrivals) == [
        {"days": "2026-10-11 2026-11-20", "bronze": "(ingest_dt = date '2026-11-20')"}
    ]
    window = Window(date(2026, 11, 1), date(2026, 11, 3))
    by_hand = ["--vars", json.dumps(window.as_vars())]
    assert show_inline(settings, REBUILD_SQL, options=by_hand) == [
        {"days": "2026-11-01 2026-11-02 2026-11-03", "bronze": "ingest_dt >= date '2026-10-30'"}
    ]
