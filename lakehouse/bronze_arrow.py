"""The bronze path for any landing store (S3 included): objects fetched through the store,
parsed by pyarrow's JSON reader with the bronze schema, appended in bounded chunks.

pyarrow's reader is strict where the landed JSON is not: ``chart.control_value`` may be a
string, a number or a boolean. Booleans and numbers are quoted before parsing when their text
is canonical JSON (the text the DuckDB path stores); an object pyarrow still refuses goes line
by line through ``bronze_rows``, which types every value exactly as the DuckDB path does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from lakehouse.bronze_rows import (
    GZIP_ERRORS,
    PAYLOAD_FIELDS,
    ParsedObject,
    gunzip,
    parse_object,
)
from lakehouse.tables import BRONZE_EVENTS
from streaming.contracts.landing import IngestHour, LandingStore

CHUNK_ROWS = 250_000
_SCALAR_CONTROL_VALUE = re.compile(
    rb'("control_value"\s*:\s*)(true|false|-?[0-9][0-9.eE+-]*)(?=\s*[,}])'
)


def _quoted(match: re.Match[bytes]) -> bytes:
    """A boolean or number as the string of its canonical JSON text; other text unchanged
    (pyarrow then refuses the object and the exact path types it)."""
    value = match.group(2)
    try:
        canonical = orjson.dumps(orjson.loads(value))
    except orjson.JSONDecodeError:
        return match.group(0)
    if canonical != value:
        return match.group(0)
    return match.group(1) + b'"' + value + b'"'


_READ_SCHEMA = pa.schema(
    [pa.field(s.name, pa.string()) if pa.types.is_timestamp(s.type) else s for s in PAYLOAD_FIELDS]
)
_PARSE_OPTIONS = pa_json.ParseOptions(
    explicit_schema=_READ_SCHEMA, unexpected_field_behavior="ignore"
)


@dataclass(frozen=True)
class ArrowObject:
    key: str
    rows: pa.Table | None
    """The object's bronze rows when pyarrow read it whole."""
    parsed_by_line: ParsedObject | None


def read_object(key: str, body: bytes, hour: IngestHour) -> ArrowObject:
    try:
        text = gunzip(body)
        text = _SCALAR_CONTROL_VALUE.sub(_quoted, text)
        payload = pa_json.read_json(io.BytesIO(text), parse_options=_PARSE_OPTIONS)
        rows = _bronze_rows(payload, key, hour)
    except (pa.ArrowException, *GZIP_ERRORS):
        parsed = parse_object(key, body)
        return ArrowObject(key, line_rows(parsed, hour), parsed)
    return ArrowObject(key, rows, None)


def _bronze_rows(payload: pa.Table, key: str, hour: IngestHour) -> pa.Table:
    columns = {}
    for spec in PAYLOAD_FIELDS:
        column = payload.column(spec.name)
        if pa.types.is_timestamp(spec.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), spec.type)
        columns[spec.name] = column
    count = payload.num_rows
    columns["events_type"] = payload.column("event_type")
    columns["ingest_dt"] = pa.repeat(pa.scalar(hour.ingest_dt, pa.date32()), count)
    columns["hour"] = pa.repeat(pa.scalar(hour.hour), count)
    columns["source_object"] = pa.repeat(pa.scalar(key), count)
    return pa.table(columns, schema=BRONZE_EVENTS)


def line_rows(parsed: ParsedObject, hour: IngestHour) -> pa.Table:
    rows = [
        row
        | {
            "events_type": row["event_type"],
            "ingest_dt": hour.ingest_dt,
            "hour": hour.hour,
            "source_object": parsed.key,
        }
        for row in parsed.rows
    ]
    return pa.Table.from_pylist(rows, schema=BRONZE_EVENTS)


def read_chunks(
    store: LandingStore, keys: list[str], hour: IngestHour, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[pa.Table, list[ArrowObject]]]:
    """The hour's rows in chunks of about ``chunk_rows``, with the objects each chunk holds."""
    pending: list[ArrowObject] = []
    size = 0
    for key in keys:
        item = read_object(key, store.get(key), hour)
        pending.append(item)
        size += item.rows.num_rows if item.rows is not None else 0
        if size >= chunk_rows:
            yield _concat(pending), pending
            pending, size = [], 0
    if pending:
        yield _concat(pending), pending


def _concat(objects: list[ArrowObject]) -> pa.Table:
    tables = [item.rows for item in objects if item.rows is not None and item.rows.num_rows]
    return pa.concat_tables(tables) if tables else BRONZE_EVENTS.empty_table()
