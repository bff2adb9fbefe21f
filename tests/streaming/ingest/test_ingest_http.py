"""The HTTP contract of the ingest, through the ASGI app, on a local Kinesis and SQS."""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import TestClient, aws_settings_at
from stream_support import quarantine_bytes, quarantine_records, stream_payloads, stream_records

from streaming.contracts.schema_registry import PRODUCER_EVENT, default_registry
from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.enrichment import rekey_user_id_hash
from streaming.ingest.core import REJECTION_REASONS, UNSUPPORTED_VERSION
from streaming.ingest.server import create_app
from tests.event_examples import (
    FULL_CHART,
    FULL_PAGE_VIEW,
    INVALID_INGEST,
    MINIMAL_EVENT,
    SEED_CLIENT_PAYLOAD,
    VALID_INGEST,
)

ORIGIN = "http://localhost:3000"
RAW_IPV4 = "198.51.100.77"
RAW_IPV6 = "2001:db8:1234:5678:9abc:def0:1234:5678"
JSON = {"content-type": "application/json"}
PROXY_NETWORK = "10.0.0.0/8"
PROXY = ("10.0.0.2", 50000)
"""The CDN in front: the module's client connects from a trusted proxy network."""
DOC = Path(__file__).resolve().parents[3] / "docs" / "event-contract.md"


def doc_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [event for event in map(json.loads, blocks) if "ingest_ts" not in event]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings) -> Settings:
    return aws_settings_at(
        tmp_path_factory.mktemp("home"), local_aws, trusted_proxies=[PROXY_NETWORK]
    )


@pytest.fixture(scope="module")
def http(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=PROXY) as test_client:
        yield test_client


def post_event(http: TestClient, event: Any, **headers: str) -> Any:
    return http.post("/v1/events", content=orjson.dumps(event), headers=JSON | headers)


def post_batch(http: TestClient, events: list[Any], **headers: str) -> Any:
    return http.post("/v1/batch", content=orjson.dumps({"events": events}), headers=JSON | headers)


# --- accepted -----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_every_valid_contract_example_is_accepted(http: TestClient, payload: Any) -> None:
    response = post_event(http, payload)
    assert response.status_code == 200, response.text
    answer = response.json()
    consent = payload["user"]["consent"]["analytics"]
    expected = "accepted" if consent else "discarded"
    assert answer[expected] == 1
    assert answer["results"][0]["status"] == expected


def test_seed_and_documented_examples_reach_the_stream_as_producer_records(
    http: TestClient, settings: Settings
) -> None:
    examples = [SEED_CLIENT_PAYLOAD, *doc_examples()]
    assert len(examples) >= 3
    response = post_batch(http, examples, **{"x-forwarded-for": "203.0.113.9"})
    answer = response.json()
    assert response.status_code == 200
    assert answer["accepted"] == len(examples)
    ids = {result["event_id"] for result in answer["results"]}
    producer = default_registry().get(PRODUCER_EVENT, "1.0.0")
    landed = [
        p
        for p in stream_payloads(settings)
        if p["event_id"] in ids and p["privacy"]["source_ip_anonymized"] == "203.0.113.0"
    ]
    assert len(landed) == len(examples)
    for record in landed:
        assert producer.issues(record) == []
        assert record["privacy"]["source_ip_anonymized"] == "203.0.113.0"
        assert record["ingest_ts"] > 0
    seed = next(p for p in landed if p["event_id"] == SEED_CLIENT_PAYLOAD["event_id"])
    assert seed["user"]["user_id_hash"] == rekey_user_id_hash(
        SEED_CLIENT_PAYLOAD["user"]["user_id_hash"], settings.hmac_key
    )
    assert seed["session"]["session_id"] == "sid_abc"


def test_enrichment_country_bot_flag_and_assigned_event_id(
    http: TestClient, settings: Settings
) -> None:
    event = copy.deepcopy(FULL_PAGE_VIEW)
    del event["event_id"]
    event["session"]["session_id"] = "sid-enrichment"
    event["ctx"]["user_agent"] = "Mozilla/5.0 (compatible; Googlebot/2.1)"
    response = post_event(
        http, event, **{"cloudfront-viewer-country": "il", "x-forwarded-for": RAW_IPV6}
    )
    event_id = response.json()["results"][0]["event_id"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", event_id
    )
    record = next(p for p in stream_payloads(settings) if p["event_id"] == event_id)
    assert record["user"]["geo_country"] == "IL"
    assert record["is_bot"] is True
    assert record["source"] == "web"
    assert record["privacy"]["source_ip_anonymized"] == "2001:db8:1234::"
    assert record["user"]["user_id_hash"] != FULL_PAGE_VIEW["user"]["user_id_hash"]
    assert (
        record["metadata"]["schema_hash"]
        == default_registry().get("ingest_event", "1.0.0").schema_hash
    )


