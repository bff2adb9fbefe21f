"""Purchases in generated traffic (schema 1-1-0): at the configured conversion rate, valid,
deterministic, some of them network postbacks without a session; none when the rate is 0."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from streaming.contracts.schema_registry import INGEST_EVENT, default_registry
from streaming.generator.config import TrafficConfig
from streaming.generator.runner import generate
from streaming.generator.slices import GeneratedEvent

START = datetime(2026, 11, 1, tzinfo=UTC)


def _events(rate: float) -> list[GeneratedEvent]:
    config = TrafficConfig(
        events=20_000, seed=7, start=START, days=3, sessionless_share=0.05, conversion_rate=rate
    )
    return list(generate(config))


@pytest.fixture(scope="module")
def converting() -> list[GeneratedEvent]:
    return _events(0.2)


def _purchases(events: list[GeneratedEvent]) -> list[GeneratedEvent]:
    return [e for e in events if e.payload.get("event_type") == "purchase" and not e.invalid_kind]


def test_purchases_are_valid_1_1_0_events(converting: list[GeneratedEvent]) -> None:
    registry = default_registry()
    purchases = _purchases(converting)
    assert len(purchases) > 50
    for event in purchases:
        payload = event.payload
        assert payload["schema_version"] == "1.1.0"
        schema = registry.resolve(INGEST_EVENT, payload["schema_version"])
        assert schema.issues(payload) == []
        assert payload["purchase"]["revenue_cents"] > 0


def test_postbacks_credit_a_generated_click_and_carry_no_session(
    converting: list[GeneratedEvent],
) -> None:
    clicks = {
        e.payload["event_id"]: e
        for e in converting
        if e.payload.get("event_type") == "affiliate_click" and "event_id" in e.payload
    }
    postbacks = [e for e in _purchases(converting) if "session" not in e.payload]
    assert postbacks
    for postback in postbacks:
        assert postback.source == "server"
        click = clicks[postback.payload["purchase"]["affiliate_click_id"]]
        assert click.ts_ms < postback.ts_ms
        assert click.payload["user"]["user_id_hash"] == postback.payload["user"]["user_id_hash"]


def test_converting_users_return_over_several_sessions_and_days(
    converting: list[GeneratedEvent],
) -> None:
    sessions: dict[str, set[str]] = {}
    days: dict[str, set[str]] = {}
    for event in converting:
        if event.invalid_kind:
            continue
        user = (event.payload.get("user") or {}).get("user_id_hash")
        session = (event.payload.get("session") or {}).get("session_id")
        if user and session:
            sessions.setdefault(user, set()).add(session)
            days.setdefault(user, set()).add(event.payload["ts"][:10])
    buyers = {(e.payload.get("user") or {}).get("user_id_hash") for e in _purchases(converting)}
    returning = [user for user in buyers if len(sessions.get(user, ())) > 1]
    several_days = [user for user in buyers if len(days.get(user, ())) > 1]
    assert len(returning) > len(buyers) / 3
    assert len(several_days) > len(buyers) / 4


def test_the_same_config_gives_the_same_purchases(converting: list[GeneratedEvent]) -> None:
    again = _purchases(_events(0.2))
    assert [e.payload for e in again] == [e.payload for e in _purchases(converting)]


def test_no_purchases_at_rate_zero() -> None:
    types = Counter(e.payload.get("event_type") for e in _events(0.0))
    assert "purchase" not in types
