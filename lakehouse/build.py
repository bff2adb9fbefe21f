"""Silver and gold from bronze: reference data in, then dbt builds and tests the models."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lakehouse.arrivals import (
    ArrivalPlan,
    current_loads,
    index_arrivals,
    plan_arrivals,
    record_consumed,
)
from lakehouse.catalog import open_catalog
from lakehouse.dbt_invocation import Rebuild, run_dbt
from lakehouse.reference_load import load_segment_changes
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class BuildResult:
    segment_changes: int | None
    """None when the build left the change log as it was (``segment_changes=False``)."""
    seconds: float


def build_lake(
    settings: Settings,
    *,
    window: Rebuild | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    run_tests: bool = True,
    capture: bool = False,
    in_process: bool = False,
    segment_changes: bool = True,
) -> BuildResult:
    """Load the segment change log, then ``dbt build`` (or ``dbt run``) the models.

    ``window`` limits the rebuild to those event dates (see ``macros/window.sql``); without it
    every partition is rebuilt, and every load in bronze counts as consumed by the manifest.
    ``segment_changes=False`` leaves the change log to a step of its own, as the orchestrator
    loads it (:func:`lakehouse.reference_load.load_segment_changes`).
    """
    started = time.perf_counter()
    catalog = open_catalog(settings)
    changes = load_segment_changes(settings, catalog=catalog) if segment_changes else None
    loads, sequence = (
        current_loads(settings, catalog) if window is None and not select else ({}, None)
    )
    args = ["build" if run_tests else "run"]
    if select:
        args += ["--select", select]
    run_dbt(
        settings,
        args,
        window=window,
        full_refresh=full_refresh,
        capture=capture,
        in_process=in_process,
    )
    if loads:
        index_arrivals(settings, loads, catalog=catalog)
        record_consumed(settings, loads, ledger_sequence=sequence, catalog=catalog)
    return BuildResult(segment_changes=changes, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class ArrivalBuild:
    plan: ArrivalPlan
    build: BuildResult | None
    """None when nothing arrived, or the arrivals hold no event (nothing to rebuild)."""


def build_arrivals(
    settings: Settings,
    *,
    plan: ArrivalPlan | None = None,
    run_tests: bool = True,
    capture: bool = False,
    in_process: bool = False,
    run_id: str | None = None,
) -> ArrivalBuild:
    """The incremental run: rebuild what arrived in bronze since the last successful run
    (``plan``, default planned now), then record those loads as consumed."""
    catalog = open_catalog(settings)
    plan = plan or plan_arrivals(settings, catalog)
    result = None
    if plan.event_days:
        result = build_lake(
            settings,
            window=plan.rebuild(),
            run_tests=run_tests,
            capture=capture,
            in_process=in_process,
        )
    record_consumed(
        settings,
        plan.loads,
        ledger_sequence=plan.ledger_sequence,
        catalog=catalog,
        run_id=run_id,
    )
    return ArrivalBuild(plan, result)
