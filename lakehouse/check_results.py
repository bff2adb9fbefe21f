"""``lake.check_results``: every data-quality check evaluated by a run (the Great Expectations
suites, the reconciliations and every dbt test), one row per evaluation, for dashboards that
read the lake rather than the orchestrator's storage.

A run's rows are written in one commit that first removes any rows of that run, so recording
the same run again replaces its rows instead of doubling them. No row carries a user's
identity: the detail holds counts and the names of failed expectations, never row values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo

from lakehouse.catalog import open_catalog
from lakehouse.load_ledger import delete_matching
from lakehouse.tables import CHECK_RESULTS, CHECK_RESULTS_SCHEMA, ensure_table
from lakehouse.transactions import begin
from streaming.contracts.settings import Settings

DETAIL_CHARS = 500


@dataclass(frozen=True)
class CheckResult:
    evaluated_at: datetime
    """Aware, or naive UTC."""
    asset_key: str
    check_name: str
    passed: bool
    severity: str
    blocking: bool | None = None
    partition: str | None = None
    detail: str | None = None


def _utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _bounded(text: str | None) -> str | None:
    if text is None or len(text) <= DETAIL_CHARS:
        return text
    return text[: DETAIL_CHARS - 1] + "…"


def check_result_rows(run_id: str, job_name: str, results: Sequence[CheckResult]) -> pa.Table:
    rows = []
    for result in results:
        evaluated_at = _utc_naive(result.evaluated_at)
        rows.append(
            {
                "evaluated_at": evaluated_at,
                "evaluated_dt": evaluated_at.date(),
                "run_id": run_id,
                "job_name": job_name,
                "asset_key": result.asset_key,
                "check_name": result.check_name,
                "passed": result.passed,
                "severity": result.severity,
                "blocking": result.blocking,
                "partition": result.partition,
                "detail": _bounded(result.detail),
            }
        )
    return pa.Table.from_pylist(rows, schema=CHECK_RESULTS_SCHEMA)


def record_check_results(
    settings: Settings,
    run_id: str,
    job_name: str,
    results: Sequence[CheckResult],
    *,
    catalog: Catalog | None = None,
) -> int:
    """Replace the run's rows by ``results`` in one commit; returns the rows written. A run
    that evaluated no check writes nothing."""
    if not results:
        return 0
    catalog = catalog or open_catalog(settings)
    table = ensure_table(catalog, settings, CHECK_RESULTS)
    rows = check_result_rows(run_id, job_name, results)
    with begin(table) as transaction:
        if table.current_snapshot() is not None:
            delete_matching(transaction, EqualTo(term="run_id", value=run_id))
        transaction.append(rows)
    return rows.num_rows
