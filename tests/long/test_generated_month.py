"""A month of dirty traffic with conversions, materialised through Dagster as the lake runs in
production: every check of every stage passes, the attribution models credit each conversion
exactly once, and the backfill of the event days equals a full refresh, table by table.

Long (tens of minutes on two cores): ``make test-long`` runs it, ``make test`` leaves it out.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import dagster as dg
import pytest

from clickstream_cli.launch import StageOutcome, materialize_lake
from clickstream_orchestration.definitions import build_definitions
from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from streaming.contracts.landing import landed_hours, landing_store
from streaming.contracts.settings import Settings
from streaming.generator import TrafficConfig
from streaming.generator.sinks.landing import write_landing
from streaming.generator.summary import GenerationSummary
from tests.lake_keys import KEYS

pytestmark = [pytest.mark.long, pytest.mark.timeout(3 * 3600)]

MONTH = TrafficConfig(
    events=60_000,
    seed=202610,
    start=datetime(2026, 10, 1, tzinfo=UTC),
    days=30,
    late_share=0.03,
    conversion_rate=0.05,
)
EVENT_DAYS = ("2026-10-01", "2026-10-30")
STAGES = ["bronze_load", "segments_refresh", "lake_refresh"]
ATTRIBUTION_MODELS = ["first_click", "last_click", "linear", "position_based", "time_decay"]
LAKE_TABLES = list(KEYS)
"""Every silver, gold and mart table dbt builds."""
GREAT_EXPECTATIONS_GATES = {
    "bronze_expectations",
    "bronze_reconciles_with_landing",
    "silver_events_expectations",
    "fact_funnel_expectations",
    "fact_attribution_expectations",
}
CONSERVATION_TESTS = {
    "attribution_credits_are_conserved",
    "attribution_credits_every_conversion_once_per_model",
}
RECONCILIATION_TESTS = {
    "events_hourly_reconciles_with_silver",
    "engagement_reconciles_with_sessions",
    "pages_daily_reconciles_with_silver",
    "users_reconcile_with_silver",
    "relationships_fact_clicks_event_dt__date_day__ref_dim_date_",
    "relationships_fact_clicks_page_path__page_path__ref_dim_pages_",
    "relationships_fact_clicks_user_id_hash__user_id_hash__ref_dim_users_",
    "relationships_agg_pages_daily_page_path__page_path__ref_dim_pages_",
    "funnel_has_every_session",
    "funnel_payout_matches_clicks",
    "sessions_count_every_event",
    "sessions_count_every_page_view",
}


@dataclass(frozen=True)
class Month:
    settings: Settings
    defs: dg.Definitions
    generated: GenerationSummary
    hours: int
    outcomes: list[StageOutcome]
    seconds: dict[str, float]


def _figure(name: str, value: object) -> None:
    print(f"[month] {name}: {value}", flush=True)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    """The month landed, then one bronze run over every landed hour, the segments, and one
    run of silver and gold over every event day, all in-process through Dagster."""
    home = tmp_path_factory.mktemp("month")
    (home / "dagster").mkdir()
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("CLICKSTREAM_HOME", str(home))
        environment.setenv("DAGSTER_HOME", str(home / "dagster"))
        settings = Settings(home=home)
        generating = time.perf_counter()
        generated = write_landing(MONTH, landing_store(settings), settings, workers=1)
        hours = landed_hours(settings)
        _figure("seconds, generating and landing", f"{time.perf_counter() - generating:.0f}")
        _figure("events generated", f"{generated.events:,} ({generated.by_event_type})")
        _figure(
            "dirty events",
            f"{generated.invalid:,} invalid, {generated.duplicates:,} duplicates, "
            f"{generated.late:,} late, {generated.bots:,} from bots",
        )
        _figure(
            "landed hours",
            f"{len(hours)} ({hours[0]:%Y-%m-%d %H:00} .. {hours[-1]:%Y-%m-%d %H:00})",
        )
        instance = dg.DagsterInstance.get()
        lake_defs = build_definitions(settings)
        started: dict[str, float] = {}

        def starting(job: str) -> None:
            started[job] = time.perf_counter()

        try:
            outcomes = materialize_lake(
                lake_defs, instance, hours, days=EVENT_DAYS, on_stage=starting
            )
            finished = time.perf_counter()
            ends = [*list(started.values())[1:], finished]
            seconds = {job: end - started[job] for job, end in zip(started, ends, strict=True)}
            for job, taken in seconds.items():
                _figure(f"seconds, {job} run", f"{taken:.0f}")
            yield Month(settings, lake_defs, generated, len(hours), outcomes, seconds)
        finally:
            instance.dispose()


def _checks_of(defs: dg.Definitions, job_name: str) -> tuple[set[tuple[str, str]], set[str]]:
    """The job's checks as (asset, check name), and those of them that block."""
    graph = defs.resolve_asset_graph()
    keys = defs.resolve_job_def(job_name).asset_layer.asset_graph.asset_check_keys
    every = {(key.asset_key.to_user_string(), key.name) for key in keys}
    blocking = {key.name for key in keys if graph.get_check_spec(key).blocking}
    return every, blocking


