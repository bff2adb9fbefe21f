"""One time slice of traffic: visits until the slice's budget is met, then the dirt, in arrival
order. A slice depends only on the config and its plan, so slices can run in any process."""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import orjson

from streaming.generator.config import TrafficConfig
from streaming.generator.determinism import derived_rng
from streaming.generator.population import Population
from streaming.generator.schedule import HOUR_MS, SlicePlan
from streaming.generator.sessions import Visit, VisitFactory
from streaming.generator.summary import Tally
from streaming.generator.violations import INVALID_KINDS, PREFERRED_EVENT_TYPE, violate

PERSON, CONSENT_OFF, CRAWLER, SERVER = "person", "consent_off", "crawler", "server"
"""Kinds of visit: a person, a person without analytics consent, a crawler, a server burst."""
MEAN_EVENTS = {PERSON: 3.8, CONSENT_OFF: 3.8, CRAWLER: 14.0, SERVER: 3.5}
"""Typical visit lengths, used to turn event-share quotas into per-visit chances."""
WEB_DELIVERY_MEAN_MS = 350
WEB_DELIVERY_MAX_MS = 8000
_WEB_DELIVERY_DELAYS = tuple(
    20 + min(WEB_DELIVERY_MAX_MS, int(-WEB_DELIVERY_MEAN_MS * math.log(1 - (slot + 0.5) / 4096)))
    for slot in range(4096)
)
"""Browser SDK flush and network delay (ms): exponential quantiles, drawn with one random()."""
LATE_MIN_MS = HOUR_MS
LATE_MAX_MS = 6 * HOUR_MS


class GeneratedEvent(NamedTuple):
    """One event as it reaches the ingest, with the labels that explain it.

    ``payload`` is the client event exactly as sent; treat it as read-only.
    """

    payload: dict[str, Any]
    arrival_ms: int
    """When the request carrying the event reaches the ingest (epoch ms, UTC)."""
    client_ip: str
    viewer_country: str | None
    """What the CDN's viewer-country header says; None when the header is missing."""
    source: str
    """``web`` for browser SDKs, ``server`` for the redirect service and server tracker."""
    duplicate_of_earlier: bool = False
    late: bool = False
    bot: bool = False
    consent_off: bool = False
    sessionless: bool = False
    invalid_kind: str | None = None
    ts_ms: int = 0
    """When the event happened on the client (epoch ms), before any violation."""


class Delivery(NamedTuple):
    """An event of a slice as delivered: its JSON text and what the labels need."""

    line: str
    """The payload as compact JSON (no newline)."""
    event_type: str
    """As generated (a violation may have changed or removed the payload's)."""
    arrival_ms: int
    ts_ms: int
    visit: Visit
    duplicate_of_earlier: bool
    late: bool
    invalid_kind: str | None

    def event(self) -> GeneratedEvent:
        visit = self.visit
        return GeneratedEvent(
            orjson.loads(self.line),
            self.arrival_ms,
            visit.client_ip,
            visit.viewer_country,
            visit.source,
            self.duplicate_of_earlier,
            self.late,
            visit.bot,
            visit.consent_off,
            visit.sessionless,
            self.invalid_kind,
            self.ts_ms,
        )


@contextmanager
def collector_paused() -> Iterator[None]:
    """A slice allocates hundreds of thousands of acyclic objects; the cyclic garbage collector
    would rescan them again and again for nothing. Callers free what they do not return before
    leaving, so the collector never sees it either."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def draw_slice(config: TrafficConfig, plan: SlicePlan) -> tuple[list[GeneratedEvent], Tally]:
    """The slice's events sorted by arrival (ties keep generation order), and their tally."""
    with collector_paused():
        deliveries, tally = draw_deliveries(config, plan)
        events = [delivery.event() for delivery in deliveries]
        del deliveries
    return events, tally


def draw_deliveries(config: TrafficConfig, plan: SlicePlan) -> tuple[list[Delivery], Tally]:
    """The slice's deliveries in arrival order (ties keep generation order), and their tally."""
    rng = derived_rng(config.seed, "slice", plan.index)
    tally = Tally()
    deliveries = _draw_visits(config, plan, rng, tally)
    base_count = len(deliveries)
    invalid = _choose_invalid(plan, deliveries, rng)
    taken = set(invalid)
    late = _pick(rng, base_count, plan.late, taken)
    taken.update(late)
    originals = _pick(rng, base_count, plan.duplicates, taken)
    if len(originals) < plan.duplicates:  # tiny slices: re-send whatever there is
        originals += [rng.randrange(base_count) for _ in range(plan.duplicates - len(originals))]

    random_ = rng.random
    for position, kind in invalid.items():
        delivery = deliveries[position]
        line = orjson.dumps(violate(orjson.loads(delivery.line), kind, rng)).decode()
        deliveries[position] = delivery._replace(line=line, invalid_kind=kind)
        tally.by_event_type[delivery.event_type] -= 1
        tally.invalid_by_kind[kind] += 1
    for position in late:
        delivery = deliveries[position]
        delay = LATE_MIN_MS + int((LATE_MAX_MS - LATE_MIN_MS) * random_())
        deliveries[position] = delivery._replace(arrival_ms=delivery.ts_ms + delay, late=True)
    tally.late += len(late)
    for position in originals:
        original = deliveries[position]
        if random_() < 0.6:
            resend_after = 1000 + int(29_000 * random_())
        else:
            resend_after = 30_000 + int(870_000 * random_())
        deliveries.append(
            original._replace(
                arrival_ms=original.arrival_ms + resend_after, duplicate_of_earlier=True
            )
        )
        tally.count_resend(original)
    deliveries.sort(key=_arrival)
    return deliveries, tally


