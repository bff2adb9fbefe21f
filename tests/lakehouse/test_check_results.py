"""``lake.check_results``: one row per check evaluation, a run's rows replaced when it is
recorded again, the detail size-capped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lakehouse.catalog import open_catalog
from lakehouse.check_results import DETAIL_CHARS, CheckResult, record_check_results
from lakehouse.tables import CHECK_RESULTS_SCHEMA
from streaming.contracts.settings import Settings

EVALUATED = datetime(2026, 11, 2, 23, 59, 30, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def _rows(settings: Settings) -> list[dict[str, object]]:
    table = open_catalog(settings).load_table("lake.check_results").scan().to_arrow()
    return sorted(table.to_pylist(), key=lambda row: (str(row["run_id"]), str(row["check_name"])))


def _results(passed: bool = True) -> list[CheckResult]:
    return [
        CheckResult(
            evaluated_at=EVALUATED,
            asset_key="gold/fact_funnel",
            check_name="fact_funnel_expectations",
            passed=passed,
            severity="ERROR",
            blocking=True,
            partition="2026-11-01...2026-11-02",
            detail="12/12 expectations met on 1,200 rows",
        ),
        CheckResult(
            evaluated_at=datetime(2026, 11, 3, 0, 0, 1),
            asset_key="silver/silver_sessions",
            check_name="sessions_count_every_event",
            passed=False,
            severity="WARN",
        ),
    ]


def test_a_runs_results_are_appended_in_one_commit(settings: Settings) -> None:
    assert record_check_results(settings, "run-1", "lake_refresh", _results()) == 2
    table = open_catalog(settings).load_table("lake.check_results")
    assert len(table.snapshots()) == 1
    assert table.schema().column_names == CHECK_RESULTS_SCHEMA.names
    assert [field.name for field in table.spec().fields] == ["evaluated_dt"]
    gate, warning = _rows(settings)
    assert gate == {
        "evaluated_at": datetime(2026, 11, 2, 23, 59, 30),
        "evaluated_dt": date(2026, 11, 2),
        "run_id": "run-1",
        "job_name": "lake_refresh",
        "asset_key": "gold/fact_funnel",
        "check_name": "fact_funnel_expectations",
        "passed": True,
        "severity": "ERROR",
        "blocking": True,
        "partition": "2026-11-01...2026-11-02",
        "detail": "12/12 expectations met on 1,200 rows",
    }
    assert warning["evaluated_dt"] == date(2026, 11, 3)
    assert (warning["passed"], warning["blocking"], warning["partition"], warning["detail"]) == (
        False,
        None,
        None,
        None,
    )


def test_recording_a_run_again_replaces_its_rows_only(settings: Settings) -> None:
    record_check_results(settings, "run-1", "lake_refresh", _results())
    record_check_results(settings, "run-2", "bronze_load", _results()[:1])
    record_check_results(settings, "run-1", "lake_refresh", _results(passed=False))
    rows = _rows(settings)
    assert [(row["run_id"], row["check_name"], row["passed"]) for row in rows] == [
        ("run-1", "fact_funnel_expectations", False),
        ("run-1", "sessions_count_every_event", False),
        ("run-2", "fact_funnel_expectations", True),
    ]


def test_a_run_without_checks_writes_nothing(settings: Settings) -> None:
    assert record_check_results(settings, "run-1", "privacy_erase", []) == 0
    assert ("lake", "check_results") not in open_catalog(settings).list_tables("lake")


def test_the_detail_is_size_capped(settings: Settings) -> None:
    failed = CheckResult(
        EVALUATED,
        "bronze/bronze_events",
        "bronze_expectations",
        passed=False,
        severity="ERROR",
        detail="failed: " + "x" * 5000,
    )
    record_check_results(settings, "run-1", "bronze_load", [failed])
    [row] = _rows(settings)
    assert isinstance(row["detail"], str)
    assert len(row["detail"]) == DETAIL_CHARS
    assert row["detail"].endswith("…")
