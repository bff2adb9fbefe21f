from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest

from streaming.contracts.schema_registry import INGEST_EVENT, PRODUCER_EVENT, default_registry
from streaming.enrichment import (
    RequestContext,
    anonymise_ip,
    enrich,
    is_bot_user_agent,
    normalise_country,
    partition_key,
    rekey_user_id_hash,
)

KEY = b"k" * 32
CLIENT_HASH = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        (" 198.51.100.1 ", "198.51.100.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("2001:0db8:abcd:ffff::1", "2001:db8:abcd::"),
        ("::ffff:192.0.2.130", "192.0.2.0"),
        ("2001:db8:abcd::%eth0", "2001:db8:abcd::"),
        ("192.0.2.1%eth0", None),
        ("010.1.2.3", None),
        ("256.1.2.3", None),
        ("1.2.3.4.5", None),
        ("\u0661.2.3.4", None),
        ("not-an-ip", None),
        ("", None),
        (None, None),
    ],
)
def test_ip_is_truncated_to_its_network(address: str | None, expected: str | None) -> None:
    assert anonymise_ip(address) == expected


def test_user_hash_is_rekeyed_with_the_server_secret() -> None:
    rekeyed = rekey_user_id_hash(CLIENT_HASH, KEY)
    expected = hmac.new(KEY, ("ab" * 32).encode(), hashlib.sha256).hexdigest()
    assert rekeyed == "sha256:" + expected
    assert rekeyed != CLIENT_HASH
    assert rekey_user_id_hash(CLIENT_HASH, b"another key") != rekeyed
    assert rekey_user_id_hash(None, KEY) is None


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0.0.0",
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; bot)",
    ],
)
def test_crawlers_and_automation_are_flagged(user_agent: str) -> None:
    assert is_bot_user_agent(user_agent)


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
        "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        None,
    ],
)
def test_browsers_are_not_flagged(user_agent: str | None) -> None:
    assert not is_bot_user_agent(user_agent)


def test_country_header_is_normalised_or_dropped() -> None:
    assert normalise_country("il") == "IL"
    assert normalise_country(" DE ") == "DE"
    assert normalise_country("XX1") is None
    assert normalise_country(None) is None


def test_enriched_event_is_a_valid_producer_payload_without_the_raw_ip() -> None:
    registry = default_registry()
    schema = registry.resolve(INGEST_EVENT, None)
    event = {
        "event_type": "chart_interaction",
        "ts": "2026-11-22T10:00:00.000Z",
        "user": {"user_id_hash": CLIENT_HASH, "consent": {"analytics": True, "ads": False}},
        "session": {"session_id": "s_1", "utm": {"source": "newsletter"}},
        "ctx": {"page_url": "https://www.example.com/compare/a-vs-b", "user_agent": "curl/8"},
        "chart": {"action": "sort", "control_id": "price", "control_value": "asc"},
    }
    assert schema.is_valid(event)
    request = RequestContext(
        received_at_ms=1_795_000_000_000, client_ip="203.0.113.77", viewer_country="il"
    )
    payload = enrich(event, request=request, schema=schema, hmac_key=KEY)
    assert registry.resolve(PRODUCER_EVENT, payload["schema_version"]).issues(payload) == []
    assert uuid.UUID(payload["event_id"]).version == 4
    assert payload["ingest_ts"] == 1_795_000_000_000
    assert payload["privacy"] == {
        "analytics": True,
        "ads": False,
        "source_ip_anonymized": "203.0.113.0",
    }
    assert payload["user"]["geo_country"] == "IL"
    assert payload["user"]["user_id_hash"] == rekey_user_id_hash(CLIENT_HASH, KEY)
    assert payload["is_bot"] is True
    assert payload["metadata"]["schema_hash"] == schema.schema_hash
    assert "203.0.113.77" not in repr(payload)
    assert partition_key(payload) == "s_1"


def test_partition_key_falls_back_to_the_event_id() -> None:
    assert partition_key({"event_id": "e-1", "session": None}) == "e-1"
    assert partition_key({"event_id": "e-2", "session": {"utm": {}}}) == "e-2"


def test_client_event_id_is_kept() -> None:
    schema = default_registry().resolve(INGEST_EVENT, None)
    event_id = str(uuid.uuid4())
    event = {
        "event_id": event_id,
        "event_type": "page_view",
        "ts": "2026-11-22T10:00:00Z",
        "user": {"consent": {"analytics": True}},
    }
    payload = enrich(event, request=RequestContext(received_at_ms=1), schema=schema, hmac_key=KEY)
    assert payload["event_id"] == event_id
    assert payload["user"]["user_id_hash"] is None
    assert payload["privacy"]["source_ip_anonymized"] is None


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-11-22t10:00:00z", "2026-11-22T10:00:00Z"),
        ("2026-11-22t10:00:00.5+02:00", "2026-11-22T10:00:00.5+02:00"),
        ("2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z"),
    ],
)
def test_ts_reaches_the_stream_with_upper_case_separators(sent: str, stored: str) -> None:
    schema = default_registry().resolve(INGEST_EVENT, None)
    event = {"event_type": "page_view", "ts": sent, "user": {"consent": {"analytics": True}}}
    assert schema.is_valid(event)
    payload = enrich(event, request=RequestContext(received_at_ms=1), schema=schema, hmac_key=KEY)
    assert payload["ts"] == stored
