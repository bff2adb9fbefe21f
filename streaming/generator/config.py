"""What to generate: volume, seed, time range and the share of each kind of dirty traffic."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

MAX_DAYS = 3660
"""Ten years: the longest run of traffic."""
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
"""Event times are epoch milliseconds written with four-digit years: from 1970 to 9999."""
LATEST_END = datetime(9999, 1, 1, tzinfo=UTC)
"""Late arrivals and their landing hours stay within year 9999."""

SHARE_FIELDS = (
    "consent_off_share",
    "bot_share",
    "duplicate_share",
    "late_share",
    "sessionless_share",
    "invalid_share",
)


@dataclass(frozen=True)
class TrafficConfig:
    """A run of synthetic traffic. Equal configs produce byte-identical output.

    ``events`` is the exact number of events emitted (duplicates and invalid ones included);
    every ``*_share`` is a share of those emitted events.
    """

    events: int
    seed: int
    start: datetime
    days: float = 1.0
    consent_off_share: float = 0.03
    bot_share: float = 0.02
    duplicate_share: float = 0.01
    late_share: float = 0.01
    sessionless_share: float = 0.01
    invalid_share: float = 0.005
    conversion_rate: float = 0.0
    """Chance that a person's session ends in a ``purchase`` (schema 1-1-0), and that an
    affiliate click of a server burst is followed by the network's postback. 0 emits 1-0-0
    traffic only, exactly as before purchases existed."""

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid traffic config: " + "; ".join(problems))
        object.__setattr__(self, "start", self.start.astimezone(UTC))

    def _problems(self) -> list[str]:
        problems = []
        if isinstance(self.events, bool) or not isinstance(self.events, int) or self.events < 0:
            problems.append(f"events must be an integer >= 0, got {self.events!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            problems.append(f"seed must be an integer, got {self.seed!r}")
        start_is_aware = isinstance(self.start, datetime) and self.start.utcoffset() is not None
        if not start_is_aware:
            problems.append(f"start must be a timezone-aware datetime, got {self.start!r}")
        days_are_valid = (
            _is_real(self.days)
            and math.isfinite(self.days)
            and self.days * 86_400_000 >= 1
            and self.days <= MAX_DAYS
        )
        if not days_are_valid:
            problems.append(
                f"days must be > 0 (at least one millisecond) and at most {MAX_DAYS} "
                f"(ten years), got {self.days!r}"
            )
        if start_is_aware and self.start < EARLIEST_START:
            problems.append(f"start must be 1970-01-01 or later, got {self.start.isoformat()}")
        elif start_is_aware and days_are_valid and self.start > LATEST_END - timedelta(self.days):
            problems.append(
                f"the traffic must end by 9999-01-01, got {self.days:g} day(s) from "
                f"{self.start.isoformat()}"
            )
        for name in SHARE_FIELDS:
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value < 1:
                problems.append(f"{name} must be in [0, 1), got {value!r}")
        if not _is_real(self.conversion_rate) or not 0 <= self.conversion_rate <= 1:
            problems.append(f"conversion_rate must be in [0, 1], got {self.conversion_rate!r}")
        special = self.consent_off_share + self.bot_share + self.sessionless_share
        if _is_real(special) and special >= 1:
            problems.append(
                "consent_off_share + bot_share + sessionless_share must stay below 1, "
                f"got {special:g}"
            )
        return problems

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return self.start_ms + round(self.days * 86_400_000)

    def as_dict(self) -> dict[str, object]:
        values: dict[str, object] = {
            field.name: getattr(self, field.name) for field in fields(self)
        }
        values["start"] = self.start.isoformat().replace("+00:00", "Z")
        return values


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _epoch_ms(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
