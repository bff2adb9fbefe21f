"""What a run generated: counts per event type and per label, as a table or as JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from streaming.generator.config import TrafficConfig
from streaming.generator.determinism import format_ts
from streaming.generator.schedule import DAY_MS
from streaming.generator.violations import INVALID_KINDS

if TYPE_CHECKING:
    from rich.table import Table

    from streaming.generator.sessions import Visit
    from streaming.generator.slices import Delivery


@dataclass
class Tally:
    """Counts of one slice, or of several merged with ``+=``."""

    events: int = 0
    by_event_type: Counter[str] = field(default_factory=Counter)
    invalid_by_kind: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    bots: int = 0
    consent_off: int = 0
    sessionless: int = 0
    sessions: int = 0
    sessions_spanning_midnight: int = 0
    user_keys: set[int] = field(default_factory=set)

    def count_visit(self, visit: Visit, first_ts_ms: int, last_ts_ms: int, events: int) -> None:
        """A visit's on-time events (the caller counts their types)."""
        self.events += events
        self.user_keys.add(visit.user_key)
        if visit.bot:
            self.bots += events
        if visit.consent_off:
            self.consent_off += events
        if visit.sessionless:
            self.sessionless += events
        if visit.session_id is not None:
            self.sessions += 1
            if first_ts_ms // DAY_MS != last_ts_ms // DAY_MS:
                self.sessions_spanning_midnight += 1

    def count_resend(self, original: Delivery) -> None:
        visit = original.visit
        self.events += 1
        self.duplicates += 1
        if original.invalid_kind is None:
            self.by_event_type[original.event_type] += 1
        else:
            self.invalid_by_kind[original.invalid_kind] += 1
        self.bots += visit.bot
        self.consent_off += visit.consent_off
        self.sessionless += visit.sessionless
        self.late += original.late

    def __iadd__(self, other: Tally) -> Tally:
        self.events += other.events
        self.by_event_type.update(other.by_event_type)
        self.invalid_by_kind.update(other.invalid_by_kind)
        self.duplicates += other.duplicates
        self.late += other.late
        self.bots += other.bots
        self.consent_off += other.consent_off
        self.sessionless += other.sessionless
        self.sessions += other.sessions
        self.sessions_spanning_midnight += other.sessions_spanning_midnight
        self.user_keys |= other.user_keys
        return self


@dataclass(frozen=True)
class GenerationSummary:
    seed: int
    start: str
    end: str
    events: int
    valid: int
    by_event_type: dict[str, int]
    invalid: int
    invalid_by_kind: dict[str, int]
    duplicates: int
    late: int
    bots: int
    consent_off: int
    sessionless: int
    sessions: int
    sessions_spanning_midnight: int
    users: int
    sink: dict[str, int] = field(default_factory=dict)
    """What the output did with the events (objects written, requests answered, ...)."""

    @classmethod
    def from_tally(
        cls, config: TrafficConfig, tally: Tally, sink: dict[str, int] | None = None
    ) -> GenerationSummary:
        invalid = sum(tally.invalid_by_kind.values())
        return cls(
            seed=config.seed,
            start=_rfc3339(config.start_ms),
            end=_rfc3339(config.end_ms),
            events=tally.events,
            valid=tally.events - invalid,
            by_event_type={
                name: tally.by_event_type.get(name, 0)
                for name in ("page_view", "chart_interaction", "affiliate_click")
            }
            | ({"purchase": tally.by_event_type["purchase"]} if config.conversion_rate else {}),
            invalid=invalid,
            invalid_by_kind={kind: tally.invalid_by_kind.get(kind, 0) for kind in INVALID_KINDS},
            duplicates=tally.duplicates,
            late=tally.late,
            bots=tally.bots,
            consent_off=tally.consent_off,
            sessionless=tally.sessionless,
            sessions=tally.sessions,
            sessions_spanning_midnight=tally.sessions_spanning_midnight,
            users=len(tally.user_keys),
            sink=dict(sink or {}),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")

    def table(self) -> Table:
        from rich.table import Table

        table = Table(title=f"generated traffic, seed {self.seed}, {self.start} → {self.end}")
        table.add_column("what")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")

        def row(label: str, count: int, *, indent: bool = False) -> None:
            share = f"{count / self.events:.2%}" if self.events else "-"
            table.add_row(("  " if indent else "") + label, f"{count:,}", share)

        row("events", self.events)
        row("valid", self.valid)
        for name, count in self.by_event_type.items():
            row(name, count, indent=True)
        row("invalid", self.invalid)
        for kind, count in self.invalid_by_kind.items():
            row(kind, count, indent=True)
        for label in ("duplicates", "late", "bots", "consent_off", "sessionless"):
            row(label.replace("_", "-"), getattr(self, label))
        table.add_section()
        table.add_row("sessions", f"{self.sessions:,}", "")
        table.add_row("  spanning midnight (UTC)", f"{self.sessions_spanning_midnight:,}", "")
        table.add_row("users", f"{self.users:,}", "")
        if self.sink:
            table.add_section()
            for name, count in self.sink.items():
                table.add_row(name.replace("_", " "), f"{count:,}", "")
        return table


def _rfc3339(epoch_ms: int) -> str:
    return format_ts(epoch_ms)
