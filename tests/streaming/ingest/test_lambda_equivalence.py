"""The Lambda handler under API Gateway HTTP API payload 2.0 events, built the way API Gateway
documents them (the full example of "Working with AWS Lambda proxy integrations for HTTP APIs":
``cookies`` moved out of the headers, duplicate headers joined with commas, binary bodies
base64-encoded, the client in ``requestContext.http.sourceIp``), answers every request exactly
as the HTTP server answers it, and puts the same records on its stream."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import TestClient, aws_settings_at
from stream_support import stream_payloads

from streaming.contracts.settings import LocalAwsSettings, Settings
from streaming.ingest import lambda_handler
from streaming.ingest.runtime import build_runtime
from streaming.ingest.server import create_app

PEER = "192.0.2.1"
"""The connection API Gateway (or the HTTP server) received: AWS's example source IP."""
TRUSTED = ["192.0.2.0/24"]
EVENT = {
    "event_type": "page_view",
    "ts": "2026-11-20T10:00:00.250Z",
    "user": {"user_id_hash": "sha256:abc", "consent": {"analytics": True}},
    "session": {"session_id": "sid-equal"},
    "ctx": {"page_url": "https://example.com/compare/a", "user_agent": "Mozilla/5.0"},
}
VARYING = ("ingest_ts",)
"""Stream fields stamped at receive time."""


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes = b""
    method: str = "POST"
    headers: list[tuple[str, str]] = field(default_factory=list)
    binary: bool = False
    """API Gateway base64-encodes a body it does not take for text (here: gzip)."""


def _event(number: int, **changes: Any) -> dict[str, Any]:
    return {**EVENT, "event_id": f"00000000-0000-4000-8000-{number:012d}", **changes}


JSON = ("content-type", "application/json")
REQUESTS = {
    "batch with cookies": Request(
        "/v1/batch",
        orjson.dumps({"events": [_event(1), _event(2, event_type="bogus")]}),
        headers=[JSON, ("cookie", "consent=1; theme=dark"), ("cookie", "ab=B")],
    ),
    "gzip batch, base64": Request(
        "/v1/batch",
        gzip.compress(orjson.dumps({"events": [_event(n) for n in range(3, 13)]})),
        headers=[JSON, ("content-encoding", "gzip")],
        binary=True,
    ),
    "one event with a viewer country": Request(
        "/v1/events",
        orjson.dumps(_event(13)),
        headers=[JSON, ("cloudfront-viewer-country", "DE"), ("user-agent", "agent")],
    ),
    "two forwarded-for headers": Request(
        "/v1/events",
        orjson.dumps(_event(14)),
        headers=[
            JSON,
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
            ("x-forwarded-for", "192.0.2.9"),
        ],
    ),
    "text of another script": Request(
        "/v1/events",
        orjson.dumps(_event(15, ctx={"page_url": "https://example.com/über/straße"})),
        headers=[("content-type", "application/json; charset=utf-8")],
    ),
    "invalid event": Request(
        "/v1/events", orjson.dumps(_event(16, ts="yesterday")), headers=[JSON]
    ),
    "malformed JSON": Request("/v1/events", b"{", headers=[JSON]),
    "wrong media type": Request(
        "/v1/events", orjson.dumps(_event(17)), headers=[("content-type", "text/plain")]
    ),
    "cross-origin batch": Request(
        "/v1/batch",
        orjson.dumps({"events": [_event(18)]}),
        headers=[JSON, ("origin", "http://localhost:3000")],
    ),
    "readiness": Request("/healthz", method="GET"),
    "unknown route": Request("/v1/nope", b"{}", headers=[JSON]),
}


def http_api_v2_event(request: Request) -> dict[str, Any]:
    """The event API Gateway's HTTP API gives the function for ``request`` (payload 2.0)."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name == "cookie":
            cookies += [part.strip() for part in value.split(";")]
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    headers |= {
        "content-length": str(len(request.body)),
        "host": "id.execute-api.us-east-1.amazonaws.com",
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "id",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": PEER,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "20/Nov/2026:10:00:01 +0000",
            "timeEpoch": 1795168801000,
        },
        "isBase64Encoded": request.binary,
        "stageVariables": {"stageVariable1": "value1"},
    }
    if cookies:
        event["cookies"] = cookies
    if request.body:
        event["body"] = (
            base64.b64encode(request.body).decode() if request.binary else request.body.decode()
        )
    return event


def _body(raw: bytes) -> Any:
    return orjson.loads(raw) if raw else None


def _stream(settings: Settings) -> list[dict[str, Any]]:
    payloads = [
        {key: value for key, value in payload.items() if key not in VARYING}
        for payload in stream_payloads(settings)
    ]
    return sorted(payloads, key=lambda payload: payload["event_id"])


@pytest.fixture(scope="module")
def answers(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[dict[str, Any]]:
    """Every request through the HTTP server and through the handler, each with its own stream."""
    home: Path = tmp_path_factory.mktemp("equivalence")
    server_settings = aws_settings_at(home / "server", local_aws, trusted_proxies=TRUSTED)
    lambda_settings = aws_settings_at(home / "lambda", local_aws, trusted_proxies=TRUSTED)
    server: dict[str, tuple[int, Any, dict[str, str]]] = {}
    with TestClient(create_app(server_settings), client=(PEER, 50000)) as http:
        for name, request in REQUESTS.items():
            response = http.request(
                request.method, request.path, content=request.body, headers=request.headers
            )
            server[name] = (response.status_code, _body(response.content), dict(response.headers))
    runtime = build_runtime(lambda_settings)
    lambda_handler.use_runtime(runtime)
    handled: dict[str, tuple[int, Any, dict[str, str]]] = {}
    try:
        for name, request in REQUESTS.items():
            answer = lambda_handler.handler(http_api_v2_event(request), None)
            handled[name] = (
                answer["statusCode"],
                _body(answer["body"].encode()),
                answer["headers"],
            )
    finally:
        lambda_handler.use_runtime(None)
        runtime.close()
    yield {
        "server": server,
        "lambda": handled,
        "server_stream": _stream(server_settings),
        "lambda_stream": _stream(lambda_settings),
    }


@pytest.mark.parametrize("name", list(REQUESTS))
def test_the_handler_answers_as_the_server(name: str, answers: dict[str, Any]) -> None:
    server_status, server_body, server_headers = answers["server"][name]
    lambda_status, lambda_body, lambda_headers = answers["lambda"][name]
    assert (lambda_status, lambda_body) == (server_status, server_body)
    shared = {
        key: value
        for key, value in server_headers.items()
        if key not in ("content-length", "date", "server")
    }
    assert {key: lambda_headers.get(key) for key in shared} == shared


def test_the_handler_puts_the_same_records_on_the_stream(answers: dict[str, Any]) -> None:
    server, handled = answers["server_stream"], answers["lambda_stream"]
    assert len(server) >= 15  # the accepted events of every request
    assert handled == server
    forwarded = next(p for p in server if p["event_id"].endswith("000000000014"))
    # the right-most hop outside the trusted network, across both forwarded-for headers
    assert forwarded["privacy"]["source_ip_anonymized"] == "198.51.100.0"
