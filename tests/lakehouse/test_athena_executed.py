"""The athena target executed, not only parsed: every model compiled for Athena, transpiled to
DuckDB and run the way dbt-athena runs it (tests/athena_execution.py) equals the local target's
table row for row, after a first day and after a second, incremental day (the merge).

The models come from the manifest, so a model added later is covered without a change here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer

from lakehouse.arrivals import plan_arrivals
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_arrivals
from lakehouse.catalog import open_catalog
from lakehouse.window import Rebuild
from streaming.contracts.landing import landed_hours, landing_store
from streaming.contracts.settings import Settings
from streaming.generator.config import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from tests.athena_execution import (
    AthenaOnDuckDB,
    CompiledModel,
    compiled_models,
    first_differences,
    normalised_rows,
    rows_hash,
    source_tables,
    start_athena_compile,
)
from tests.aws_fixtures import free_port

START = datetime(2026, 11, 1, tzinfo=UTC)
FIRST_DAY = date(2026, 11, 1)
# The first run takes the ingest hours before this; the second the rest, so the second run
# rewrites the late evening of the first day (sessions across midnight, late events) too.
SPLIT = datetime(2026, 11, 1, 21, tzinfo=UTC)
CORE_MODELS = {
    "silver_events",
    "silver_sessions",
    "silver_user_segments",
    "fact_funnel",
    "fact_affiliate_clicks",
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass(frozen=True)
class Step:
    """One incremental run: its rebuild, and each model's table on both targets after it."""

    rebuild: Rebuild
    models: list[CompiledModel]
    local: dict[str, pa.Table]
    athena: dict[str, pa.Table]


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _run_step(
    settings: Settings,
    hours: list[datetime],
    engine: AthenaOnDuckDB,
    aws_endpoint: str,
    compile_home: Path,
) -> Step:
    """Load ``hours`` into bronze, run the arrival-driven build locally, then compile the same
    rebuild for Athena and run it on the Glue-shaped copy of the sources."""
    catalog = open_catalog(settings)
    for hour in hours:
        load_hour(settings, hour, catalog=catalog)
    plan = plan_arrivals(settings, catalog)
    athena_compile = start_athena_compile(aws_endpoint, compile_home, plan.rebuild())
    build_arrivals(settings, plan=plan, run_tests=False, capture=True)
    manifest = athena_compile.manifest()
    models = compiled_models(manifest)
    catalog = open_catalog(settings)
    for schema, table in source_tables(manifest):
        engine.put_table(schema, table, catalog.load_table(f"{schema}.{table}").scan().to_arrow())
    engine.run(models, plan.rebuild())
    local = {
        model.name: catalog.load_table(f"{model.schema}.{model.name}").scan().to_arrow()
        for model in models
    }
    athena = {model.name: engine.table(model.schema, model.name) for model in models}
    return Step(plan.rebuild(), models, local, athena)


