"""The event-day window every rebuild, gate and partition filter shares."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pyiceberg.expressions import AlwaysFalse, And, EqualTo, In

from lakehouse.window import Rewrite, Window, on_days

NOV = [date(2026, 11, day) for day in range(1, 31)]


def test_a_time_span_covers_the_days_it_touches_end_exclusive() -> None:
    day = Window.covering(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert day == Window(NOV[1], NOV[1])
    hours = Window.covering(
        datetime(2026, 11, 2, 23, tzinfo=UTC), datetime(2026, 11, 3, 1, tzinfo=UTC)
    )
    assert hours.event_days == (NOV[1], NOV[2])


def test_widening_adds_days_on_both_sides_and_a_reversed_window_is_refused() -> None:
    assert Window(NOV[4], NOV[5]).widened(1).event_days == tuple(NOV[3:7])
    with pytest.raises(ValueError, match="after it ends"):
        Window(NOV[5], NOV[4])


def test_filters_are_a_range_for_consecutive_days_and_a_set_otherwise() -> None:
    assert on_days("event_dt", []) == AlwaysFalse()
    assert on_days("event_dt", [NOV[2]]) == EqualTo("event_dt", "2026-11-03")
    assert isinstance(Window(NOV[0], NOV[29]).where("event_dt"), And)
    gaps = Rewrite("event_dt", (NOV[9], NOV[2], NOV[2])).where()
    assert gaps == In("event_dt", {"2026-11-03", "2026-11-10"})
