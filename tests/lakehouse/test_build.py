"""What a build loads before dbt runs: the segment change log, unless its own step loads it (as
the orchestrator does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from lakehouse import build
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.reference_load import land_segment_feed
from streaming.contracts.landing import landing_store
from streaming.contracts.settings import Settings

FEED = orjson.dumps(
    {
        "user_id_hash": "u1",
        "segment_key": "newsletter",
        "action": "enter",
        "as_of_ts": "2026-09-28T00:00:00Z",
    }
)


@pytest.fixture
def dbt_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """dbt's invocations, recorded instead of run: these tests are about what comes before."""
    calls: list[list[str]] = []

    def record(_settings: Settings, args: list[str], **_options: Any) -> None:
        calls.append(list(args))

    monkeypatch.setattr(build, "run_dbt", record)
    return calls


def _segment_changes(settings: Settings) -> int | None:
    catalog = open_catalog(settings)
    if not catalog.table_exists("lake.user_segment_changes"):
        return None
    return catalog.load_table("lake.user_segment_changes").scan().to_arrow().num_rows


def test_a_build_loads_the_segment_change_log_before_dbt_runs(
    tmp_path: Path, dbt_calls: list[list[str]]
) -> None:
    settings = Settings(home=tmp_path)
    land_segment_feed(landing_store(settings), "feed.jsonl", FEED)
    result = build_lake(settings, select="silver_user_segments", run_tests=False)
    assert result.segment_changes == 1 == _segment_changes(settings)
    assert dbt_calls == [["run", "--select", "silver_user_segments"]]


def test_a_build_whose_change_log_has_a_step_of_its_own_leaves_it_alone(
    tmp_path: Path, dbt_calls: list[list[str]]
) -> None:
    settings = Settings(home=tmp_path)
    land_segment_feed(landing_store(settings), "feed.jsonl", FEED)
    result = build_lake(
        settings, select="silver_user_segments", run_tests=False, segment_changes=False
    )
    assert result.segment_changes is None
    assert _segment_changes(settings) is None
    assert dbt_calls == [["run", "--select", "silver_user_segments"]]
