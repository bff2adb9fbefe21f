"""The landing store: where Firehose (or its local equivalent) delivers objects.

Keys follow Firehose's dynamic-partitioning layout of the bronze prefix::

    bronze/events_type=<t>/ingest_dt=YYYY-MM-DD/hour=HH/<stream>-<n>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.gz

Each object is GZIP'd newline-delimited JSON. Rejected events go under the quarantine prefix
with the same date/hour partitioning, and records delivery could not partition under the error
prefix (``errors/<error-type>/ingest_dt=…/hour=…/``). One interface serves a local directory and
S3.
"""

from __future__ import annotations

import builtins
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class LandedObject:
    key: str
    size: int
    last_modified: float


class LandingStore(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str = "") -> Iterator[LandedObject]: ...

    # builtins.list: in these class bodies, ``list`` is the listing method
    def folders(self, prefix: str) -> builtins.list[str]:
        """The names one level below ``prefix`` (a key prefix ending in '/'), sorted."""
        ...


class LocalLandingStore:
    """A directory standing in for the landing bucket; writes are atomic (temp file, rename).
    ``durable=False`` leaves out the fsync of each object: for data that can be made again
    (``clickstream generate --landing``), never for what the delivery lands."""

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        self.root = root
        self.durable = durable

    def put(self, key: str, body: bytes) -> None:
        write_atomically(self.root / key, body, durable=self.durable)

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def list(self, prefix: str = "") -> Iterator[LandedObject]:
        base = self.root / prefix
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                yield LandedObject(
                    path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime
                )

    def folders(self, prefix: str) -> builtins.list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(path.name for path in base.iterdir() if path.is_dir())


class S3LandingStore:
    """The landing bucket itself (a single ``put_object`` is atomic on S3)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        # No Content-Encoding header: like Firehose, the object *is* a .gz file, so clients
        # must not decompress it on download.
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def list(self, prefix: str = "") -> Iterator[LandedObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield LandedObject(item["Key"], item["Size"], item["LastModified"].timestamp())

    def folders(self, prefix: str) -> builtins.list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        names = [
            common["Prefix"][len(prefix) :].rstrip("/")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
            for common in page.get("CommonPrefixes", [])
        ]
        return sorted(names)


def landing_store(
    settings: Settings, s3_client: Any = None, *, durable: bool = True
) -> LandingStore:
    """The settings' landing store; ``durable`` as for :class:`LocalLandingStore` (S3 writes
    are always durable)."""
    if settings.env == "local":
        return LocalLandingStore(settings.landing_dir, durable=durable)
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3", region_name=settings.region)
    return S3LandingStore(s3_client, settings.bucket_name("bronze"))


@dataclass(frozen=True)
class IngestHour:
    """An hour of arrival in UTC, named as the landing layout and the lake partitions name it."""

    start: datetime

    @classmethod
    def of(cls, moment: datetime) -> IngestHour:
        """The hour holding ``moment``; a naive datetime is taken as UTC."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return cls(moment.replace(minute=0, second=0, microsecond=0))

    @classmethod
    def of_key(cls, key: str) -> IngestHour | None:
        """The ingest hour a landing key is partitioned under, if any."""
        match = _HOUR_IN_KEY.search(key)
        if match is None:
            return None
        return cls(datetime.fromisoformat(f"{match[1]}T{match[2]}:00:00").replace(tzinfo=UTC))

    @property
    def ingest_dt(self) -> date:
        return self.start.date()

    @property
    def hour(self) -> str:
        return f"{self.start:%H}"

    @property
    def path(self) -> str:
        """The partition folders of this hour under any landing prefix."""
        return f"ingest_dt={self.ingest_dt.isoformat()}/hour={self.hour}"

    def __str__(self) -> str:
        return f"{self.ingest_dt.isoformat()}T{self.hour}"


_HOUR_IN_KEY = re.compile(r"/ingest_dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")
_INGEST_DAY_FOLDER = re.compile(r"ingest_dt=(\d{4}-\d{2}-\d{2})")


def hour_of_key(key: str) -> datetime | None:
    """The start of the ingest hour a landing key is partitioned under, if any."""
    hour = IngestHour.of_key(key)
    return None if hour is None else hour.start


def _partition_path(arrival: datetime) -> str:
    return IngestHour.of(arrival).path


def _object_name(stream_name: str, version: int, arrival: datetime, object_id: str) -> str:
    return f"{stream_name}-{version}-{arrival.astimezone(UTC):%Y-%m-%d-%H-%M-%S}-{object_id}.gz"


