from __future__ import annotations

import pytest
import yaml

from lakehouse.dbt_invocation import DBT_PROJECT_DIR, dbt_environment
from streaming.contracts.settings import Settings


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
