"""Reference data → Iceberg: the user segment change log (input of the SCD2 segments model)."""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pyarrow.json as pa_json
from pyiceberg.catalog import Catalog

from lakehouse.catalog import open_catalog
from lakehouse.tables import SEGMENT_CHANGES, ensure_table
from lakehouse.transactions import begin
from streaming.contracts.landing import LandingStore, encode_records, landing_store
from streaming.contracts.settings import Settings

SEGMENTS_PREFIX = "reference/user_segments/"
BATCH_ROWS = 200_000
BLOCK_BYTES = 16 * 2**20
"""Inflated JSON parsed per block of the reader (about 150 k changes)."""
_FEED_SCHEMA = pa.schema(
    [field for field in SEGMENT_CHANGES.schema if field.name != "source_object"]
)


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
    and written in Arrow batches of at most ``BATCH_ROWS`` changes: a large site's log holds
    millions of changes (2.8 M for 30 M events), which as Python rows took most of a gigabyte
    and 12 s. Returns the number of change rows; ValueError names an object that does not
    parse, and nothing is committed then.
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
    """The changes of the objects at ``keys``, at most ``BATCH_ROWS`` at a time, parsed by
    Arrow's JSON reader as the object inflates (offsets converted to UTC, fields the table does
    not hold ignored); at least one batch, empty when there is no change."""
    yielded = False
    for key in keys:
        body = store.get(key)
        try:
            if not _has_records(body):
                continue
            reader = pa_json.open_json(
                pa.input_stream(pa.BufferReader(body), compression="gzip"),
                read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=_FEED_SCHEMA, unexpected_field_behavior="ignore"
                ),
            )
            for batch in reader:
                for offset in range(0, batch.num_rows, BATCH_ROWS):
                    part = batch.slice(offset, BATCH_ROWS)
                    source = pa.array([key] * part.num_rows, pa.string())
                    columns = [*part.columns, source]
                    yield pa.Table.from_arrays(columns, schema=SEGMENT_CHANGES.schema)
                    yielded = True
        except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as error:
            raise ValueError(f"segment change log {key}: {error}") from error
    if not yielded:
        yield SEGMENT_CHANGES.schema.empty_table()


def _has_records(body: bytes) -> bool:
    """Whether the gzipped object holds a line that is not blank (Arrow's reader refuses an
    object without one); reads no further than that line."""
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as lines:
        return any(line.strip() for line in lines)
