"""Hand-written events landed as the delivery stream lands them, for tests that need to know
exactly what each session should look like."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streaming.contracts.landing import bronze_key, encode_records, landing_store
from streaming.contracts.settings import Settings

_OBJECT_IDS = itertools.count(1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def event(
    event_id: str,
    ts: str,
    *,
    session_id: str | None,
    user: str | None = "user-1",
    event_type: str = "page_view",
    arrival: str | None = None,
    page_url: str | None = "https://example.com/",
    geo_country: str | None = None,
    ab_variant: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    referrer: str | None = None,
    affiliate_target: str | None = None,
    revenue_cents: int | None = None,
    affiliate_click_id: str | None = None,
) -> dict[str, Any]:
    """One landed record; ``arrival`` (default: ``ts``) is when the ingest received it."""
    received = utc(arrival or ts)
    record: dict[str, Any] = {
        "schema_version": "1-0-0",
        "event_type": event_type,
        "event_id": event_id,
        "ts": utc(ts).isoformat().replace("+00:00", "Z"),
        "ingest_ts": int(received.timestamp() * 1000),
        "source": "web",
        "is_bot": False,
        "user": {"user_id_hash": user, "geo_country": geo_country},
        "session": {
            "session_id": session_id,
            "utm": {"source": utm_source, "medium": utm_medium, "campaign": utm_campaign},
        },
        "ctx": {"page_url": page_url, "referrer": referrer, "ab_variant": ab_variant},
    }
    if event_type == "affiliate_click":
        record["affiliate"] = {"link_id": "link-1", "target": affiliate_target, "payout_cents": 10}
    if event_type == "purchase":  # schema 1-1-0
        record["schema_version"] = "1.1.0"
        record["purchase"] = {
            "order_id": f"order-{event_id}",
            "revenue_cents": revenue_cents,
            "currency": "USD",
            "affiliate_click_id": affiliate_click_id,
        }
    return record


@dataclass
class Landing:
    """Records grouped into landing objects by their arrival hour and event type."""

    settings: Settings
    landed_hours: set[datetime] = field(default_factory=set)

    def land(self, records: list[dict[str, Any]], arrival: str | None = None) -> datetime:
        """One object per event type holding ``records`` in order, all arriving at ``arrival``
        (default: the first record's ingest time); returns the ingest hour."""
        received = (
            utc(arrival) if arrival else datetime.fromtimestamp(records[0]["ingest_ts"] / 1000, UTC)
        )
        store = landing_store(self.settings)
        for event_type in sorted({record["event_type"] for record in records}):
            key = bronze_key(self.settings, event_type, received, f"test-{next(_OBJECT_IDS)}")
            store.put(key, encode_records(r for r in records if r["event_type"] == event_type))
        hour = received.replace(minute=0, second=0, microsecond=0)
        self.landed_hours.add(hour)
        return hour
