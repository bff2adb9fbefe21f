"""The user-segment reference data: who is in which segment, and who enters or leaves when.

A change log for the generated population: first everyone's memberships as of a few days
before the run, then entries and exits during the run, ordered by time. Memberships at the
snapshot are the people's own (``Visitor.segments``), which also shape how they browse.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from streaming.generator.config import TrafficConfig
from streaming.generator.determinism import derived_rng, format_ts, uniforms
from streaming.generator.population import Population, visitor
from streaming.generator.schedule import DAY_MS
from streaming.generator.vocabulary import SEGMENT_KEYS

SNAPSHOT_DAYS_BEFORE_START = 3
CHANGES_PER_DAY = {
    "price_sensitive": 0.03,
    "returning": 0.05,
    "b2b": 0.002,
    "deal_hunter": 0.04,
    "newsletter": 0.02,
}
"""How often a person's membership of a segment flips, per day (b2b hardly ever changes)."""


def generate_segments(config: TrafficConfig) -> Iterator[dict[str, Any]]:
    """Rows ``{user_id_hash, segment_key, action: enter|leave, as_of_ts}`` ordered by
    ``as_of_ts`` (ties by person, then segment): never a ``leave`` without an earlier ``enter``,
    never two ``enter`` in a row for the same person and segment."""
    population = Population.for_events(config.events)
    snapshot_ts = format_ts(config.start_ms - SNAPSHOT_DAYS_BEFORE_START * DAY_MS)
    changes: list[tuple[int, int, int, str]] = []
    for index in range(population.users):
        person = visitor(config.seed, index)
        for key in SEGMENT_KEYS:
            if key in person.segments:
                yield _row(person.user_id_hash, key, "enter", snapshot_ts)
        changes.extend(_changes(config, index, person.segments))
    changes.sort()
    for at_ms, index, key_number, action in changes:
        key = SEGMENT_KEYS[key_number]
        yield _row(visitor(config.seed, index).user_id_hash, key, action, format_ts(at_ms))


def _changes(
    config: TrafficConfig, index: int, members_of: frozenset[str]
) -> Iterator[tuple[int, int, int, str]]:
    """Flips of one person's memberships during the run: a Poisson process per segment."""
    first_draws = uniforms(f"{config.seed}:segment-changes:{index}")
    span_ms = config.end_ms - config.start_ms
    for key_number, key in enumerate(SEGMENT_KEYS):
        mean_gap_ms = DAY_MS / CHANGES_PER_DAY[key]
        at_ms = -mean_gap_ms * math.log(1.0 - first_draws[key_number])
        if at_ms >= span_ms:
            continue  # the usual case: no change during the run
        rng = derived_rng(config.seed, "segment-changes", index, key)
        member = key in members_of
        while at_ms < span_ms:
            member = not member
            yield config.start_ms + int(at_ms), index, key_number, "enter" if member else "leave"
            at_ms += max(1000.0, -mean_gap_ms * math.log(1.0 - rng.random()))


def _row(user_id_hash: str, segment_key: str, action: str, as_of_ts: str) -> dict[str, Any]:
    return {
        "user_id_hash": user_id_hash,
        "segment_key": segment_key,
        "action": action,
        "as_of_ts": as_of_ts,
    }
