"""Write-audit-publish on the local target: a model's rows reach its Iceberg table only when
every blocking test on the staged rows passes.

One small lake is built, then a day arrives holding an affiliate click with a negative payout:
its run stages silver_events, the blocking `non_negative` test fails, and silver_events (and
what is built from it) stays as it was, while silver_user_segments, which passes its tests in
the same invocation, is published. With the bad click removed from bronze the same run
publishes everything, and the tables equal those of a full refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.expressions import EqualTo

from lakehouse.audit import NodeResult, withheld_models
from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.dbt_invocation import DbtError
from lakehouse.engine import load_extensions
from lakehouse.publication import Publication, read_publication
from lakehouse.reference_load import SEGMENTS_PREFIX
from lakehouse.staging import StagedTable, record_staged, staged_root
from lakehouse.window import Window
from streaming.contracts.landing import encode_records, landing_store
from streaming.contracts.settings import Settings
from tests.lake_keys import KEYS
from tests.landed_events import Landing, event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DOWNSTREAM_OF_EVENTS = (
    "lake.silver_sessions",
    "mart.fact_funnel",
    "mart.fact_affiliate_clicks",
    "mart.fact_attribution",
    "mart.agg_attribution_daily",
)
SECOND_DAY = Window(date(2026, 11, 2), date(2026, 11, 2))
BAD_CLICK = "click-negative-payout"

FIRST_DAY_EVENTS = [
    event("d1-view", "2026-11-01T10:00:00", session_id="s1"),
    event(
        "d1-click",
        "2026-11-01T10:05:00",
        session_id="s1",
        event_type="affiliate_click",
        affiliate_target="shop",
    ),
    event(
        "d1-buy",
        "2026-11-01T10:20:00",
        session_id="s1",
        event_type="purchase",
        revenue_cents=1_999,
    ),
]


def _second_day_events() -> list[dict[str, Any]]:
    bad_click = event(
        BAD_CLICK, "2026-11-02T09:05:00", session_id="s2", event_type="affiliate_click"
    )
    bad_click["affiliate"]["payout_cents"] = -5
    return [
        event("d2-view", "2026-11-02T09:00:00", session_id="s2"),
        bad_click,
        event("d2-other", "2026-11-02T12:00:00", session_id="s3", user="user-2"),
    ]


def _land_segment_change(settings: Settings, name: str, action: str, as_of: str) -> None:
    record = {"user_id_hash": "user-1", "segment_key": "deal_hunter", "action": action}
    landing_store(settings).put(
        f"{SEGMENTS_PREFIX}{name}.jsonl.gz", encode_records([record | {"as_of_ts": as_of}])
    )


@dataclass(frozen=True)
class TableState:
    snapshot_id: int | None
    rows: list[dict[str, Any]]


def _table_state(settings: Settings, identifier: str) -> TableState:
    table = open_catalog(settings).load_table(identifier)
    snapshot = table.current_snapshot()
    rows = table.scan().to_arrow().sort_by([(key, "ascending") for key in KEYS[identifier]])
    return TableState(snapshot.snapshot_id if snapshot else None, rows.to_pylist())


def _lake_state(settings: Settings) -> dict[str, TableState]:
    return {identifier: _table_state(settings, identifier) for identifier in KEYS}


def _publications(settings: Settings) -> set[Path]:
    return set((settings.duckdb_dir / "published").glob("*.json"))


@dataclass(frozen=True)
class Run:
    publication: Publication
    error: str | None
    """dbt's failure, None when every node passed."""


def _run(settings: Settings, **options: Any) -> Run:
    """``build_lake`` and the publication record of its dbt invocation."""
    before = _publications(settings)
    error = None
    try:
        build_lake(settings, capture=True, in_process=True, **options)
    except DbtError as failure:
        error = str(failure)
    (record,) = _publications(settings) - before
    return Run(read_publication(settings, record.stem), error)


def _view_rows(settings: Settings, relation: str) -> pa.Table:
    """What dbt's DuckDB database now shows for ``relation``."""
    with duckdb.connect(str(settings.duckdb_dir / "dbt.duckdb"), read_only=True) as conn:
        load_extensions(conn, settings)
        return conn.execute(f"select * from {relation} order by event_id").to_arrow_table()


def _leave_interrupted_stagings(
    settings: Settings, committed_invocation: str
) -> dict[str, StagedTable]:
    """What two interrupted invocations left staged for silver_events: one stopped before
    publishing, one right after committing (its files are the table's now)."""
    data_dir = next(settings.warehouse_dir.glob("*/silver_events/data"))
    unpublished = data_dir / "run-interrupted"
    unpublished.mkdir()
    (unpublished / "part-0.parquet").write_bytes(b"never committed")
    leftovers = {
        "unpublished": StagedTable(
            "interrupted",
            "model.clickstream.silver_events",
            "lake.silver_events",
            unpublished,
            (),
            None,
        ),
        "committed": StagedTable(
            committed_invocation,
            "model.clickstream.silver_events",
            "lake.silver_events",
            data_dir / f"run-{committed_invocation}",
            (),
            None,
        ),
    }
    for staged in leftovers.values():
        record_staged(settings, staged)
    return leftovers


