"""Reference data → Iceberg: the user segment change log (input of the SCD2 segments model)."""

from __future__ import annotations

import warnings
from datetime import datetime

import pyarrow as pa
from pyiceberg.catalog import Catalog

from clickstream_orchestration.lakehouse.catalog import open_catalog
from clickstream_orchestration.lakehouse.tables import SEGMENT_CHANGES, ensure_table
from streaming.landing import LandingStore, decode_records, landing_store
from streaming.settings import Settings

SEGMENTS_PREFIX = "reference/user_segments/"


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def load_segment_changes(
    settings: Settings, *, catalog: Catalog | None = None, store: LandingStore | None = None
) -> int:
    """Replace ``lake.user_segment_changes`` with every change-log object landed so far.

    The log is small and append-only, so a full replacement is both simplest and idempotent.
    Returns the number of change rows.
    """
    catalog = catalog or open_catalog(settings)
    store = store or landing_store(settings)
    columns: dict[str, list] = {name: [] for name in SEGMENT_CHANGES.schema.names}
    for landed in sorted(store.list(SEGMENTS_PREFIX), key=lambda item: item.key):
        for row in decode_records(store.get(landed.key)):
            columns["user_id_hash"].append(row["user_id_hash"])
            columns["segment_key"].append(row["segment_key"])
            columns["action"].append(row["action"])
            columns["as_of_ts"].append(_parse_ts(row["as_of_ts"]))
            columns["source_object"].append(landed.key)
    rows = pa.table(columns, schema=SEGMENT_CHANGES.schema)
    table = ensure_table(catalog, settings, SEGMENT_CHANGES)
    with warnings.catch_warnings():  # the first load replaces nothing, which is fine
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        table.overwrite(rows)
    return rows.num_rows