def _arrival(delivery: Delivery) -> int:
    return delivery.arrival_ms


def _draw_visits(
    config: TrafficConfig, plan: SlicePlan, rng: random.Random, tally: Tally
) -> list[Delivery]:
    """On-time deliveries of visits starting uniformly within the slice until its base budget is
    met; the kind of each visit is drawn so the slice's quotas of bot, server and consent-off
    events come out even."""
    factory = VisitFactory(
        config.seed, Population.for_events(config.events), rng, config.conversion_rate
    )
    target = plan.base
    chooser = _KindChooser(plan)
    span = plan.end_ms - plan.start_ms
    deliveries: list[Delivery] = []
    append = deliveries.append
    random_ = rng.random
    by_type = tally.by_event_type
    web_delay = _WEB_DELIVERY_DELAYS
    delay_slots = len(web_delay)
    new = tuple.__new__  # a named tuple's own constructor is a Python function: 3x slower
    while len(deliveries) < target:
        remaining = target - len(deliveries)
        kind = chooser.next_kind(remaining, random_())
        start = plan.start_ms + int(span * random_())
        if kind == CRAWLER:
            visit, drafts = factory.crawler_session(start)
        elif kind == SERVER:
            visit, drafts = factory.server_burst(start)
        else:
            visit, drafts = factory.person_session(start, consent_off=kind == CONSENT_OFF)
        limit = chooser.limit(kind, remaining)
        if len(drafts) > limit:
            drafts = drafts[:limit]
        chooser.made(kind, len(drafts))
        if visit.sessionless:
            for ts, event_type, line in drafts:
                arrival = ts + 5 + int(250 * random_())
                append(new(Delivery, (line, event_type, arrival, ts, visit, False, False, None)))
                by_type[event_type] += 1
        else:
            for ts, event_type, line in drafts:
                arrival = ts + web_delay[int(random_() * delay_slots)]
                append(new(Delivery, (line, event_type, arrival, ts, visit, False, False, None)))
                by_type[event_type] += 1
        tally.count_visit(visit, drafts[0][0], drafts[-1][0], len(drafts))
    return deliveries


class _KindChooser:
    """Draws the kind of the next visit so that, at every point of the slice, the remaining
    quota of each special kind is spread evenly over the remaining budget (weighted by how many
    events a visit of that kind brings)."""

    __slots__ = ("_made", "_quotas")
    _SPECIAL = (CRAWLER, SERVER, CONSENT_OFF)

    def __init__(self, plan: SlicePlan) -> None:
        self._quotas = {CRAWLER: plan.bots, SERVER: plan.sessionless, CONSENT_OFF: plan.consent_off}
        self._made = dict.fromkeys(self._quotas, 0)

    def limit(self, kind: str, remaining: int) -> int:
        """How many events the next visit may bring: a special visit ends once its kind's quota
        is met (a crawler stops crawling, a consent-off visitor leaves early)."""
        if kind == PERSON:
            return remaining
        return min(remaining, max(1, self._quotas[kind] - self._made[kind]))

    def made(self, kind: str, events: int) -> None:
        if kind in self._made:
            self._made[kind] += events

    def next_kind(self, remaining: int, draw: float) -> str:
        weights = []
        special_share = 0.0
        for kind in self._SPECIAL:
            share = min(1.0, max(0, self._quotas[kind] - self._made[kind]) / remaining)
            special_share += share
            weights.append(share / MEAN_EVENTS[kind])
        person_weight = max(0.0, 1.0 - special_share) / MEAN_EVENTS[PERSON]
        threshold = draw * (sum(weights) + person_weight)
        for kind, weight in zip(self._SPECIAL, weights, strict=True):
            threshold -= weight
            if threshold < 0:
                return kind
        return PERSON


def _choose_invalid(
    plan: SlicePlan, deliveries: list[Delivery], rng: random.Random
) -> dict[int, str]:
    """Base positions to break, and how: kinds continue the run-wide cycle at the slice's offset,
    each preferring an event of the type it suits. Consent-off events are never broken, since
    an ingest drops them before anyone could tell."""
    if not plan.invalid:
        return {}
    by_type: dict[str, list[int]] = {}
    eligible: list[int] = []
    for position, delivery in enumerate(deliveries):
        if not delivery.visit.consent_off:
            eligible.append(position)
            by_type.setdefault(delivery.event_type, []).append(position)
    chosen: dict[int, str] = {}
    for number in range(plan.invalid):
        if len(chosen) >= len(eligible):
            break
        kind = INVALID_KINDS[(plan.invalid_offset + number) % len(INVALID_KINDS)]
        preferred = by_type.get(PREFERRED_EVENT_TYPE.get(kind, ""), eligible)
        for _attempt in range(20):
            position = preferred[rng.randrange(len(preferred))]
            if position not in chosen:
                break
        while position in chosen:
            position = eligible[rng.randrange(len(eligible))]
        chosen[position] = kind
    return chosen


def _pick(rng: random.Random, population: int, count: int, excluded: set[int]) -> list[int]:
    """``count`` distinct positions in ``range(population)`` outside ``excluded`` (fewer when
    there are not enough), in the order drawn."""
    available = population - len(excluded)
    count = min(count, available)
    if count <= 0:
        return []
    picked: list[int] = []
    seen = set(excluded)
    if count * 2 > available:
        candidates = [position for position in range(population) if position not in seen]
        return rng.sample(candidates, count)
    while len(picked) < count:
        position = rng.randrange(population)
        if position not in seen:
            seen.add(position)
            picked.append(position)
    return picked