# --- rejected -----------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "pointer", "keyword", "fragment"), INVALID_INGEST)
def test_invalid_payload_is_422_with_its_pointer(
    http: TestClient, payload: Any, pointer: str, keyword: str, fragment: str | None
) -> None:
    response = post_event(http, payload)
    assert response.status_code == 422, response.text
    result = response.json()["results"][0]
    assert result["status"] == "rejected"
    assert result["reason"] in REJECTION_REASONS
    if result["reason"] == UNSUPPORTED_VERSION:  # a MODEL the registry does not know
        assert result["errors"][0]["pointer"] == pointer
        return
    assert {"pointer": pointer, "keyword": keyword} in [
        {"pointer": error["pointer"], "keyword": error["keyword"]} for error in result["errors"]
    ]
    if fragment is not None:
        assert any(fragment in error["message"] for error in result["errors"])


def test_invalid_table_is_broad() -> None:
    assert len(INVALID_INGEST) >= 25


@pytest.mark.parametrize(
    ("body", "status", "reason", "pointer"),
    [
        pytest.param([MINIMAL_EVENT], 422, "not_an_object", "", id="array"),
        pytest.param("page_view", 422, "not_an_object", "", id="string"),
        pytest.param(None, 422, "not_an_object", "", id="null"),
        pytest.param(
            {**MINIMAL_EVENT, "schema_version": "2.0.0"},
            422,
            "unsupported_version",
            "/schema_version",
            id="unknown-model",
        ),
        pytest.param(
            {
                **MINIMAL_EVENT,
                "ctx": {
                    "page_url": "https://e.com/?" + "q" * 8000,
                    "referrer": "r" * 8000,
                    "user_agent": "u" * 1024,
                },
                "session": {"session_id": "s" * 128},
                "metadata": {"experiment_keys": ["k" * 128] * 50},
                "chart": {"product_ids": ["p" * 256] * 60},
            },
            413,
            "event_too_large",
            "",
            id="over-32-KiB",
        ),
    ],
)
def test_single_event_rejections(
    http: TestClient, body: Any, status: int, reason: str, pointer: str
) -> None:
    response = post_event(http, body)
    assert response.status_code == status, response.text
    result = response.json()["results"][0]
    assert result["reason"] == reason
    assert result["errors"][0]["pointer"] == pointer


def test_batch_answers_per_event_and_quarantines_exactly_the_rejected(
    http: TestClient, settings: Settings
) -> None:
    marker = "batch-mixed-marker"
    good = {**MINIMAL_EVENT, "session": {"session_id": marker}}
    bad = {**MINIMAL_EVENT, "event_type": "click", "session": {"session_id": marker}}
    off = {
        **MINIMAL_EVENT,
        "user": {"consent": {"analytics": False}},
        "session": {"session_id": marker},
    }
    response = post_batch(http, [good, bad, off, 7, good])
    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["rejected"], answer["discarded"]) == (2, 2, 1)
    statuses = [(r["index"], r["status"]) for r in answer["results"]]
    assert statuses == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "discarded"),
        (3, "rejected"),
        (4, "accepted"),
    ]
    assert answer["results"][1]["errors"][0]["pointer"] == "/event_type"
    quarantined = [
        r for r in quarantine_records(settings) if marker in r["payload"] or r["payload"] == "7"
    ]
    assert sorted(r["kind"] for r in quarantined) == ["not_an_object", "schema_violation"]
    violation = next(r for r in quarantined if r["kind"] == "schema_violation")
    assert violation["reasons"][0]["path"] == "/event_type"
    assert orjson.loads(violation["payload"]) == bad
    on_stream = [
        p for p in stream_payloads(settings) if (p.get("session") or {}).get("session_id") == marker
    ]
    assert len(on_stream) == 2


