"""Reference data → Iceberg: the user segment change log (input of the SCD2 segments model)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
from pyiceberg.catalog import Catalog

from lakehouse.catalog import open_catalog
from lakehouse.tables import SEGMENT_CHANGES, ensure_table
from lakehouse.transactions import begin
from streaming.contracts.landing import LandingStore, encode_records, iter_records, landing_store
from streaming.contracts.settings import Settings

SEGMENTS_PREFIX = "reference/user_segments/"
BATCH_ROWS = 200_000


ACTIONS = ("enter", "leave")


def _parse_ts(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def check_segment_change(row: object) -> str | None:
    """What is wrong with one change of the feed, or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    for name in ("user_id_hash", "segment_key"):
        if not isinstance(row.get(name), str) or not row[name]:
            return f"{name} must be a non-empty string"
    if row.get("action") not in ACTIONS:
        return f"action must be one of {', '.join(ACTIONS)}, got {row.get('action')!r}"
    try:
        _parse_ts(str(row.get("as_of_ts")))
    except ValueError:
        return f"as_of_ts must be an ISO date-time, got {row.get('as_of_ts')!r}"
    return None


def land_segment_feed(store: LandingStore, name: str, body: bytes) -> tuple[str, int]:
    """Check a feed of JSON lines and land it, gzipped, under the reference prefix (where the
    landing sensor finds it). ValueError names the first bad line; nothing lands then."""
    rows = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise ValueError(f"line {number}: not JSON ({error})") from error
        if (problem := check_segment_change(row)) is not None:
            raise ValueError(f"line {number}: {problem}")
        rows.append(row)
    if not rows:
        raise ValueError("no segment change in it")
    stem = name.removesuffix(".gz").removesuffix(".jsonl").removesuffix(".json")
    key = f"{SEGMENTS_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}-{stem}.jsonl.gz"
    store.put(key, encode_records(rows))
    return key, len(rows)


def load_segment_changes(
    settings: Settings, *, catalog: Catalog | None = None, store: LandingStore | None = None
) -> int:
    """Replace ``lake.user_segment_changes`` with every change-log object landed so far, in one
    commit.

    The log is append-only, so a full replacement is both simplest and idempotent. It is read
    and written ``BATCH_ROWS`` changes at a time: a large site's log holds millions of changes
    (2.8 M for 30 M events), which as Python rows took most of a gigabyte. Returns the number
    of change rows.
    """
    catalog = catalog or open_catalog(settings)
    store = store or landing_store(settings)
    keys = sorted(landed.key for landed in store.list(SEGMENTS_PREFIX))
    table = ensure_table(catalog, settings, SEGMENT_CHANGES)
    rows = 0
    with warnings.catch_warnings():  # the first load replaces nothing, which is fine
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        with begin(table) as transaction:
            for number, batch in enumerate(_change_batches(store, keys)):
                if number == 0:
                    transaction.overwrite(batch)
                else:
                    transaction.append(batch)
                rows += batch.num_rows
    pa.default_memory_pool().release_unused()  # the build runs dbt next, keeping this process
    return rows


def _change_batches(store: LandingStore, keys: list[str]) -> Iterator[pa.Table]:
    """The changes of the objects at ``keys``, ``BATCH_ROWS`` at a time; at least one batch,
    empty when there is no change."""
    columns, yielded = _no_columns(), False
    for key in keys:
        for row in iter_records(store.get(key)):
            columns["user_id_hash"].append(row["user_id_hash"])
            columns["segment_key"].append(row["segment_key"])
            columns["action"].append(row["action"])
            columns["as_of_ts"].append(_parse_ts(row["as_of_ts"]))
            columns["source_object"].append(key)
            if len(columns["source_object"]) == BATCH_ROWS:
                yield pa.table(columns, schema=SEGMENT_CHANGES.schema)
                columns, yielded = _no_columns(), True
    if columns["source_object"] or not yielded:
        yield pa.table(columns, schema=SEGMENT_CHANGES.schema)


def _no_columns() -> dict[str, list[Any]]:
    return {name: [] for name in SEGMENT_CHANGES.schema.names}