@dataclass(frozen=True)
class Story:
    settings: Settings
    first_run: Run
    committed: dict[str, TableState]
    failed_run: Run
    after_failed_run: dict[str, TableState]
    leftovers: dict[str, StagedTable]
    passing_run: Run
    after_passing_run: dict[str, TableState]
    after_full_refresh: dict[str, TableState]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    settings = Settings(home=tmp_path_factory.mktemp("write-audit-publish"))
    landing = Landing(settings)
    _land_segment_change(settings, "0001", "enter", "2026-10-30T00:00:00Z")
    load_hour(settings, landing.land(FIRST_DAY_EVENTS))
    first_run = _run(settings)
    committed = _lake_state(settings)

    _land_segment_change(settings, "0002", "leave", "2026-11-02T00:00:00Z")
    load_hour(settings, landing.land(_second_day_events()))
    failed_run = _run(settings, window=SECOND_DAY)
    after_failed_run = _lake_state(settings)

    open_catalog(settings).load_table("lake.bronze_events").delete(EqualTo("event_id", BAD_CLICK))
    leftovers = _leave_interrupted_stagings(settings, first_run.publication.invocation_id)
    passing_run = _run(settings, window=SECOND_DAY)
    after_passing_run = _lake_state(settings)
    full_refresh = _run(settings, full_refresh=True)
    assert full_refresh.error is None, full_refresh.error
    return Story(
        settings=settings,
        first_run=first_run,
        committed=committed,
        failed_run=failed_run,
        after_failed_run=after_failed_run,
        leftovers=leftovers,
        passing_run=passing_run,
        after_passing_run=after_passing_run,
        after_full_refresh=_lake_state(settings),
    )


def test_a_passing_build_publishes_every_model(story: Story) -> None:
    assert story.first_run.error is None, story.first_run.error
    assert story.first_run.publication.published == set(KEYS)
    assert not story.first_run.publication.withheld
    assert all(state.rows for state in story.committed.values())


def test_a_model_whose_blocking_test_fails_is_not_published(story: Story) -> None:
    assert story.failed_run.error is not None
    assert story.failed_run.publication.withheld == {
        "lake.silver_events": "failed: non_negative_silver_events_payout_cents"
    }
    assert story.after_failed_run["lake.silver_events"] == story.committed["lake.silver_events"]
    # its downstream was not built, let alone published
    for identifier in DOWNSTREAM_OF_EVENTS:
        assert identifier not in story.failed_run.publication.published
        assert story.after_failed_run[identifier] == story.committed[identifier]


def test_a_model_passing_its_tests_in_the_same_run_is_published(story: Story) -> None:
    assert story.failed_run.publication.published == {"lake.silver_user_segments"}
    before = story.committed["lake.silver_user_segments"]
    after = story.after_failed_run["lake.silver_user_segments"]
    assert after.snapshot_id != before.snapshot_id
    assert [row["valid_to"] for row in after.rows] != [row["valid_to"] for row in before.rows]


def test_withheld_files_are_deleted_and_nothing_stays_staged(story: Story) -> None:
    run_dir = f"run-{story.failed_run.publication.invocation_id}"
    warehouse = story.settings.warehouse_dir
    assert not list(warehouse.glob(f"*/silver_events/data/{run_dir}"))
    assert list(warehouse.glob(f"*/silver_user_segments/data/{run_dir}"))
    assert not any(staged_root(story.settings).iterdir())


def test_a_run_discards_what_interrupted_runs_left_staged_for_its_tables(story: Story) -> None:
    assert not story.leftovers["unpublished"].files_dir.exists()
    assert story.leftovers["committed"].files_dir.exists()
    assert story.after_passing_run["lake.silver_events"].rows == (
        story.after_full_refresh["lake.silver_events"].rows
    )
    assert not any(staged_root(story.settings).iterdir())


def test_the_views_show_the_committed_snapshots(story: Story) -> None:
    events = _view_rows(story.settings, "lake.silver_events")
    table = open_catalog(story.settings).load_table("lake.silver_events").scan().to_arrow()
    assert events.num_rows == table.num_rows
    assert BAD_CLICK not in events.column("event_id").to_pylist()


def test_a_passing_run_publishes_what_a_full_build_gives(story: Story) -> None:
    assert story.passing_run.error is None, story.passing_run.error
    assert story.passing_run.publication.published == set(KEYS)
    events = story.after_passing_run["lake.silver_events"].rows
    assert {"d2-view", "d2-other"} <= {row["event_id"] for row in events}
    for identifier in KEYS:
        passing, full = story.after_passing_run[identifier], story.after_full_refresh[identifier]
        assert passing.rows == full.rows, identifier


def _result(name: str, status: str, *, on: str, severity: str = "ERROR") -> NodeResult:
    return NodeResult(f"test.clickstream.{name}", name, "test", status, severity, (on,))


EVENTS, SESSIONS, FUNNEL = (
    "model.clickstream.silver_events",
    "model.clickstream.silver_sessions",
    "model.clickstream.fact_funnel",
)
STAGED = {
    EVENTS: "lake.silver_events",
    SESSIONS: "lake.silver_sessions",
    FUNNEL: "mart.fact_funnel",
}
UPSTREAM = {
    SESSIONS: ["model.clickstream.int_session_events"],
    "model.clickstream.int_session_events": [EVENTS],
    FUNNEL: [SESSIONS],
}


def test_warn_severity_tests_do_not_block() -> None:
    results = [_result("unique_silver_events_event_id", "warn", on=EVENTS, severity="warn")]
    assert withheld_models(results, STAGED, UPSTREAM) == {}


def test_an_errored_test_or_model_blocks_it_and_everything_built_from_it() -> None:
    results = [
        NodeResult(SESSIONS, "silver_sessions", "model", "error", None, ()),
        _result("not_null_silver_events_ts", "error", on=EVENTS),
    ]
    assert withheld_models(results, STAGED, UPSTREAM) == {
        EVENTS: "errored: not_null_silver_events_ts",
        SESSIONS: "errored: silver_sessions; upstream withheld: lake.silver_events",
        FUNNEL: "upstream withheld: lake.silver_events, lake.silver_sessions",
    }