@pytest.mark.parametrize(
    ("unstorable", "message"),
    [
        pytest.param(b'"https://x/\\ud800"', "unpaired UTF-16 surrogate", id="lone-surrogate"),
        pytest.param(b"1e400", "beyond the range", id="float-out-of-range"),
        pytest.param(b"9" * 5000, "beyond the range", id="5000-digit-integer"),
    ],
)
def test_an_event_the_stream_cannot_hold_is_rejected_alone(
    http: TestClient, settings: Settings, unstorable: bytes, message: str
) -> None:
    marker = f"unstorable-{len(unstorable)}-{unstorable[:4].hex()}"
    good = orjson.dumps({**MINIMAL_EVENT, "session": {"session_id": marker}})
    bad = good[:-1] + b',"ctx":{"page_url":' + unstorable + b"}}"
    body = b'{"events":[' + good + b"," + bad + b"," + good + b"]}"
    response = http.post("/v1/batch", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected", "accepted"]
    assert answer["results"][1]["reason"] == "unstorable_value"
    assert message in answer["results"][1]["errors"][0]["message"]
    on_stream = [
        p for p in stream_payloads(settings) if (p.get("session") or {}).get("session_id") == marker
    ]
    assert len(on_stream) == 2
    quarantined = [r for r in quarantine_records(settings) if marker in r["payload"]]
    assert [r["kind"] for r in quarantined] == ["unstorable_value"]
    single = http.post("/v1/events", content=bad, headers=JSON)
    assert single.status_code == 422
    assert single.json()["results"][0]["reason"] == "unstorable_value"


def test_a_deep_event_beside_an_unstorable_one_is_rejected_as_too_deep(http: TestClient) -> None:
    deep = b"[" * 600 + b"]" * 600
    body = b'{"events":[' + orjson.dumps(MINIMAL_EVENT) + b',"\\ud800",' + deep + b"]}"
    response = http.post("/v1/batch", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    reasons = [result.get("reason") for result in response.json()["results"]]
    assert reasons == [None, "unstorable_value", "nesting_too_deep"]


def test_a_body_that_is_not_utf8_is_answered_so(http: TestClient) -> None:
    response = http.post("/v1/batch", content=b'{"events":["\xff"]}', headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "malformed_json",
        "message": "the body is not UTF-8 text (byte 0xff at 12)",
    }


def test_not_json_constants_still_refuse_the_body(http: TestClient) -> None:
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"events":[' + orjson.dumps(MINIMAL_EVENT)[:-1] + b',"x":' + constant + b"}]}"
        response = http.post("/v1/batch", content=body, headers=JSON)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_json"


# --- consent and privacy ------------------------------------------------------------------


def test_consent_off_events_are_stored_nowhere(http: TestClient, settings: Settings) -> None:
    marker = "consent-off-marker-4711"
    valid_off = copy.deepcopy(FULL_CHART)
    valid_off["user"]["consent"]["analytics"] = False
    valid_off["session"]["session_id"] = marker
    invalid_off = {**valid_off, "event_type": "nope"}
    single = post_event(http, valid_off)
    assert single.status_code == 200
    assert single.json()["results"][0]["status"] == "discarded"
    answer = post_batch(http, [valid_off, invalid_off]).json()
    assert answer["discarded"] == 2
    assert all(marker.encode() not in data for data in stream_records(settings))
    assert all(marker.encode() not in body for body in quarantine_bytes(settings))
    metrics = http.get("/metrics").text
    assert re.search(r'clickstream_ingest_discarded_total\{reason="consent_off"\} [3-9]', metrics)


def test_no_raw_client_ip_is_persisted(http: TestClient, settings: Settings) -> None:
    valid = {**MINIMAL_EVENT, "session": {"session_id": "ip-check"}}
    invalid_with_ips = {
        **MINIMAL_EVENT,
        "ip": RAW_IPV4,
        RAW_IPV4: "as a member name",
        "ctx": {"page_url": f"https://e.com/?client={RAW_IPV4}&v6={RAW_IPV6}", "ip_v6": RAW_IPV6},
        "notes": [f"from {RAW_IPV4}", f"::ffff:{RAW_IPV4}"],
    }
    for forwarded in (RAW_IPV4, f"{RAW_IPV6}, 10.0.0.1"):
        headers = {"x-forwarded-for": forwarded}
        post_batch(http, [valid, invalid_with_ips, 42], **headers)
        post_event(http, invalid_with_ips, **headers)
        post_event(http, valid, **headers)
    stored = b"".join(stream_records(settings)) + b"".join(quarantine_bytes(settings))
    assert b"198.51.100.0" in stored
    assert b"2001:db8:1234::" in stored
    for raw in (RAW_IPV4, RAW_IPV6, "198.51.100.77", "9abc:def0"):
        assert raw.encode() not in stored
    scrubbed = next(r for r in quarantine_records(settings) if "as a member name" in r["payload"])
    assert orjson.loads(scrubbed["payload"])["ip"] == "198.51.100.0"


def test_socket_peer_is_used_when_no_proxy_is_trusted(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path, local_aws)
    with TestClient(create_app(settings), client=("192.0.2.55", 50000)) as client:
        response = post_event(client, MINIMAL_EVENT, **{"x-forwarded-for": RAW_IPV4})
        assert response.status_code == 200
    (record,) = stream_payloads(settings)
    assert record["privacy"]["source_ip_anonymized"] == "192.0.2.0"


# --- request-level errors ---------------------------------------------------------------


def test_gzip_body_is_accepted(http: TestClient) -> None:
    body = gzip.compress(orjson.dumps({"events": [MINIMAL_EVENT] * 3}))
    response = http.post("/v1/batch", content=body, headers=JSON | {"content-encoding": "gzip"})
    assert response.status_code == 200
    assert response.json()["accepted"] == 3


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        pytest.param(b"{not json", JSON, 400, "malformed_json", id="malformed-json"),
        pytest.param(b"\xff\xfe{}", JSON, 400, "malformed_json", id="not-utf8"),
        pytest.param('{"events":[]}'.encode("utf-16"), JSON, 400, "malformed_json", id="utf16"),
        pytest.param(b"", JSON, 400, "malformed_json", id="empty-body"),
        pytest.param(b'{"events": {}}', JSON, 400, "malformed_batch", id="events-not-array"),
        pytest.param(b"[]", JSON, 400, "malformed_batch", id="bare-array"),
        pytest.param(
            orjson.dumps({"events": [MINIMAL_EVENT] * 501}),
            JSON,
            413,
            "batch_too_large",
            id="501-events",
        ),
        pytest.param(
            orjson.dumps({"events": [{"pad": "x" * 1024 * 1024}]}),
            JSON,
            413,
            "body_too_large",
            id="body-over-1-MiB",
        ),
        pytest.param(
            gzip.compress(b'{"events": ["' + b"0" * (2 * 1024 * 1024) + b'"]}'),
            JSON | {"content-encoding": "gzip"},
            413,
            "body_too_large",
            id="gzip-bomb",
        ),
        pytest.param(
            b"\x1f\x8b\x08\x00garbage",
            JSON | {"content-encoding": "gzip"},
            400,
            "malformed_body",
            id="corrupt-gzip",
        ),
        pytest.param(
            b"{}", JSON | {"content-encoding": "br"}, 415, "unsupported_encoding", id="brotli"
        ),
        pytest.param(
            b"{}", {"content-type": "text/html"}, 415, "unsupported_media_type", id="text-html"
        ),
        pytest.param(
            b"{}",
            {"content-type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
            id="form",
        ),
    ],
)
def test_request_errors(
    http: TestClient, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = http.post("/v1/batch", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_missing_content_type_is_415(http: TestClient) -> None:
    response = http.post("/v1/events", content=orjson.dumps(MINIMAL_EVENT))
    assert response.status_code == 415


def test_send_beacon_text_plain_is_accepted(http: TestClient) -> None:
    response = http.post(
        "/v1/batch",
        content=orjson.dumps({"events": [MINIMAL_EVENT]}),
        headers={"content-type": "text/plain;charset=UTF-8", "origin": ORIGIN},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_health_and_metrics(http: TestClient) -> None:
    health = http.get("/healthz").json()
    assert (health["status"], health["stream"], health["dead_letter_queue"]) == (
        "ok",
        "reachable",
        "reachable",
    )
    metrics = http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    for family in (
        "clickstream_ingest_accepted_total",
        'clickstream_ingest_rejected_total{reason="schema_violation"}',
        'clickstream_ingest_discarded_total{reason="consent_off"}',
        'clickstream_producer_records_total{destination="kinesis"}',
        'clickstream_producer_records_total{destination="dlq"}',
        "clickstream_producer_retried_records_total",
        "clickstream_producer_buffer_records",
    ):
        assert family in text
    assert "# TYPE clickstream_producer_buffer_records gauge" in text


# --- CORS and API keys --------------------------------------------------------------------


def test_preflight_from_an_allowed_origin(http: TestClient) -> None:
    response = http.options(
        "/v1/batch",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]


def test_preflight_and_post_from_a_refused_origin(http: TestClient) -> None:
    evil = "https://evil.example"
    preflight = http.options(
        "/v1/events", headers={"origin": evil, "access-control-request-method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    post = post_event(http, MINIMAL_EVENT, origin=evil)
    assert post.status_code == 403
    assert post.json()["error"]["code"] == "origin_not_allowed"
    anonymous = http.options("/v1/events", headers={"access-control-request-method": "POST"})
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["message"] == "a preflight request must name its Origin"


@pytest.fixture
def keyed(tmp_path: Path, local_aws: LocalAwsSettings) -> Iterator[tuple[TestClient, Settings]]:
    settings = aws_settings_at(tmp_path, local_aws, api_keys=["k-server-1", "k-server-2"])
    with TestClient(create_app(settings)) as client:
        yield client, settings


def test_api_keys(keyed: tuple[TestClient, Settings]) -> None:
    client, settings = keyed
    assert post_event(client, MINIMAL_EVENT).status_code == 401
    assert post_event(client, MINIMAL_EVENT).json()["error"]["code"] == "api_key_required"
    wrong = post_event(client, MINIMAL_EVENT, **{"x-api-key": "nope"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_api_key")
    assert post_event(client, MINIMAL_EVENT, **{"x-api-key": "k-server-2"}).status_code == 200
    assert post_event(client, MINIMAL_EVENT, origin=ORIGIN).status_code == 200
    sources = sorted(record["source"] for record in stream_payloads(settings))
    assert sources == ["server", "web"]