def bronze_key(settings: Settings, event_type: str, arrival: datetime, object_id: str) -> str:
    return (
        f"{settings.landing_bronze_prefix}/events_type={event_type}/{_partition_path(arrival)}/"
        + _object_name(
            settings.delivery_stream_name,
            settings.delivery.delivery_stream_version,
            arrival,
            object_id,
        )
    )


def quarantine_key(settings: Settings, arrival: datetime, object_id: str) -> str:
    return f"{settings.landing_quarantine_prefix}/{_partition_path(arrival)}/" + _object_name(
        settings.delivery_stream_name,
        settings.delivery.delivery_stream_version,
        arrival,
        object_id,
    )


def error_key(settings: Settings, error_type: str, arrival: datetime, object_id: str) -> str:
    """Where delivery puts records it could not partition, like Firehose's error output prefix
    ``errors/!{firehose:error-output-type}/ingest_dt=…/hour=…/``."""
    return (
        f"{settings.landing_error_prefix}/{error_type}/{_partition_path(arrival)}/"
        + _object_name(
            settings.delivery_stream_name,
            settings.delivery.delivery_stream_version,
            arrival,
            object_id,
        )
    )


def encode_records(records: Iterable[dict[str, Any]]) -> bytes:
    """GZIP'd newline-delimited JSON, as Firehose delivers with GZIP compression on."""
    return encode_lines(orjson.dumps(record) for record in records)


def encode_lines(lines: Iterable[bytes]) -> bytes:
    """:func:`encode_records` of records already serialized (compact JSON, one per item)."""
    return gzip.compress(b"".join(line + b"\n" for line in lines), compresslevel=6, mtime=0)


def count_records(body: bytes) -> int:
    """Non-empty lines of a landed object, counted without parsing them."""
    return sum(1 for line in gzip.decompress(body).splitlines() if line.strip())


def decode_records(body: bytes) -> list[dict[str, Any]]:
    return list(iter_records(body))


def iter_records(body: bytes) -> Iterator[dict[str, Any]]:
    """The records of a gzipped JSON-lines object one at a time, never all of them inflated."""
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def quarantine_record(
    raw_payload: bytes,
    reasons: list[dict[str, str]],
    *,
    received_at_ms: int,
    source: str,
    kind: str,
    payload_cap: int,
) -> dict[str, Any]:
    """A rejected event as kept for inspection and recovery: why, when, and what was sent."""
    text = raw_payload[:payload_cap].decode("utf-8", errors="replace")
    return {
        "received_at": received_at_ms,
        "source": source,
        "kind": kind,
        "reasons": reasons,
        "payload": text,
        "payload_bytes": len(raw_payload),
        "payload_truncated": len(raw_payload) > payload_cap,
    }


def first_ingest_day(settings: Settings, store: LandingStore) -> date | None:
    """The first ingest date anything landed under (bronze or quarantine), from the folder
    layout alone: a handful of listings, however many objects there are."""
    bronze = settings.landing_bronze_prefix + "/"
    parents = [bronze + name + "/" for name in store.folders(bronze)]
    parents.append(settings.landing_quarantine_prefix + "/")
    days = [
        date.fromisoformat(match[1])
        for parent in parents
        for name in store.folders(parent)
        if (match := _INGEST_DAY_FOLDER.fullmatch(name))
    ]
    return min(days, default=None)


def bronze_objects(
    store: LandingStore, settings: Settings, hour: IngestHour, event_types: Iterable[str]
) -> list[LandedObject]:
    """The bronze objects that landed in ``hour`` under each of ``event_types`` (Firehose
    partitions bronze by event type: ``schema_registry.producer_event_types``), in key order."""
    objects: list[LandedObject] = []
    for event_type in event_types:
        prefix = f"{settings.landing_bronze_prefix}/events_type={event_type}/{hour.path}/"
        objects.extend(store.list(prefix))
    return sorted(objects, key=lambda item: item.key)


def quarantine_objects(
    store: LandingStore, settings: Settings, hour: IngestHour
) -> list[LandedObject]:
    """The quarantine objects that landed in ``hour``, in key order."""
    prefix = f"{settings.landing_quarantine_prefix}/{hour.path}/"
    return sorted(store.list(prefix), key=lambda item: item.key)


def landed_hours(settings: Settings, store: LandingStore | None = None) -> list[datetime]:
    """Every ingest hour that has bronze or quarantine objects in the landing store, in order."""
    store = store or landing_store(settings)
    hours = set()
    for prefix in (settings.landing_bronze_prefix, settings.landing_quarantine_prefix):
        for landed in store.list(prefix + "/"):
            hour = hour_of_key(landed.key)
            if hour is not None:
                hours.add(hour)
    return sorted(hours)
