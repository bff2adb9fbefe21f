"""Landed lines to bronze rows, one line at a time: the exact path for objects the fast readers
refuse, and the reference for what the fast readers must produce.

Values are typed as DuckDB's JSON reader types them for ``tables.BRONZE_EVENTS``: a text field
takes any JSON value (non-strings as their JSON text), integers take integers, booleans and
integral numbers, ``ts`` takes an ISO-8601 string (an offset is converted to UTC). A line that
is not JSON, not an object, or has a value that cannot take its field's type is rejected with
its reasons; it never stops the lines around it.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from isal import igzip, isal_zlib

from lakehouse.tables import BRONZE_EVENTS
from streaming.contracts.schema_registry import ValidationIssue

CORRUPT_OBJECT = "corrupt_object"
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
BAD_FIELD = "bad_field"

LOAD_COLUMNS = ("events_type", "ingest_dt", "hour", "source_object")
"""Columns the load adds to every landed record."""
PAYLOAD_FIELDS = [spec for spec in BRONZE_EVENTS if spec.name not in LOAD_COLUMNS]


@dataclass(frozen=True)
class Reject:
    """A line (or a whole unreadable object, ``line_number`` None) the load could not use."""

    source_object: str
    line_number: int | None
    kind: str
    reasons: list[ValidationIssue]
    payload: bytes
    event_id: str | None = None


@dataclass
class ParsedObject:
    key: str
    lines: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


class FieldError(ValueError):
    def __init__(self, pointer: str, keyword: str, message: str) -> None:
        super().__init__(message)
        self.issue = ValidationIssue(pointer, keyword, message)


_ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]  # the stub says an instance
GZIP_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error, _ISAL_ERROR)
"""What decompressing a corrupt object raises."""


def gunzip(body: bytes) -> bytes:
    """The whole object decompressed (every gzip member), or one of ``GZIP_ERRORS``."""
    return igzip.decompress(body)


INFLATE_PIECE_BYTES = 2**20
"""Inflated in pieces of this size: a whole object's text in one buffer cost more in page
faults than the inflating itself."""


def gunzip_file(source: Path, target: Path) -> None:
    """``source`` inflated into ``target`` (every gzip member), or one of ``GZIP_ERRORS``."""
    with igzip.open(source, "rb") as compressed, target.open("wb") as inflated:
        shutil.copyfileobj(compressed, inflated, INFLATE_PIECE_BYTES)


def split_lines(text: bytes) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based line numbers."""
    for number, line in enumerate(text.split(b"\n"), start=1):
        if line.strip():
            yield number, line


def parse_object(key: str, body: bytes) -> ParsedObject:
    """Every line of one landed object as a bronze payload row or a reject."""
    parsed = ParsedObject(key)
    try:
        text = gunzip(body)
    except GZIP_ERRORS as error:
        parsed.lines = 1  # an unreadable object counts as one rejected unit
        parsed.rejects.append(
            Reject(key, None, CORRUPT_OBJECT, [ValidationIssue("", "gzip", str(error))], body)
        )
        return parsed
    for number, line in split_lines(text):
        parsed.lines += 1
        outcome = parse_line(key, number, line)
        if isinstance(outcome, Reject):
            parsed.rejects.append(outcome)
        else:
            parsed.rows.append(outcome)
    return parsed


def parse_line(key: str, number: int, line: bytes) -> dict[str, Any] | Reject:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return Reject(key, number, MALFORMED_JSON, [ValidationIssue("", "json", str(error))], line)
    if not isinstance(document, dict):
        issue = ValidationIssue("", "type", f"expected an object, got {type(document).__name__}")
        return Reject(key, number, NOT_AN_OBJECT, [issue], line)
    row: dict[str, Any] = {}
    issues: list[ValidationIssue] = []
    for spec in PAYLOAD_FIELDS:
        try:
            row[spec.name] = convert(document.get(spec.name), spec.type, f"/{spec.name}")
        except FieldError as error:
            issues.append(error.issue)
    if issues:
        event_id = document.get("event_id")
        return Reject(
            key, number, BAD_FIELD, issues, line, event_id if isinstance(event_id, str) else None
        )
    return row


def convert(value: Any, arrow_type: pa.DataType, pointer: str) -> Any:
    if value is None:
        return None
    if pa.types.is_string(arrow_type):
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    if pa.types.is_boolean(arrow_type):
        if isinstance(value, bool):
            return value
        raise FieldError(pointer, "type", f"expected a boolean, got {value!r:.80}")
    if pa.types.is_integer(arrow_type):
        return _integer(value, pointer)
    if pa.types.is_timestamp(arrow_type):
        return _timestamp(value, pointer)
    if pa.types.is_list(arrow_type):
        if not isinstance(value, list):
            raise FieldError(pointer, "type", f"expected an array, got {value!r:.80}")
        return [
            convert(item, arrow_type.value_type, f"{pointer}/{index}")
            for index, item in enumerate(value)
        ]
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            raise FieldError(pointer, "type", f"expected an object, got {value!r:.80}")
        return {
            child.name: convert(value.get(child.name), child.type, f"{pointer}/{child.name}")
            for child in arrow_type
        }
    raise TypeError(f"no conversion to {arrow_type}")


def _integer(value: Any, pointer: str) -> int:
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise FieldError(pointer, "type", f"expected an integer, got {value!r:.80}")


def _timestamp(value: Any, pointer: str) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.upper())  # RFC 3339 allows "t" and "z"
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):  # overflow: in UTC before year 1 or after 9999
            pass
        else:
            return moment
    raise FieldError(pointer, "format", f"expected an ISO-8601 date-time, got {value!r:.80}")
