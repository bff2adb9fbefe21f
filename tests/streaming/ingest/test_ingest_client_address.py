"""The client address behind trusted proxies, and the cached readiness probe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from conftest import TestClient, aws_settings_at
from stream_support import stream_payloads

from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.ingest.client_address import TrustedProxies, parse_address
from streaming.ingest.health import Reachability, SinkProbe, health_report
from streaming.ingest.server import create_app
from tests.event_examples import MINIMAL_EVENT

CDN = ["10.0.0.0/8", "2001:db8:cd::/48"]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        pytest.param("198.51.100.7", [], "198.51.100.7", id="no-header"),
        pytest.param("198.51.100.7", ["6.6.6.6"], "198.51.100.7", id="untrusted-peer-spoofs"),
        pytest.param("10.0.0.9", ["203.0.113.7"], "203.0.113.7", id="one-proxy"),
        pytest.param("10.0.0.9", ["6.6.6.6, 203.0.113.7"], "203.0.113.7", id="spoofed-left-hop"),
        pytest.param(
            "10.0.0.9", ["6.6.6.6, 203.0.113.7, 10.1.2.3"], "203.0.113.7", id="two-proxies"
        ),
        pytest.param("10.0.0.9", ["6.6.6.6", "203.0.113.7"], "203.0.113.7", id="two-headers"),
        pytest.param("10.0.0.9", ["10.1.1.1, 10.2.2.2"], "10.1.1.1", id="all-trusted"),
        pytest.param("10.0.0.9", [], "10.0.0.9", id="trusted-peer-no-header"),
        pytest.param("10.0.0.9", ["unknown"], None, id="obfuscated-hop"),
        pytest.param("10.0.0.9", ["203.0.113.7, garbage"], None, id="garbage-hop"),
        pytest.param("10.0.0.9", ["203.0.113.7:5555"], "203.0.113.7", id="v4-with-port"),
        pytest.param("10.0.0.9", ["[2001:db8::1]:443"], "2001:db8::1", id="v6-with-port"),
        pytest.param("2001:db8:cd::5", ["2001:db8:1::7"], "2001:db8:1::7", id="v6-proxy"),
        pytest.param("::ffff:10.0.0.9", ["203.0.113.7"], "203.0.113.7", id="v4-mapped-peer"),
        pytest.param("10.0.0.9", ["203.0.113.7, , "], "203.0.113.7", id="empty-hops"),
        pytest.param("testclient", ["203.0.113.7"], "testclient", id="peer-not-an-address"),
        pytest.param(None, ["203.0.113.7"], None, id="no-peer"),
    ],
)
def test_the_right_most_untrusted_hop_is_the_client(
    peer: str | None, forwarded_for: list[str], client: str | None
) -> None:
    assert TrustedProxies(CDN).client(peer, forwarded_for) == client


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert TrustedProxies([]).client("10.0.0.9", ["203.0.113.7"]) == "10.0.0.9"


def test_addresses_are_parsed_strictly() -> None:
    assert parse_address("999.1.1.1") is None
    assert parse_address("example.com") is None
    assert str(parse_address(" 203.0.113.7 ")) == "203.0.113.7"


def test_trusted_proxies_must_be_networks() -> None:
    assert IngestSettings(trusted_proxies=["10.1.2.3/8"]).trusted_proxies == ["10.0.0.0/8"]
    with pytest.raises(ValueError, match="trusted_proxies"):
        IngestSettings(trusted_proxies=["cloudfront"])


@pytest.fixture
def behind_a_proxy(tmp_path: Path, local_aws: LocalAwsSettings) -> Iterator[TestClient]:
    settings = aws_settings_at(tmp_path, local_aws, trusted_proxies=["10.0.0.0/8"])
    with TestClient(create_app(settings), client=("10.0.0.2", 40000)) as client:
        client.settings = settings  # type: ignore[attr-defined]
        yield client


def test_the_stored_address_is_the_one_the_proxy_saw(behind_a_proxy: TestClient) -> None:
    for forwarded in ("6.6.6.6, 198.51.100.77", "198.51.100.77, 10.9.9.9"):
        response = behind_a_proxy.post(
            "/v1/events",
            content=orjson.dumps(MINIMAL_EVENT),
            headers={"content-type": "application/json", "x-forwarded-for": forwarded},
        )
        assert response.status_code == 200
    stored = {
        p["privacy"]["source_ip_anonymized"] for p in stream_payloads(behind_a_proxy.settings)
    }  # type: ignore[attr-defined]
    assert stored == {"198.51.100.0"}


def test_the_probe_asks_at_most_once_per_max_age() -> None:
    now = [100.0]
    asked: list[str] = []

    def stream() -> None:
        asked.append("stream")
        raise ConnectionError("no stream")

    probe = SinkProbe(stream, lambda: asked.append("dlq"), 2.0, clock=lambda: now[0])
    first = probe.reachability()
    assert (first.stream, first.dead_letter_queue) == (False, True)
    now[0] += 1.5
    assert probe.reachability() is first
    assert asked == ["stream", "dlq"]
    now[0] += 1.0
    probe.reachability()
    assert asked == ["stream", "dlq", "stream", "dlq"]


@pytest.mark.parametrize(
    ("stream", "dead_letters", "depth", "status", "state"),
    [
        (True, True, 0, 200, "ok"),
        (True, False, 0, 200, "degraded"),
        (False, True, 0, 503, "unavailable"),
        (True, True, 100, 503, "unavailable"),
    ],
)
def test_healthz_answers_whether_events_can_be_taken(
    stream: bool, dead_letters: bool, depth: int, status: int, state: str
) -> None:
    code, report = health_report(Reachability(stream, dead_letters), depth, 100)
    assert (code, report["status"]) == (status, state)
    assert report["buffer"] == {"records": depth, "capacity": 100, "fill": depth / 100}


def test_trusted_proxies_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__TRUSTED_PROXIES", '["10.0.0.0/8", "2001:db8::/32"]')
    assert Settings().ingest.trusted_proxies == ["10.0.0.0/8", "2001:db8::/32"]
