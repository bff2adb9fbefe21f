"""Counting what landed, independently of the loader: non-empty lines per ingest hour."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import dagster as dg

from clickstream_orchestration.lakehouse.build import hour_of_key
from streaming.landing import LandingStore, count_records
from streaming.settings import Settings


def landed_lines_per_hour(
    settings: Settings, store: LandingStore, window: dg.TimeWindow | None
) -> Counter[datetime]:
    """Lines of the bronze and quarantine objects of each ingest hour in ``window``."""
    lines: Counter[datetime] = Counter()
    for prefix in (settings.landing_bronze_prefix, settings.landing_quarantine_prefix):
        for item in store.list(prefix + "/"):
            hour = hour_of_key(item.key)
            if hour is None or (window is not None and not window.start <= hour < window.end):
                continue
            lines[hour] += count_records(store.get(item.key))
    return lines
