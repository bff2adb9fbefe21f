"""Counting what landed, independently of the loader: non-empty lines per ingest hour."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime

import dagster as dg

from streaming.contracts.landing import LandingStore, count_records, hour_of_key
from streaming.contracts.settings import Settings


def landed_lines_per_hour(
    settings: Settings,
    store: LandingStore,
    window: dg.TimeWindow | None,
    loaded: Collection[str] | None = None,
) -> Counter[datetime]:
    """Lines of the bronze and quarantine objects of each ingest hour in ``window``, counted
    from the objects themselves; with ``loaded``, only those objects (what the hours' loads
    consumed: an object that lands in the current hour after its load is the next load's)."""
    lines: Counter[datetime] = Counter()
    for prefix in (settings.landing_bronze_prefix, settings.landing_quarantine_prefix):
        for item in store.list(prefix + "/"):
            hour = hour_of_key(item.key)
            if hour is None or (window is not None and not window.start <= hour < window.end):
                continue
            if loaded is not None and item.key not in loaded:
                continue
            lines[hour] += count_records(store.get(item.key))
    return lines
