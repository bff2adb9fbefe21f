"""When traffic happens: a diurnal curve over fixed time slices, and each slice's exact quotas.

The run is cut into slices of a few minutes. The exact event total is apportioned over slices by
the curve, and every dirty-traffic quota over slices by their budgets, with integer largest-
remainder apportionment: a slice's plan depends only on the config, never on the worker count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import accumulate, pairwise

from streaming.generator.config import TrafficConfig
from streaming.generator.determinism import apportion

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SLICE_SECONDS_CHOICES = (600, 300, 120, 60, 30)
MAX_EVENTS_PER_SLICE = 16_000
TROUGH_HOUR_UTC = 4.0
TROUGH_LEVEL = 0.22
WEEKEND_LEVEL = 0.82


@dataclass(frozen=True, slots=True)
class SlicePlan:
    """One slice of the run: its time range, its exact line budget and its quotas.

    ``duplicates`` are re-sends on top of the slice's base events (``budget - duplicates``);
    the other quotas count base events.
    """

    index: int
    start_ms: int
    end_ms: int
    budget: int
    duplicates: int
    late: int
    invalid: int
    invalid_offset: int
    """How many invalid events all earlier slices hold: where this slice enters the kind cycle."""
    bots: int
    sessionless: int
    consent_off: int

    @property
    def base(self) -> int:
        return self.budget - self.duplicates


def diurnal_weight(epoch_ms: int) -> float:
    """Relative traffic at a moment (UTC): trough before dawn in Europe, peak in the afternoon
    when Europe and the Americas overlap, a little less at weekends."""
    hour = (epoch_ms % DAY_MS) / HOUR_MS
    weekday = (epoch_ms // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    wave = (1 - math.cos(2 * math.pi * (hour - TROUGH_HOUR_UTC) / 24)) / 2
    level = TROUGH_LEVEL + (1 - TROUGH_LEVEL) * wave**1.4
    return level * (WEEKEND_LEVEL if weekday >= 5 else 1.0)


def slice_seconds(config: TrafficConfig) -> int:
    """The longest slice length that keeps an average slice under ``MAX_EVENTS_PER_SLICE``."""
    span_ms = config.end_ms - config.start_ms
    for seconds in SLICE_SECONDS_CHOICES:
        if config.events * seconds * 1000 <= MAX_EVENTS_PER_SLICE * span_ms:
            return seconds
    return SLICE_SECONDS_CHOICES[-1]


def plan_slices(config: TrafficConfig) -> list[SlicePlan]:
    length_ms = slice_seconds(config) * 1000
    bounds = [*range(config.start_ms, config.end_ms, length_ms), config.end_ms]
    ranges = list(pairwise(bounds))
    weights = [round(diurnal_weight((start + end) // 2) * (end - start)) for start, end in ranges]
    total = config.events
    budgets = apportion(total, weights)
    # a re-send needs an original in its own slice: at most budget - 1 of a slice's lines
    resendable = [max(0, budget - 1) for budget in budgets]
    duplicates = apportion(min(round(config.duplicate_share * total), sum(resendable)), resendable)
    bases = [budget - dup for budget, dup in zip(budgets, duplicates, strict=True)]
    base_total = sum(bases)
    late = apportion(round(config.late_share * total), bases)
    invalid = apportion(round(config.invalid_share * total), bases)
    bots = apportion(round(config.bot_share * base_total), bases)
    sessionless = apportion(round(config.sessionless_share * base_total), bases)
    consent_off = apportion(round(config.consent_off_share * base_total), bases)
    offsets = [0, *accumulate(invalid)]
    return [
        SlicePlan(
            index=index,
            start_ms=start,
            end_ms=end,
            budget=budgets[index],
            duplicates=duplicates[index],
            late=late[index],
            invalid=invalid[index],
            invalid_offset=offsets[index],
            bots=bots[index],
            sessionless=sessionless[index],
            consent_off=consent_off[index],
        )
        for index, (start, end) in enumerate(ranges)
    ]
