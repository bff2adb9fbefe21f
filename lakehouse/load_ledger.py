"""The load ledger: which landed objects (key and size) an hour's load consumed, and what became
of their lines. An hour whose listing matches its ledger entries is already loaded."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from pyiceberg.expressions import And, BooleanExpression, EqualTo, StartsWith
from pyiceberg.table import Table, Transaction

from lakehouse.tables import BRONZE_LEDGER
from lakehouse.transactions import begin
from streaming.contracts.landing import IngestHour, LandedObject


@dataclass(frozen=True)
class ObjectOutcome:
    key: str
    size: int
    lines: int
    loaded_rows: int
    quarantined_rows: int


def hour_filter(hour: IngestHour) -> BooleanExpression:
    return And(
        EqualTo(term="ingest_dt", value=hour.ingest_dt.isoformat()),
        EqualTo(term="hour", value=hour.hour),
    )


def delete_matching(transaction: Transaction, row_filter: BooleanExpression) -> None:
    """Delete the rows matching ``row_filter``; matching none is the normal first load."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        transaction.delete(row_filter)


def _entries_filter(hour: IngestHour, prefix: str) -> BooleanExpression:
    return And(hour_filter(hour), StartsWith(term="object_key", value=prefix))


def recorded_outcomes(ledger: Table, hour: IngestHour, prefix: str) -> list[ObjectOutcome] | None:
    """What the last load of the hour consumed and produced, or None if it never ran."""
    if ledger.current_snapshot() is None:
        return None
    rows = ledger.scan(row_filter=_entries_filter(hour, prefix)).to_arrow().to_pylist()
    if not rows:
        return None
    return [
        ObjectOutcome(
            row["object_key"],
            row["object_size"],
            row["lines"],
            row["loaded_rows"],
            row["quarantined_rows"],
        )
        for row in sorted(rows, key=lambda row: row["object_key"])
    ]


def is_loaded(recorded: list[ObjectOutcome] | None, objects: Iterable[LandedObject]) -> bool:
    """Whether the recorded load consumed exactly these objects (same keys, same sizes)."""
    if recorded is None:
        return False
    return {(item.key, item.size) for item in recorded} == {
        (item.key, item.size) for item in objects
    }


def record(
    ledger: Table,
    hour: IngestHour,
    prefix: str,
    outcomes: list[ObjectOutcome],
    loaded_at: datetime,
) -> None:
    """Replace the hour's entries under ``prefix`` with this load's outcomes."""
    rows = pa.Table.from_pylist(
        [
            {
                "object_key": outcome.key,
                "object_size": outcome.size,
                "ingest_dt": hour.ingest_dt,
                "hour": hour.hour,
                "lines": outcome.lines,
                "loaded_rows": outcome.loaded_rows,
                "quarantined_rows": outcome.quarantined_rows,
                "loaded_at": loaded_at,
            }
            for outcome in outcomes
        ],
        schema=BRONZE_LEDGER,
    )
    with begin(ledger) as transaction:
        if ledger.current_snapshot() is not None:
            delete_matching(transaction, _entries_filter(hour, prefix))
        if rows.num_rows:
            transaction.append(rows)
