"""The core's quick path for schema-valid events decides every event as the full path does:
same status, reason, issues, record bytes and quarantine row."""

from __future__ import annotations

import io
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from streaming.contracts.settings import IngestSettings
from streaming.generator import TrafficConfig
from streaming.generator.sinks.jsonl import write_jsonl
from streaming.generator.violations import INVALID_KINDS, violate
from streaming.ingest.core import ACCEPTED, DISCARDED, EventResult, IngestCore, request_context
from tests.event_examples import MINIMAL_EVENT

KEY = b"k" * 32
REQUEST = request_context(
    received_at_ms=1_000, client_ip="203.0.113.77", viewer_country="il", source="http"
)


def counter_ids() -> Callable[[], str]:
    numbers = itertools.count()
    return lambda: f"assigned-{next(numbers)}"


def events() -> list[Any]:
    config = TrafficConfig(
        events=2_000, seed=3, start=datetime(2026, 11, 1, tzinfo=UTC), invalid_share=0.1
    )
    buffer = io.BytesIO()
    write_jsonl(config, buffer)
    generated = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    rng = random.Random(5)
    broken = [violate(generated[0], kind, rng) for kind in INVALID_KINDS]
    deep: Any = 1
    for _ in range(80):
        deep = [deep]
    no_id = {key: value for key, value in MINIMAL_EVENT.items() if key != "event_id"}
    consent_off = {**MINIMAL_EVENT, "user": {"consent": {"analytics": False}}}
    huge = {**MINIMAL_EVENT, "ctx": {"page_url": "x" * 8000, "referrer": "y" * 8000}}
    odd = [
        {**MINIMAL_EVENT, "extra": deep},
        {**consent_off, "extra": deep},
        consent_off,
        no_id,
        huge,
        {**MINIMAL_EVENT, "schema_version": "1.1.0"},
        {**MINIMAL_EVENT, "schema_version": "2.0.0"},
        [1],
        None,
    ]
    return [*generated, *broken, *odd]


def observed(result: EventResult) -> tuple[Any, ...]:
    return (
        result.answer(),
        result.issues,
        tuple(result.record) if result.record else None,
        result.quarantined,
    )


@pytest.mark.parametrize("max_nesting_depth", [64, 3, 1])
def test_quick_and_full_paths_decide_alike(max_nesting_depth: int) -> None:
    settings = IngestSettings(max_nesting_depth=max_nesting_depth)
    core = IngestCore(settings, KEY)
    sample = events()
    full_ids, quick_ids = counter_ids(), counter_ids()
    full = [core._decide(event, REQUEST, index, full_ids) for index, event in enumerate(sample)]
    quick = [
        core.process_event(event, REQUEST, index=index, event_id_factory=quick_ids)
        for index, event in enumerate(sample)
    ]
    assert list(map(observed, quick)) == list(map(observed, full))
    statuses = {result.status for result in quick}
    assert statuses == (
        {ACCEPTED, DISCARDED, "rejected"} if max_nesting_depth > 2 else {"rejected"}
    )


def test_a_batch_decides_as_its_events_one_by_one() -> None:
    core = IngestCore(IngestSettings(), KEY)
    sample = [
        event for event in events() if not (isinstance(event, dict) and "event_id" not in event)
    ]
    processed = core.process(sample, REQUEST)
    one_by_one = [core.process_event(event, REQUEST, index=i) for i, event in enumerate(sample)]
    assert list(map(observed, processed.results)) == list(map(observed, one_by_one))
    assert processed.records == [result.record for result in one_by_one if result.record]
    assert processed.accepted == sum(result.status == ACCEPTED for result in one_by_one)


@pytest.mark.parametrize("size", [1, 7, 100])
def test_any_cut_of_a_shuffled_request_decides_as_one_by_one(size: int) -> None:
    core = IngestCore(IngestSettings(), KEY)
    sample = [
        event for event in events() if not (isinstance(event, dict) and "event_id" not in event)
    ]
    random.Random(size).shuffle(sample)
    one_by_one = [core.process_event(event, REQUEST, index=i) for i, event in enumerate(sample)]
    batched = [
        result
        for start in range(0, len(sample), size)
        for result in core.process(sample[start : start + size], REQUEST, first_index=start).results
    ]
    assert list(map(observed, batched)) == list(map(observed, one_by_one))