@pytest.fixture(scope="module")
def steps(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> list[Step]:
    """A dirty day landed and built, then the next day (with the first day's late events)."""
    settings = Settings(home=tmp_path_factory.mktemp("athena-executed"))
    config = TrafficConfig(events=3_000, seed=23, start=START, days=1.5)
    write_landing(config, landing_store(settings), settings, workers=1)
    hours = landed_hours(settings)
    first = [hour for hour in hours if hour < SPLIT]
    later = [hour for hour in hours if hour >= SPLIT]
    engine = AthenaOnDuckDB()
    return [
        _run_step(settings, first, engine, aws_endpoint, tmp_path_factory.mktemp("compile-1")),
        _run_step(settings, later, engine, aws_endpoint, tmp_path_factory.mktemp("compile-2")),
    ]


def _differences(step: Step) -> list[str]:
    failures = []
    for model in step.models:
        local, athena = step.local[model.name], step.athena[model.name]
        if set(local.column_names) != set(athena.column_names):
            failures.append(
                f"{model.name}: columns local {sorted(local.column_names)} "
                f"athena {sorted(athena.column_names)}"
            )
            continue
        local_rows = normalised_rows(local, local.column_names)
        athena_rows = normalised_rows(athena, local.column_names)
        if rows_hash(local_rows) != rows_hash(athena_rows):
            failures.append(
                f"{model.name}: {len(local_rows)} local rows, {len(athena_rows)} athena rows\n  "
                + "\n  ".join(first_differences(local_rows, athena_rows))
            )
    return failures


def test_every_materialised_model_is_executed(steps: list[Step]) -> None:
    for step in steps:
        names = {model.name for model in step.models}
        assert names >= CORE_MODELS
        assert names == set(step.local) == set(step.athena)
        assert all(step.local[name].num_rows > 0 for name in CORE_MODELS), step.rebuild


def test_the_second_day_is_an_incremental_merge_with_late_rows(steps: list[Step]) -> None:
    first, second = steps
    assert FIRST_DAY in first.rebuild.event_days
    assert FIRST_DAY in second.rebuild.event_days  # the first day's evening, rewritten
    assert max(second.rebuild.event_days) > FIRST_DAY


def test_the_first_day_equals_the_local_build(steps: list[Step]) -> None:
    failures = _differences(steps[0])
    assert not failures, "\n".join(failures)


def test_the_incremental_day_equals_the_local_build(steps: list[Step]) -> None:
    failures = _differences(steps[1])
    assert not failures, "\n".join(failures)


def _segment_log(*changes: tuple[str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "user_id_hash": "sha256:u",
                "segment_key": "b2b",
                "action": action,
                "as_of_ts": datetime.fromisoformat(at),
            }
            for action, at in changes
        ]
    )


def test_a_late_segment_change_leaves_no_stale_stay_on_athena(steps: list[Step]) -> None:
    """A change that arrives late and re-opens a stay earlier: the local rebuild replaces the
    table; on Athena the model must be replaced too, not merged (a merge would keep the stay
    that no longer starts there)."""
    (segments,) = [model for model in steps[-1].models if model.name == "silver_user_segments"]
    engine = AthenaOnDuckDB()
    engine.put_table(
        "lake",
        "user_segment_changes",
        _segment_log(("enter", "2026-11-01T10:00:00"), ("leave", "2026-11-01T12:00:00")),
    )
    engine.materialise(segments)
    engine.put_table(
        "lake",
        "user_segment_changes",
        _segment_log(
            ("enter", "2026-11-01T09:00:00"),
            ("enter", "2026-11-01T10:00:00"),
            ("leave", "2026-11-01T12:00:00"),
        ),
    )
    engine.materialise(segments)
    stays = engine.table("lake", "silver_user_segments").to_pylist()
    assert [(row["valid_from"].hour, row["valid_to"].hour) for row in stays] == [(9, 12)]


def test_a_late_event_re_keying_a_derived_session_leaves_no_stale_row_on_athena(
    steps: list[Step],
) -> None:
    """A sessionless event arriving before a derived session's first event gives the session a
    new key (user and first event): the local rewrite drops the old row, and on Athena the run
    must delete the rewritten days before its merge, or the old row stays beside the new one."""
    last = steps[-1]
    (sessions,) = [model for model in last.models if model.name == "silver_sessions"]
    day = min(last.rebuild.event_days)
    schema = last.athena["silver_events"].schema

    def events(*times: str) -> pa.Table:
        rows = [
            {
                "event_id": f"late-{at}",
                "event_type": "page_view",
                "ts": datetime.fromisoformat(f"{day.isoformat()}T{at}"),
                "ingest_ts": 0,
                "user_id_hash": "sha256:sessionless",
                "is_bot": False,
                "event_dt": day,
            }
            for at in times
        ]
        return pa.Table.from_pylist(rows, schema=schema)

    engine = AthenaOnDuckDB()
    engine.put_table("lake", "silver_events", events("10:00:00", "10:10:00"))
    engine.materialise(sessions, last.rebuild)
    engine.put_table("lake", "silver_events", events("09:50:00", "10:00:00", "10:10:00"))
    engine.materialise(sessions, last.rebuild)
    rows = engine.table("lake", "silver_sessions").to_pylist()
    assert [(row["session_start_ts"].minute, row["events"]) for row in rows] == [(50, 3)]