def test_materialising_the_month_passes_every_check(month: Month) -> None:
    assert [outcome.job for outcome in month.outcomes] == STAGES
    assert all(outcome.success for outcome in month.outcomes), [
        (outcome.job, outcome.error) for outcome in month.outcomes
    ]
    failed = [check for outcome in month.outcomes for check in outcome.checks if not check.passed]
    assert failed == []
    for outcome in month.outcomes:
        defined, blocking = _checks_of(month.defs, outcome.job)
        evaluated = [(check.asset, check.name) for check in outcome.checks]
        assert len(evaluated) == len(set(evaluated)), f"{outcome.job}: a check ran twice"
        assert set(evaluated) <= defined
        missing = blocking - {name for _, name in evaluated}
        assert not missing, f"{outcome.job}: blocking checks that never ran: {sorted(missing)}"
        _figure(f"checks passed, {outcome.job}", len(evaluated))
    passed = {check.name for outcome in month.outcomes for check in outcome.checks}
    required = GREAT_EXPECTATIONS_GATES | CONSERVATION_TESTS | RECONCILIATION_TESTS
    assert required <= passed, sorted(required - passed)
    segments, refresh = month.outcomes[1:]
    assert "silver/silver_user_segments" in segments.materialized
    every_day = [
        _asset_of(identifier)
        for identifier in LAKE_TABLES
        if identifier != "lake.silver_user_segments"
    ]
    assert {key: refresh.materialized.count(key) for key in every_day} == dict.fromkeys(
        every_day, 30
    ), "every model reported once per event day, all in one run"


def _asset_of(identifier: str) -> str:
    namespace, name = identifier.split(".")
    return f"{'gold' if namespace == 'mart' else 'silver'}/{name}"


def test_attribution_credits_every_conversion_once_under_each_model(month: Month) -> None:
    """In numbers: per model, agg_attribution_daily's conversions add up to exactly the
    purchases of silver_events, day by day, and its revenue to exactly their revenue."""
    catalog = open_catalog(month.settings)
    purchases = [
        row
        for row in catalog.load_table("lake.silver_events")
        .scan(selected_fields=("event_id", "event_type", "revenue_cents", "event_dt"))
        .to_arrow()
        .to_pylist()
        if row["event_type"] == "purchase"
    ]
    conversions_per_day: dict[date, Decimal] = defaultdict(Decimal)
    revenue_per_day: dict[date, int] = defaultdict(int)
    for row in purchases:
        conversions_per_day[row["event_dt"]] += 1
        revenue_per_day[row["event_dt"]] += row["revenue_cents"] or 0
    _figure("conversions", f"{len(purchases):,} over {len(conversions_per_day)} days")
    assert 0 < len(purchases) <= month.generated.by_event_type["purchase"]

    credited: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    revenue_credited: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for row in catalog.load_table("mart.agg_attribution_daily").scan().to_arrow().to_pylist():
        credited[row["attribution_model"]][row["event_dt"]] += row["conversions"]
        revenue_credited[row["attribution_model"]][row["event_dt"]] += row["revenue_credited_cents"]
    assert sorted(credited) == ATTRIBUTION_MODELS
    for model in ATTRIBUTION_MODELS:
        assert sum(credited[model].values()) == len(purchases), model
        assert credited[model] == conversions_per_day, model
        assert revenue_credited[model] == revenue_per_day, model

    credits = catalog.load_table("mart.fact_attribution").scan(
        selected_fields=("conversion_id", "attribution_model")
    )
    conversions_per_model: dict[str, set[str]] = defaultdict(set)
    for row in credits.to_arrow().to_pylist():
        conversions_per_model[row["attribution_model"]].add(row["conversion_id"])
    assert sorted(conversions_per_model) == ATTRIBUTION_MODELS
    every_purchase = {row["event_id"] for row in purchases}
    for model, conversion_ids in conversions_per_model.items():
        assert conversion_ids == every_purchase, model


def _contents(settings: Settings, identifier: str) -> tuple[int, str]:
    table = open_catalog(settings).load_table(identifier).scan().to_arrow()
    rows = sorted(repr(sorted(row.items())) for row in table.to_pylist())
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def test_backfilling_the_month_equals_a_full_refresh(month: Month) -> None:
    assert all(outcome.success for outcome in month.outcomes)
    backfilled = {identifier: _contents(month.settings, identifier) for identifier in LAKE_TABLES}
    for identifier, (rows, _) in backfilled.items():
        _figure(f"rows, {identifier}", f"{rows:,}")
    assert [name for name, (rows, _) in backfilled.items() if rows == 0] == []

    started = time.perf_counter()
    build_lake(month.settings, full_refresh=True, capture=True)
    _figure("seconds, full refresh", f"{time.perf_counter() - started:.0f}")
    refreshed = {identifier: _contents(month.settings, identifier) for identifier in LAKE_TABLES}
    differing = {
        identifier: (backfilled[identifier], refreshed[identifier])
        for identifier in LAKE_TABLES
        if backfilled[identifier] != refreshed[identifier]
    }
    assert differing == {}
