"""Rows of ``lake.quarantine_events``: the ingest's rejections as landed under the quarantine
prefix (stage ``ingest``) and the bronze load's own rejects (stage ``bronze_load``)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
from pyiceberg.expressions import And, EqualTo, StartsWith
from pyiceberg.table import Table

from lakehouse.bronze_rows import (
    BAD_FIELD,
    MALFORMED_JSON,
    NOT_AN_OBJECT,
    ParsedObject,
    Reject,
    gunzip,
    parse_object,
    split_lines,
)
from lakehouse.load_ledger import delete_matching, hour_filter
from lakehouse.tables import QUARANTINE_EVENTS
from lakehouse.transactions import begin
from streaming.contracts.landing import IngestHour
from streaming.contracts.schema_registry import ValidationIssue

INGEST = "ingest"
BRONZE_LOAD = "bronze_load"
_INGEST_RECORD_FIELDS: dict[str, type] = {
    "received_at": int,
    "kind": str,
    "reasons": list,
    "payload": str,
}


def reject_rows(
    rejects: list[Reject], hour: IngestHour, quarantined_at: datetime, payload_cap: int
) -> list[dict[str, Any]]:
    return [
        {
            "quarantined_at": quarantined_at,
            "stage": BRONZE_LOAD,
            "kind": reject.kind,
            "reasons": orjson.dumps([issue.as_dict() for issue in reject.reasons]).decode(),
            "payload": reject.payload[:payload_cap].decode("utf-8", errors="replace"),
            "payload_truncated": len(reject.payload) > payload_cap,
            "event_id": reject.event_id,
            "source_object": reject.source_object,
            "line_number": reject.line_number,
            "ingest_dt": hour.ingest_dt,
            "hour": hour.hour,
        }
        for reject in rejects
    ]


def parse_ingest_object(key: str, body: bytes, hour: IngestHour) -> ParsedObject:
    """The ingest's quarantine records of one landed object as table rows; lines that are not
    such records are rejects of this load."""
    parsed = ParsedObject(key)
    try:
        text = gunzip(body)
    except (OSError, EOFError, zlib.error):
        return parse_object(key, body)  # reports the object as corrupt
    for number, line in split_lines(text):
        parsed.lines += 1
        outcome = _ingest_row(key, number, line, hour)
        if isinstance(outcome, Reject):
            parsed.rejects.append(outcome)
        else:
            parsed.rows.append(outcome)
    return parsed


def _ingest_row(key: str, number: int, line: bytes, hour: IngestHour) -> dict[str, Any] | Reject:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return Reject(key, number, MALFORMED_JSON, [ValidationIssue("", "json", str(error))], line)
    if not isinstance(record, dict):
        issue = ValidationIssue("", "type", f"expected an object, got {type(record).__name__}")
        return Reject(key, number, NOT_AN_OBJECT, [issue], line)
    issues = [
        ValidationIssue(f"/{name}", "type", f"{name!r} must be {expected.__name__}")
        for name, expected in _INGEST_RECORD_FIELDS.items()
        if not isinstance(record.get(name), expected) or isinstance(record.get(name), bool)
    ]
    if issues:
        return Reject(key, number, BAD_FIELD, issues, line)
    return {
        "quarantined_at": datetime.fromtimestamp(record["received_at"] / 1000, UTC).replace(
            tzinfo=None
        ),
        "stage": INGEST,
        "kind": record["kind"],
        "reasons": orjson.dumps(record["reasons"]).decode(),
        "payload": record["payload"],
        "payload_truncated": record.get("payload_truncated") is True,
        "event_id": _event_id(record["payload"]),
        "source_object": key,
        "line_number": number,
        "ingest_dt": hour.ingest_dt,
        "hour": hour.hour,
    }


def _event_id(payload: str) -> str | None:
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) else None


def replace_rows(
    table: Table, hour: IngestHour, stage: str, object_prefix: str, rows: list[dict[str, Any]]
) -> None:
    """The hour's rows of ``stage`` from objects under ``object_prefix`` become ``rows``."""
    data = pa.Table.from_pylist(rows, schema=QUARANTINE_EVENTS)
    scope = And(
        hour_filter(hour),
        EqualTo(term="stage", value=stage),
        StartsWith(term="source_object", value=object_prefix),
    )
    with begin(table) as transaction:
        if table.current_snapshot() is not None:
            delete_matching(transaction, scope)
        if data.num_rows:
            transaction.append(data)
