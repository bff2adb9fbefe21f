"""The Lambda handler with API Gateway HTTP API (payload format 2.0) events."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import aws_settings_at
from stream_support import quarantine_records, stream_payloads

from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.ingest import lambda_handler
from streaming.ingest.runtime import build_runtime

EVENT = {
    "event_type": "page_view",
    "ts": "2025-08-20T20:20:20.123Z",
    "user": {"user_id_hash": "sha256:abc", "consent": {"analytics": True}},
    "session": {"session_id": "sid-lambda"},
}


def http_api_event(
    path: str, body: bytes, *, method: str = "POST", base64_body: bool = False, **headers: str
) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **headers},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "sourceIp": "203.0.113.200",
                "protocol": "HTTP/1.1",
                "userAgent": "test",
            },
            "requestId": "r-1",
            "stage": "$default",
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


@pytest.fixture
def runtime(aws_settings: Settings) -> Iterator[Settings]:
    instance = build_runtime(aws_settings)
    lambda_handler.use_runtime(instance)
    try:
        yield aws_settings
    finally:
        lambda_handler.use_runtime(None)
        instance.close()


def test_handler_path_is_stable() -> None:
    assert callable(lambda_handler.handler)
    assert lambda_handler.handler.__module__ == "streaming.ingest.lambda_handler"


def test_plain_json_batch(runtime: Settings) -> None:
    body = orjson.dumps({"events": [EVENT, {**EVENT, "event_type": "bogus"}]})
    answer = lambda_handler.handler(
        http_api_event("/v1/batch", body, **{"cloudfront-viewer-country": "DE"}), None
    )
    assert answer["statusCode"] == 200
    result = orjson.loads(answer["body"])
    assert (result["accepted"], result["rejected"]) == (1, 1)
    (record,) = stream_payloads(runtime)
    assert record["privacy"]["source_ip_anonymized"] == "203.0.113.0"
    assert record["user"]["geo_country"] == "DE"
    assert record["event_id"] == result["results"][0]["event_id"]
    (quarantined,) = quarantine_records(runtime)
    assert quarantined["reasons"][0]["path"] == "/event_type"


def test_base64_gzip_body(runtime: Settings) -> None:
    body = gzip.compress(orjson.dumps({"events": [EVENT] * 20}))
    event = http_api_event("/v1/batch", body, base64_body=True, **{"content-encoding": "gzip"})
    answer = lambda_handler.handler(event, None)
    assert answer["statusCode"] == 200
    assert orjson.loads(answer["body"])["accepted"] == 20
    assert len(stream_payloads(runtime)) == 20


def test_single_event_errors_and_health(runtime: Settings) -> None:
    invalid = lambda_handler.handler(
        http_api_event("/v1/events", orjson.dumps({**EVENT, "ts": "yesterday"})), None
    )
    assert invalid["statusCode"] == 422
    assert orjson.loads(invalid["body"])["results"][0]["errors"][0]["pointer"] == "/ts"
    malformed = lambda_handler.handler(http_api_event("/v1/events", b"{"), None)
    assert malformed["statusCode"] == 400
    bad_base64 = http_api_event("/v1/events", b"{}", base64_body=True)
    bad_base64["body"] = "***"
    assert lambda_handler.handler(bad_base64, None)["statusCode"] == 400
    health = lambda_handler.handler(http_api_event("/healthz", b"", method="GET"), None)
    assert health["statusCode"] == 200
    assert stream_payloads(runtime) == []


def test_the_source_ip_of_the_request_context_is_the_client(runtime: Settings) -> None:
    spoofed = http_api_event("/v1/events", orjson.dumps(EVENT), **{"x-forwarded-for": "6.6.6.6"})
    assert lambda_handler.handler(spoofed, None)["statusCode"] == 200
    (record,) = stream_payloads(runtime)
    assert record["privacy"]["source_ip_anonymized"] == "203.0.113.0"


def test_behind_cloudfront_the_right_most_untrusted_hop_is_the_client(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path, local_aws, trusted_proxies=["203.0.113.0/24"])
    instance = build_runtime(settings)
    lambda_handler.use_runtime(instance)
    try:
        forwarded = {"x-forwarded-for": "6.6.6.6, 198.51.100.7, 203.0.113.9"}
        event = http_api_event("/v1/events", orjson.dumps(EVENT), **forwarded)
        assert lambda_handler.handler(event, None)["statusCode"] == 200
    finally:
        lambda_handler.use_runtime(None)
        instance.close()
    (record,) = stream_payloads(settings)
    assert record["privacy"]["source_ip_anonymized"] == "198.51.100.0"


def test_unknown_routes_and_deep_events_answer_json(runtime: Settings) -> None:
    missing = lambda_handler.handler(http_api_event("/v1/nope", b"{}"), None)
    assert missing["statusCode"] == 404
    assert orjson.loads(missing["body"])["error"]["code"] == "not_found"
    deep = orjson.dumps(EVENT)[:-1] + b',"x":' + b"[" * 300 + b"]" * 300 + b"}"
    answer = lambda_handler.handler(http_api_event("/v1/events", deep), None)
    assert answer["statusCode"] == 422
    assert orjson.loads(answer["body"])["results"][0]["reason"] == "nesting_too_deep"
