"""Silver and gold from bronze: reference data in, then dbt builds and tests the models."""

from __future__ import annotations

import time
from dataclasses import dataclass

from clickstream_orchestration.lakehouse.catalog import open_catalog
from clickstream_orchestration.lakehouse.dbt_project import Window, run_dbt
from clickstream_orchestration.lakehouse.reference_load import load_segment_changes
from streaming.settings import Settings


@dataclass(frozen=True)
class BuildResult:
    segment_changes: int
    seconds: float


def build_lake(
    settings: Settings,
    *,
    window: Window | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    run_tests: bool = True,
    capture: bool = False,
    in_process: bool = False,
) -> BuildResult:
    """Load the segment change log, then ``dbt build`` (or ``dbt run``) the models.

    ``window`` limits the rebuild to those event dates (plus the lookback); without it every
    partition is rebuilt.
    """
    started = time.perf_counter()
    changes = load_segment_changes(settings, catalog=open_catalog(settings))
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
    return BuildResult(segment_changes=changes, seconds=time.perf_counter() - started)
