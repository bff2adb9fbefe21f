"""Landing objects exactly as the ingest and Firehose would leave them, without running either.

Every event goes through the ingest's own rules (:meth:`IngestCore.process_event`) with the
request context the HTTP ingest builds from the client's address, country and arrival time.
Accepted events' stream records are framed as the delivery frames them and land where Firehose
would put them: grouped per event type and buffer window of their arrival, in bronze. Rejected
events' quarantine rows go under the quarantine prefix, consent-off events nowhere. The
user-segment change log is written next to them as reference data, keyed like the events so the
two join.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import orjson

from streaming.contracts.landing import (
    LandingStore,
    bronze_key,
    encode_lines,
    encode_records,
    quarantine_key,
)
from streaming.contracts.settings import IngestSettings, Settings
from streaming.delivery.records import bronze_route
from streaming.enrichment import rekey_user_id_hash
from streaming.generator.config import TrafficConfig
from streaming.generator.determinism import derived_uuid
from streaming.generator.runner import run_slices
from streaming.generator.schedule import SlicePlan, plan_slices
from streaming.generator.segments import generate_segments
from streaming.generator.slices import collector_paused, draw_deliveries
from streaming.generator.summary import GenerationSummary, Tally
from streaming.ingest.core import IngestCore, request_context

Progress = Callable[[int], None]
BRONZE = "bronze"
QUARANTINE = "quarantine"


@dataclass(frozen=True)
class IngestParameters:
    """What the ingest core needs, in a form worker processes can receive."""

    ingest: IngestSettings
    hmac_key: bytes


class Landed(NamedTuple):
    """One record bound for an object: where it goes, and its place in the arrival order."""

    arrival_ms: int
    order: int
    """Position within the slice's arrivals (ties on arrival keep the order they were sent)."""
    prefix: str
    """``bronze`` or ``quarantine``."""
    event_type: str
    """The bronze partition; empty for quarantine."""
    line: bytes
    """The record as it lands (compact JSON): bytes cross from the worker processes cheaper
    than the record's objects."""
    size: int
    """Bytes of the record as one NDJSON line, for the buffer's size limit."""


@dataclass(frozen=True)
class SliceLanding:
    plan: SlicePlan
    landed: list[Landed]
    discarded: int
    tally: Tally


def land_slice(
    parameters: IngestParameters, config: TrafficConfig, plan: SlicePlan
) -> SliceLanding:
    """The slice's events after the ingest: bronze and quarantine records, and how many
    consent-off events were dropped."""
    core = IngestCore(parameters.ingest, parameters.hmac_key)
    landed: list[Landed] = []
    discarded = 0
    with collector_paused():
        deliveries, tally = draw_deliveries(config, plan)
        for order, delivery in enumerate(deliveries):
            arrival_ms = delivery.arrival_ms
            visit = delivery.visit
            request = request_context(
                received_at_ms=arrival_ms,
                client_ip=visit.client_ip,
                viewer_country=visit.viewer_country,
                source=visit.source,
            )
            result = core.process_event(
                orjson.loads(delivery.line),
                request,
                event_id_factory=_assigned_ids(config.seed, plan.index, order),
            )
            if result.record is not None:
                data = result.record.data
                partition, _, size = bronze_route(data)  # the delivery's routing
                landed.append(Landed(arrival_ms, order, BRONZE, partition.name, data, size))
            elif result.quarantined is not None:
                line = orjson.dumps(result.quarantined)
                landed.append(Landed(arrival_ms, order, QUARANTINE, "", line, len(line) + 1))
            else:
                discarded += 1
        del deliveries
    return SliceLanding(plan, landed, discarded, tally)


def _assigned_ids(seed: int, slice_index: int, order: int) -> Callable[[], str]:
    """The event id the ingest assigns when a client sent none, reproducible from the seed."""
    return lambda: derived_uuid(seed, "assigned-event-id", slice_index, order)


@dataclass
class LandingReport:
    bronze_objects: int = 0
    bronze_records: int = 0
    quarantine_objects: int = 0
    quarantined: int = 0
    discarded_consent_off: int = 0
    segment_rows: int = 0

    def as_sink(self) -> dict[str, int]:
        return dict(vars(self))


