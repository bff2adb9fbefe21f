"""What delivery does with one stream record: the partition it lands in, or why it cannot.

Like Firehose's dynamic partitioning with the JQ query ``{events_type: .event_type}``, a record
must be a JSON object with a string ``event_type``; anything else goes to the error prefix as a
processing-failed document carrying the raw bytes (base64) and the reason.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any, Literal, NamedTuple

import orjson

from streaming.follower import ShardRecord

BRONZE: Literal["bronze"] = "bronze"
ERRORS: Literal["errors"] = "errors"
PARTITIONING_FAILED = "partitioning-failed"
"""The error type (folder under the error prefix) of records that cannot be partitioned."""
METADATA_EXTRACTION_FAILED = "DynamicPartitioning.MetadataExtractionFailed"
PARTITION_VALUE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""An ``event_type`` becomes a path segment: it must be a plain, short name."""


class Partition(NamedTuple):
    kind: Literal["bronze", "errors"]
    name: str
    """The event type for bronze, the error type for errors."""


class Routed(NamedTuple):
    partition: Partition
    record: dict[str, Any]
    size: int
    """Bytes the record adds to its buffer (one NDJSON line)."""


class UnpartitionableError(ValueError):
    """A record's data names no bronze partition; the message says why."""


def route(record: ShardRecord) -> Routed:
    try:
        return bronze_route(record.data)
    except UnpartitionableError as error:
        return failed(record, str(error))


def bronze_route(data: bytes) -> Routed:
    """The bronze partition of a stream record's data, and the record as it lands there."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise UnpartitionableError(f"record is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise UnpartitionableError(f"record is a JSON {_json_type(payload)}, not an object")
    event_type = payload.get("event_type")
    if not isinstance(event_type, str):
        raise UnpartitionableError("event_type is missing or not a string")
    if not PARTITION_VALUE.match(event_type):
        raise UnpartitionableError(f"event_type {event_type[:80]!r} cannot name a partition")
    return Routed(Partition(BRONZE, event_type), payload, len(data) + 1)


def failed(record: ShardRecord, reason: str) -> Routed:
    """A processing-failed document, shaped like the ones Firehose writes to its error prefix."""
    document = {
        "attemptsMade": 1,
        "arrivalTimestamp": int(record.arrival.timestamp() * 1000),
        "errorCode": METADATA_EXTRACTION_FAILED,
        "errorMessage": reason,
        "attemptEndingTimestamp": int(time.time() * 1000),
        "rawData": base64.b64encode(record.data).decode("ascii"),
        "shardId": record.shard_id,
        "sequenceNumber": record.sequence_number,
        "partitionKey": record.partition_key,
    }
    return Routed(Partition(ERRORS, PARTITIONING_FAILED), document, len(orjson.dumps(document)) + 1)


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
