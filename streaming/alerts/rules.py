"""Evaluating the alert rules of the settings on one event: the code the local alert reader
and the AWS Lambda share.

An event matches a rule when its ``event_type`` is the rule's and every condition holds. A
condition names a dotted field path; a path that is absent (or runs through a non-object) holds
only for ``exists: false`` and ``ne``. Numbers compare with numbers only (``true`` is not 1).
The alert carries the rule, the event's id, type and times, and the values of the fields the
conditions name, never the user's identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streaming.contracts.settings import AlertCondition, AlertRule

_MISSING = object()


def field_value(event: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the event (``_MISSING`` when any step is absent)."""
    value: Any = event
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return _MISSING
        value = value[step]
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordered(compare: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    return lambda found, wanted: _number(found) and compare(found, wanted)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda found, wanted: found is not _MISSING and found == wanted,
    "ne": lambda found, wanted: found is _MISSING or found != wanted,
    "gt": _ordered(lambda found, wanted: found > wanted),
    "gte": _ordered(lambda found, wanted: found >= wanted),
    "lt": _ordered(lambda found, wanted: found < wanted),
    "lte": _ordered(lambda found, wanted: found <= wanted),
    "in": lambda found, wanted: found is not _MISSING and found in wanted,
    "exists": lambda found, wanted: (found is not _MISSING and found is not None) == bool(wanted),
}


def holds(condition: AlertCondition, event: dict[str, Any]) -> bool:
    return _OPERATORS[condition.op](field_value(event, condition.field), condition.value)


@dataclass(frozen=True)
class Alert:
    rule: str
    event_id: str
    event_type: str
    ts: str | None
    ingest_ts: int | None
    fields: dict[str, Any]
    """The values of the fields the rule's conditions name."""

    @property
    def alert_id(self) -> str:
        """Stable across re-reads and re-sends: the idempotency key sinks deduplicate on."""
        return f"{self.rule}:{self.event_id}"

    def document(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "rule": self.rule,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "ts": self.ts,
            "ingest_ts": self.ingest_ts,
            "fields": self.fields,
        }


class RuleSet:
    """The rules grouped by event type, so an event is checked against its own rules only."""

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        self.rules = list(rules)
        self._by_type: dict[str, list[AlertRule]] = {}
        for rule in self.rules:
            self._by_type.setdefault(rule.event_type, []).append(rule)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def alerts(self, event: dict[str, Any]) -> list[Alert]:
        """The alerts one event raises (none without a string ``event_id``)."""
        event_type = event.get("event_type")
        rules = self._by_type.get(event_type, []) if isinstance(event_type, str) else []
        event_id = event.get("event_id")
        if not rules or not isinstance(event_id, str) or not event_id:
            return []
        ts = event.get("ts")
        ingest_ts = event.get("ingest_ts")
        return [
            Alert(
                rule=rule.name,
                event_id=event_id,
                event_type=rule.event_type,
                ts=ts if isinstance(ts, str) else None,
                ingest_ts=ingest_ts if _number(ingest_ts) else None,
                fields={
                    condition.field: _present(field_value(event, condition.field))
                    for condition in rule.conditions
                },
            )
            for rule in rules
            if all(holds(condition, event) for condition in rule.conditions)
        ]


def _present(value: Any) -> Any:
    return None if value is _MISSING else value
