"""The athena target without AWS: every model and test compiles against a local AWS endpoint
(STS/Glue answered by moto) and every compiled statement parses as Athena (Trino) SQL."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlglot
from moto.server import ThreadedMotoServer

from lakehouse.dbt_invocation import DBT_PROJECT_DIR, dbt_command, dbt_environment
from lakehouse.window import EventDays, Rebuild, Window
from streaming.contracts.settings import Settings

MODELS = {
    "silver_events",
    "silver_sessions",
    "silver_user_segments",
    "fact_funnel",
    "fact_affiliate_clicks",
    "fact_attribution",
    "agg_attribution_daily",
    "fact_clicks",
    "dim_users",
    "dim_pages",
    "dim_date",
    "agg_engagement_daily",
    "agg_events_hourly",
    "agg_pages_daily",
    "retention_weekly",
}
# Small tables rebuilt whole on every run (seed 002: dimensions are not partitioned).
UNPARTITIONED = {"dim_users", "dim_pages", "dim_date", "retention_weekly"}
DUCKDB_ONLY = ("list_filter", "list_sort", "strftime(", "lambda ", "::")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _compile(aws_endpoint: str, home: Path, rebuild: Rebuild) -> Path:
    settings = Settings(home=home, env="aws", aws_account_id="123456789012")
    target = home / "target"
    environment = os.environ | dbt_environment(settings, rebuild)
    environment |= {
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(home / "logs"),
    }
    result = subprocess.run(
        dbt_command(["compile", "--target", "athena"]),
        cwd=DBT_PROJECT_DIR,
        env=environment,
        text=True,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return target / "compiled" / "clickstream"


@pytest.fixture(scope="module")
def compiled(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    window = Window(date(2026, 11, 2), date(2026, 11, 3))
    return _compile(aws_endpoint, tmp_path_factory.mktemp("athena-home"), window)


def test_every_model_compiles_for_athena(compiled: Path) -> None:
    models = {path.stem for path in (compiled / "models").rglob("*.sql")}
    assert models >= MODELS


def test_every_compiled_statement_parses_as_athena_sql(compiled: Path) -> None:
    statements = sorted(compiled.rglob("*.sql"))
    assert len(statements) > len(MODELS)  # models and data tests
    failures = []
    for path in statements:
        sql = path.read_text()
        for dialect in ("athena", "trino"):
            try:
                parsed = sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
            except sqlglot.errors.ParseError as error:
                failures.append(f"{path.name} ({dialect}): {error}")
                continue
            assert all(statement is not None for statement in parsed), path.name
    assert not failures, "\n".join(failures)


def test_no_duckdb_dialect_leaks_into_athena_sql(compiled: Path) -> None:
    for path in (compiled / "models").rglob("*.sql"):
        sql = path.read_text()
        leaked = [token for token in DUCKDB_ONLY if token in sql]
        assert not leaked, f"{path.name} uses DuckDB-only syntax {leaked}"


def test_window_reaches_the_athena_sql(compiled: Path) -> None:
    silver_events = next((compiled / "models").rglob("silver_events.sql")).read_text()
    # the window's event days, from every ingest day that can hold them (no lateness limit)
    assert "cast(ts as date) between date '2026-11-02' and date '2026-11-03'" in silver_events
    assert "ingest_dt >= date '2026-10-31'" in silver_events
    assert "timestamp(6)" in silver_events


def test_attribution_rebuilds_the_days_a_window_can_re_credit(compiled: Path) -> None:
    attribution = next((compiled / "models").rglob("fact_attribution.sql")).read_text()
    # conversions up to the lookback (30 days) after the window, touches a lookback before them
    assert "event_dt between date '2026-10-03' and date '2026-12-03'" in attribution
    assert "event_dt between date '2026-09-02' and date '2027-01-03'" in attribution
    assert "date_diff('millisecond', " in attribution


def test_arrival_days_reach_the_athena_sql(
    aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    days = EventDays(
        event_days=(date(2026, 10, 11), date(2026, 11, 19), date(2026, 11, 20)),
        ingest_days=(date(2026, 10, 11), date(2026, 10, 12), date(2026, 11, 20)),
    )
    compiled = _compile(aws_endpoint, tmp_path_factory.mktemp("athena-arrivals"), days)
    silver_events = next((compiled / "models").rglob("silver_events.sql")).read_text()
    assert (
        "(cast(ts as date) = date '2026-10-11' or "
        "cast(ts as date) between date '2026-11-19' and date '2026-11-20')"
    ) in silver_events
    assert "ingest_dt between date '2026-10-11' and date '2026-10-12'" in silver_events
    sessions = next((compiled / "models").rglob("silver_sessions.sql")).read_text()
    # sessions one day either side of the event days, their events one day beyond that
    assert "event_dt between date '2026-10-09' and date '2026-10-13'" in sessions
    assert "between date '2026-10-10' and date '2026-10-12'" in sessions
    for path in (compiled / "models").rglob("*.sql"):
        sqlglot.parse(path.read_text(), read="athena", error_level=sqlglot.ErrorLevel.RAISE)


def test_athena_model_configs_are_iceberg_merges() -> None:
    text = (DBT_PROJECT_DIR / "dbt_project.yml").read_text()
    assert "+table_type: iceberg" in text
    assert "+incremental_strategy: merge" in text
    for model in MODELS:
        sql = next((DBT_PROJECT_DIR / "models").rglob(f"{model}.sql")).read_text()
        assert "unique_key=" in sql, model
        assert ("partitioned_by=" in sql) != (model in UNPARTITIONED), model
