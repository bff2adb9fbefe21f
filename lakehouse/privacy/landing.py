"""The user's lines in the landing objects (bronze, quarantine, delivery errors, the segment
feed): each object holding one is rewritten in one atomic put without those lines, every other
line kept byte for byte; the load ledger then records the new sizes, so the rewrite is not
taken for a new arrival."""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import In

from lakehouse.privacy.subject import Subject, client_hashes_in
from lakehouse.reference_load import SEGMENTS_PREFIX
from lakehouse.tables import BRONZE_LEDGER
from lakehouse.transactions import begin
from streaming.contracts.landing import LandedObject, LandingStore
from streaming.contracts.settings import Settings

_GZIP_MAGIC = b"\x1f\x8b"


def _lines(body: bytes) -> tuple[list[bytes], bool]:
    """The object's lines (each with its newline) and whether it was gzipped."""
    compressed = body[:2] == _GZIP_MAGIC
    text = gzip.decompress(body) if compressed else body
    return text.splitlines(keepends=True), compressed


def _encode(lines: list[bytes], compressed: bool) -> bytes:
    text = b"".join(lines)
    return gzip.compress(text, compresslevel=6, mtime=0) if compressed else text


@dataclass
class LandingErasure:
    objects_rewritten: int = 0
    lines_removed: int = 0
    resized: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Rewritten key -> (new size, lines removed)."""


def landing_objects(store: LandingStore, settings: Settings) -> Iterator[LandedObject]:
    """Every object under the landing prefixes (on AWS the bucket also holds Iceberg files)."""
    prefixes = (
        settings.landing_bronze_prefix,
        settings.landing_quarantine_prefix,
        settings.landing_error_prefix,
    )
    for prefix in prefixes:
        yield from store.list(prefix + "/")
    yield from store.list(SEGMENTS_PREFIX)


def landing_lines(
    store: LandingStore, settings: Settings, subject: Subject
) -> Iterator[tuple[str, bytes]]:
    """Every landed line of the subject, with its object key."""
    for landed in landing_objects(store, settings):
        lines, _ = _lines(store.get(landed.key))
        for line in lines:
            if subject.mentioned_in(line):
                yield landed.key, line


def discover_client_hashes(settings: Settings, store: LandingStore, subject: Subject) -> Subject:
    """The subject with the client hashes its quarantined payloads were sent with."""
    found: set[str] = set()
    for landed in store.list(settings.landing_quarantine_prefix + "/"):
        found |= client_hashes_in(settings, subject, b"".join(_lines(store.get(landed.key))[0]))
    return subject.with_clients(found)


def erase_from_landing(
    store: LandingStore,
    settings: Settings,
    subject: Subject,
    on_rewrite: Callable[[str, int, int], None] | None = None,
) -> LandingErasure:
    """Rewrite every landed object holding a line of the subject without it; ``on_rewrite``
    hears of each rewrite (key, new size, lines removed) as soon as it is done."""
    result = LandingErasure()
    for landed in landing_objects(store, settings):
        body = store.get(landed.key)
        lines, compressed = _lines(body)
        kept = [line for line in lines if not subject.mentioned_in(line)]
        if len(kept) == len(lines):
            continue
        rewritten = _encode(kept, compressed)
        store.put(landed.key, rewritten)
        removed = len(lines) - len(kept)
        result.objects_rewritten += 1
        result.lines_removed += removed
        result.resized[landed.key] = (len(rewritten), removed)
        if on_rewrite is not None:
            on_rewrite(landed.key, len(rewritten), removed)
    return result


def record_rewrites(
    catalog: Catalog, settings: Settings, resized: dict[str, tuple[int, int]]
) -> None:
    """The ledger entries of rewritten objects, with their new size and line counts."""
    if not resized:
        return
    try:
        ledger = catalog.load_table(f"{settings.lake_namespace}.bronze_load_ledger")
    except NoSuchTableError:
        return
    if ledger.current_snapshot() is None:
        return
    where = In(term="object_key", literals=set(resized))
    rows = ledger.scan(row_filter=where).to_arrow().to_pylist()
    if not rows:
        return
    for row in rows:
        size, removed = resized[row["object_key"]]
        loaded = min(removed, row["loaded_rows"])
        row["object_size"] = size
        row["lines"] = max(row["lines"] - removed, 0)
        row["loaded_rows"] -= loaded
        row["quarantined_rows"] = max(row["quarantined_rows"] - (removed - loaded), 0)
    with begin(ledger) as transaction, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        transaction.delete(where)
        transaction.append(pa.Table.from_pylist(rows, schema=BRONZE_LEDGER))


def decoded(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.decode("utf-8", errors="replace").rstrip("\n")