class _FirehoseBuffers:
    """Records grouped per prefix, event type and buffer window of their arrival; a window is
    written once no later slice can add to it, split where it outgrows the buffer size."""

    def __init__(
        self, store: LandingStore, settings: Settings, seed: int, buffer_ms: int, buffer_bytes: int
    ) -> None:
        self.store = store
        self.settings = settings
        self.seed = seed
        self.buffer_ms = buffer_ms
        self.buffer_bytes = buffer_bytes
        self.pending: dict[tuple[int, str, str], list[tuple[int, int, int, Landed]]] = defaultdict(
            list
        )
        self.report = LandingReport()

    def add(self, slice_index: int, landed: list[Landed]) -> None:
        buffer_ms = self.buffer_ms
        for item in landed:
            window = item.arrival_ms - item.arrival_ms % buffer_ms
            self.pending[(window, item.prefix, item.event_type)].append(
                (item.arrival_ms, slice_index, item.order, item)
            )

    def flush_before(self, moment_ms: int) -> None:
        """Write every window that ends by ``moment_ms``."""
        ready = sorted(key for key in self.pending if key[0] + self.buffer_ms <= moment_ms)
        for key in ready:
            self._write(key, self.pending.pop(key))

    def flush_all(self) -> None:
        for key in sorted(self.pending):
            self._write(key, self.pending.pop(key))

    def _write(
        self, key: tuple[int, str, str], entries: list[tuple[int, int, int, Landed]]
    ) -> None:
        window_ms, prefix, event_type = key
        entries.sort(key=lambda entry: entry[:3])
        window = datetime.fromtimestamp(window_ms / 1000, UTC)
        for part, lines in enumerate(self._parts(entries)):
            object_id = derived_uuid(self.seed, "landing", prefix, event_type, window_ms, part)
            if prefix == BRONZE:
                object_key = bronze_key(self.settings, event_type, window, object_id)
                self.report.bronze_objects += 1
                self.report.bronze_records += len(lines)
            else:
                object_key = quarantine_key(self.settings, window, object_id)
                self.report.quarantine_objects += 1
                self.report.quarantined += len(lines)
            self.store.put(object_key, encode_lines(lines))

    def _parts(self, entries: list[tuple[int, int, int, Landed]]) -> Iterator[list[bytes]]:
        part: list[bytes] = []
        size = 0
        for *_, item in entries:
            if part and size + item.size > self.buffer_bytes:
                yield part
                part, size = [], 0
            part.append(item.line)
            size += item.size
        if part:
            yield part


def write_landing(
    config: TrafficConfig,
    store: LandingStore,
    settings: Settings,
    *,
    workers: int = 1,
    buffer_seconds: int | None = None,
    progress: Progress | None = None,
) -> GenerationSummary:
    seconds = settings.delivery.buffer_seconds if buffer_seconds is None else buffer_seconds
    if seconds <= 0:
        raise ValueError(f"buffer_seconds must be > 0, got {seconds}")
    parameters = IngestParameters(ingest=settings.ingest, hmac_key=settings.hmac_key)
    buffers = _FirehoseBuffers(
        store, settings, config.seed, seconds * 1000, settings.delivery.buffer_bytes
    )
    starts = [plan.start_ms for plan in plan_slices(config)]
    tally = Tally()
    task = _LandSlice(parameters)
    for output in run_slices(config, task, workers):
        tally += output.tally
        buffers.report.discarded_consent_off += output.discarded
        buffers.add(output.plan.index, output.landed)
        following = output.plan.index + 1
        if following < len(starts):
            buffers.flush_before(starts[following])  # later slices only arrive after they start
        if progress is not None:
            progress(output.tally.events)
    buffers.flush_all()
    buffers.report.segment_rows = write_segments(config, store, parameters.hmac_key)
    return GenerationSummary.from_tally(config, tally, buffers.report.as_sink())


@dataclass(frozen=True)
class _LandSlice:
    """``land_slice`` with its parameters bound, picklable for worker processes."""

    parameters: IngestParameters

    def __call__(self, config: TrafficConfig, plan: SlicePlan) -> SliceLanding:
        return land_slice(self.parameters, config, plan)


def segments_key(config: TrafficConfig) -> str:
    return f"reference/user_segments/segments-{config.seed}-{config.start:%Y%m%dT%H%M}.jsonl.gz"


def write_segments(config: TrafficConfig, store: LandingStore, hmac_key: bytes) -> int:
    """The segment change log as gzip NDJSON, user hashes re-keyed as the ingest keys events."""
    rows = list(generate_segments(config))
    for row in rows:
        row["user_id_hash"] = rekey_user_id_hash(row["user_id_hash"], hmac_key)
    store.put(segments_key(config), encode_records(rows))
    return len(rows)
