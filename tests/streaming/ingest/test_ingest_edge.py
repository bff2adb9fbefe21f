"""Hostile requests against the live ingest server (uvicorn, the edge protocol, the app).

Each row of the table is sent as raw bytes on its own connection and must be answered with the
documented status and, for refusals, the JSON error shape ``{"error": {"code", "message"}}``;
no row may get a 5xx other than 503 or a connection reset. Slow clients meet a server with
short timeouts: the tests wait for the server's answer, never for a fixed time.
"""

from __future__ import annotations

import gzip
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from conftest import aws_settings_at
from edge_support import (
    Answer,
    connect,
    exchange,
    http_request,
    live_server,
    read_answer,
    read_answers,
    send_in_background,
)
from stream_support import quarantine_records

from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, Settings
from tests.event_examples import MINIMAL_EVENT

EVENT = orjson.dumps(MINIMAL_EVENT)
BATCH = orjson.dumps({"events": [MINIMAL_EVENT, MINIMAL_EVENT]})
MIB = 1024 * 1024
ORIGIN = "http://localhost:3000"
GZIP = {"content-encoding": "gzip"}
SLOW_TIMEOUT_S = 0.5


def nested_array(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def deep_event(levels: int) -> bytes:
    """A valid-looking event carrying arrays nested ``levels`` deep (the event adds one)."""
    return EVENT[:-1] + b',"extra":' + nested_array(levels) + b"}"


def deep_object_event(levels: int) -> bytes:
    return EVENT[:-1] + b',"extra":' + b'{"a":' * levels + b"1" + b"}" * levels + b"}"


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def post(path: str, body: bytes, **headers: str) -> bytes:
    return http_request("POST", path, body, headers)


def many_headers(count: int) -> dict[str, str]:
    return {f"x-h{number}": "v" for number in range(count)}


# (request, status, error code or None); rows that need a slow server say so in their id.
HOSTILE = [
    # --- nesting, JSON and events --------------------------------------------------------
    pytest.param(post("/v1/events", nested_array(300)), 422, None, id="array-nested-300"),
    pytest.param(post("/v1/events", deep_event(300)), 422, None, id="event-nesting-300"),
    pytest.param(post("/v1/events", deep_event(64)), 422, None, id="event-nesting-65"),
    pytest.param(post("/v1/events", deep_object_event(300)), 422, None, id="objects-nested-300"),
    pytest.param(
        post("/v1/batch", b'{"events":[' + EVENT + b"," + deep_event(300) + b"," + EVENT + b"]}"),
        200,
        None,
        id="batch-with-one-deep-event",
    ),
    pytest.param(post("/v1/events", nested_array(2000)), 400, "malformed_json", id="nesting-2000"),
    pytest.param(post("/v1/events", b"{not json"), 400, "malformed_json", id="malformed-json"),
    pytest.param(post("/v1/events", b"\xff\xfe{}"), 400, "malformed_json", id="not-utf8"),
    pytest.param(post("/v1/events", b'["\\ud800"]'), 422, None, id="lone-surrogate"),
    pytest.param(post("/v1/events", b"NaN"), 400, "malformed_json", id="nan"),
    pytest.param(post("/v1/events", b'{"a":1e400}'), 422, None, id="infinite-number"),
    pytest.param(
        http_request("POST", "/v1/events", headers={"content-type": "application/json"}),
        400,
        "malformed_json",
        id="empty-body",
    ),
    pytest.param(post("/v1/events", b"1" * 100), 422, None, id="huge-integer"),
    pytest.param(post("/v1/events", b'"page_view"'), 422, None, id="string-event"),
    pytest.param(post("/v1/events", b"[" + EVENT + b"]"), 422, None, id="array-event"),
    pytest.param(
        post("/v1/events", EVENT[:-1] + b',"event_type":"page_view"}'), 200, None, id="dup-keys"
    ),
    pytest.param(
        post("/v1/events", EVENT.replace(b"page_view", b"page\\u0000view")),
        422,
        None,
        id="nul-in-string",
    ),
    pytest.param(
        post("/v1/events", EVENT[:-1] + b',"198.51.100.7":"ip as a name"}'),
        422,
        None,
        id="ip-member-name",
    ),
    pytest.param(
        post(
            "/v1/events", orjson.dumps({**MINIMAL_EVENT, "user": {"consent": {"analytics": False}}})
        ),
        200,
        None,
        id="consent-off",
    ),
    pytest.param(
        post("/v1/events", orjson.dumps({**MINIMAL_EVENT, "pad": "x" * 40_000})),
        413,
        None,
        id="event-over-32-KiB",
    ),
    pytest.param(post("/v1/batch", b'{"events": {}}'), 400, "malformed_batch", id="events-object"),
    pytest.param(post("/v1/batch", b"[]"), 400, "malformed_batch", id="bare-array-batch"),
    pytest.param(
        post("/v1/batch", orjson.dumps({"events": [MINIMAL_EVENT] * 501})),
        413,
        "batch_too_large",
        id="501-events",
    ),
    # --- body size -----------------------------------------------------------------------
    pytest.param(post("/v1/batch", b"x" * (MIB + 1)), 413, "body_too_large", id="one-MiB-plus-one"),
    pytest.param(post("/v1/batch", b"x" * MIB), 400, "malformed_json", id="exactly-one-MiB"),
    pytest.param(
        http_request(
            "POST",
            "/v1/batch",
            chunked(*[b" " * 65536] * 17),
            {"transfer-encoding": "chunked"},
        ),
        413,
        "body_too_large",
        id="chunked-over-one-MiB",
    ),
    pytest.param(
        http_request(
            "POST", "/v1/batch", chunked(BATCH[:10], BATCH[10:]), {"transfer-encoding": "chunked"}
        ),
        200,
        None,
        id="chunked-batch",
    ),
    pytest.param(
        http_request(
            "POST",
            "/v1/batch",
            b"x" * 10,
            {"content-length": str(2 * MIB), "expect": "100-continue"},
            content_length=False,
        ),
        413,
        "body_too_large",
        id="expect-continue-over-limit",
    ),
    # --- gzip ------------------------------------------------------------------------------
    pytest.param(post("/v1/batch", gzip.compress(BATCH), **GZIP), 200, None, id="gzip"),
    pytest.param(
        post("/v1/batch", gzip.compress(BATCH[:20]) + gzip.compress(BATCH[20:]), **GZIP),
        200,
        None,
        id="gzip-two-members",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(BATCH) + b"garbage", **GZIP),
        400,
        "malformed_body",
        id="gzip-trailing-garbage",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(BATCH) + b"\0" * 16, **GZIP),
        400,
        "malformed_body",
        id="gzip-trailing-zeros",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(BATCH) + b"\x1f\x8b\x08\x00", **GZIP),
        400,
        "malformed_body",
        id="gzip-truncated-second-member",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(BATCH)[:-4], **GZIP),
        400,
        "malformed_body",
        id="gzip-truncated",
    ),
    pytest.param(
        post("/v1/batch", b"\x1f\x8b\x08\x00garbage", **GZIP),
        400,
        "malformed_body",
        id="gzip-corrupt",
    ),
    pytest.param(
        http_request("POST", "/v1/batch", headers={"content-type": "application/json", **GZIP}),
        400,
        "malformed_body",
        id="gzip-empty",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(b" " * (2 * MIB)), **GZIP),
        413,
        "body_too_large",
        id="gzip-bomb",
    ),
    pytest.param(
        post("/v1/batch", gzip.compress(b" " * MIB) * 2, **GZIP),
        413,
        "body_too_large",
        id="gzip-members-over-limit-together",
    ),
    pytest.param(
        post("/v1/batch", BATCH, **{"content-encoding": "br"}),
        415,
        "unsupported_encoding",
        id="brotli",
    ),
    # --- media types, origins ----------------------------------------------------------------
    pytest.param(
        post("/v1/events", EVENT, **{"content-type": "text/html"}),
        415,
        "unsupported_media_type",
        id="text-html",
    ),
    pytest.param(
        http_request("POST", "/v1/events", EVENT, {"content-type": ""}),
        415,
        "unsupported_media_type",
        id="empty-content-type",
    ),
    pytest.param(
        post("/v1/events", EVENT, origin="https://evil.example"),
        403,
        "origin_not_allowed",
        id="evil-origin",
    ),
    pytest.param(
        http_request("OPTIONS", "/v1/events", headers={"origin": "https://evil.example"}),
        403,
        "origin_not_allowed",
        id="evil-preflight",
    ),
    pytest.param(
        http_request(
            "OPTIONS",
            "/v1/batch",
            headers={"origin": ORIGIN, "access-control-request-method": "POST"},
        ),
        204,
        None,
        id="preflight",
    ),
    # --- paths and methods -----------------------------------------------------------------
    pytest.param(http_request("GET", "/nope"), 404, "not_found", id="get-unknown-path"),
    pytest.param(post("/v1/nope", EVENT), 404, "not_found", id="post-unknown-path"),
    pytest.param(post("//v1/events", EVENT), 404, "not_found", id="double-slash"),
    pytest.param(http_request("GET", "/" + "a" * 8000), 404, "not_found", id="long-path"),
    pytest.param(http_request("GET", "/v1/events"), 405, "method_not_allowed", id="get-events"),
    pytest.param(http_request("DELETE", "/v1/batch"), 405, "method_not_allowed", id="delete-batch"),
    pytest.param(
        http_request("PUT", "/v1/events", EVENT), 405, "method_not_allowed", id="put-events"
    ),
    pytest.param(post("/healthz", EVENT), 405, "method_not_allowed", id="post-healthz"),
    pytest.param(post("/metrics", EVENT), 405, "method_not_allowed", id="post-metrics"),
    pytest.param(post("/v1/events/", EVENT), 200, None, id="trailing-slash-events"),
    pytest.param(post("/v1/batch/", BATCH), 200, None, id="trailing-slash-batch"),
    pytest.param(post("/v1/events?x=1", EVENT), 200, None, id="query-string"),
    pytest.param(http_request("GET", "/healthz"), 200, None, id="healthz"),
    pytest.param(http_request("GET", "/livez"), 200, None, id="livez"),
    pytest.param(
        http_request("GET", "/healthz", headers={"connection": "upgrade", "upgrade": "websocket"}),
        200,
        None,
        id="websocket-upgrade",
    ),
    pytest.param(b"GET /livez HTTP/1.0\r\n\r\n", 200, None, id="http-1.0"),
    pytest.param(b"GET /livez HTTP/1.1\r\n\r\n", 200, None, id="no-host"),
    # --- client address --------------------------------------------------------------------
    pytest.param(
        post("/v1/events", EVENT, **{"x-forwarded-for": "6.6.6.6, 203.0.113.7"}),
        200,
        None,
        id="xff-spoofed-left-hop",
    ),
    pytest.param(
        post("/v1/events", EVENT, **{"x-forwarded-for": "unknown"}), 200, None, id="xff-unknown"
    ),
    pytest.param(
        post("/v1/events", EVENT, **{"x-forwarded-for": ", ".join(["10.0.0.1"] * 500)}),
        200,
        None,
        id="xff-500-hops",
    ),
    pytest.param(
        post("/v1/events", EVENT, **{"x-forwarded-for": "<script>" * 100}),
        200,
        None,
        id="xff-garbage",
    ),
    # --- headers -----------------------------------------------------------------------------
    pytest.param(
        post("/v1/events", EVENT, **{"x-big": "a" * (20 * MIB)}),
        431,
        "headers_too_large",
        id="header-of-20-MB",
    ),
    pytest.param(
        post("/v1/events", EVENT, **{"x-big": "a" * (17 * 1024)}),
        431,
        "headers_too_large",
        id="header-of-17-KiB",
    ),
    pytest.param(
        http_request("GET", "/livez?" + "q" * (20 * 1024)),
        431,
        "headers_too_large",
        id="request-line-of-20-KiB",
    ),
    pytest.param(
        post("/v1/events", EVENT).replace(b"\r\n", b"\r\n" + b"x: v\r\n" * 2000, 1),
        431,
        "too_many_headers",
        id="2000-headers",
    ),
    pytest.param(
        post("/v1/events", EVENT, **many_headers(101)),
        431,
        "too_many_headers",
        id="101-headers",
    ),
    pytest.param(post("/v1/events", EVENT, **many_headers(90)), 200, None, id="90-headers"),
    # --- malformed HTTP ----------------------------------------------------------------------
    pytest.param(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
        400,
        "malformed_request",
        id="tls-hello",
    ),
    pytest.param(b"GET /\r\n\r\n", 404, "not_found", id="http-0.9"),
    pytest.param(b"GET /\xff\xfe HTTP/1.1\r\n\r\n", 400, "malformed_request", id="non-ascii-path"),
    pytest.param(b"GET http://[::1 HTTP/1.1\r\n\r\n", 400, "malformed_request", id="bad-url"),
    pytest.param(b"GET /livez%zz%00 HTTP/1.1\r\n\r\n", 404, "not_found", id="bad-escapes"),
    pytest.param(b"FOO\x01 / HTTP/1.1\r\n\r\n", 400, "malformed_request", id="binary-method"),
    pytest.param(
        http_request("POST", "/v1/events", EVENT, {"content-length": "-1"}, content_length=False),
        400,
        "malformed_request",
        id="negative-content-length",
    ),
    pytest.param(
        http_request(
            "POST",
            "/v1/events",
            chunked(EVENT),
            {"content-length": str(len(EVENT)), "transfer-encoding": "chunked"},
            content_length=False,
        ),
        400,
        "malformed_request",
        id="content-length-and-chunked",
    ),
    pytest.param(
        http_request("POST", "/v1/events", b"zz\r\n" + EVENT, {"transfer-encoding": "chunked"}),
        400,
        "malformed_request",
        id="bad-chunk-size",
    ),
    pytest.param(
        b"GET /livez HTTP/1.1\r\nhost: a\r\nbad header\r\n\r\n",
        400,
        "malformed_request",
        id="header-without-colon",
    ),
    # --- slow clients (a server with short timeouts) ----------------------------------------
    pytest.param(
        http_request(
            "POST",
            "/v1/events",
            EVENT[:10],
            {"content-length": str(len(EVENT))},
            content_length=False,
        ),
        408,
        "request_timeout",
        id="slow-body",
    ),
    pytest.param(
        b"POST /v1/events HTTP/1.1\r\nhost: a\r\n", 408, "request_timeout", id="slow-headers"
    ),
    pytest.param(b"POST /v1/eve", 408, "request_timeout", id="slow-request-line"),
    pytest.param(b"", None, None, id="slow-idle-connection"),
]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings) -> Settings:
    return aws_settings_at(
        tmp_path_factory.mktemp("edge"), local_aws, trusted_proxies=["127.0.0.1/32"]
    )


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[int]:
    with live_server(settings) as port:
        yield port


@pytest.fixture(scope="module")
def impatient(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[int]:
    """A server whose header and body timeouts are short, for the slow clients."""
    settings = aws_settings_at(
        tmp_path_factory.mktemp("impatient"),
        local_aws,
        header_timeout_s=SLOW_TIMEOUT_S,
        body_timeout_s=SLOW_TIMEOUT_S,
    )
    with live_server(settings) as port:
        yield port


def assert_documented(answer: Answer, status: int | None, code: str | None) -> None:
    assert not answer.reset, "the connection was reset"
    assert answer.status == status, answer.body[:300]
    if status is None:
        assert answer.closed and answer.body == b""
        return
    assert status < 500 or status == 503
    if status == 204:
        return
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    if code is not None:
        assert document["error"]["code"] == code
        assert isinstance(document["error"]["message"], str) and document["error"]["message"]
    elif status >= 400 and "error" in document:
        pytest.fail(f"expected a processed answer, got {document}")


@pytest.mark.parametrize(("request_bytes", "status", "code"), HOSTILE)
def test_hostile_request(
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    request_bytes: bytes,
    status: int | None,
    code: str | None,
) -> None:
    server_log = logging.getLogger("uvicorn.error")
    server_log.addHandler(caplog.handler)
    request.addfinalizer(lambda: server_log.removeHandler(caplog.handler))
    slow = request.node.callspec.id.startswith("slow-")
    port = request.getfixturevalue("impatient" if slow else "server")
    method = request_bytes.split(b" ", 1)[0].decode("latin-1")
    answer = exchange(port, request_bytes, method="HEAD" if method == "HEAD" else "GET")
    assert_documented(answer, status, code)
    if slow:
        assert answer.closed, "a timed-out connection must be closed"
    assert not [record.getMessage() for record in caplog.records if record.exc_info]


def test_hostile_table_is_broad() -> None:
    assert len(HOSTILE) >= 60


def test_processed_answers_say_what_became_of_each_event(server: int, settings: Settings) -> None:
    deep = exchange(server, post("/v1/events", deep_event(300))).json()
    assert deep["results"][0]["reason"] == "nesting_too_deep"
    batch = exchange(
        server,
        post("/v1/batch", b'{"events":[' + EVENT + b"," + deep_event(300) + b"," + EVENT + b"]}"),
    ).json()
    assert [result["status"] for result in batch["results"]] == ["accepted", "rejected", "accepted"]
    assert batch["results"][1]["reason"] == "nesting_too_deep"
    quarantined = [r for r in quarantine_records(settings) if r["kind"] == "nesting_too_deep"]
    assert quarantined
    assert quarantined[0]["reasons"][0]["keyword"] == "maxNestingDepth"
    both = exchange(
        server, post("/v1/batch", gzip.compress(BATCH[:20]) + gzip.compress(BATCH[20:]), **GZIP)
    ).json()
    assert both["accepted"] == 2


def test_over_one_mib_gets_a_clean_413_and_the_connection_stays_usable(server: int) -> None:
    with connect(server) as sock:
        sender = send_in_background(sock, post("/v1/batch", b"x" * (MIB + 1)))
        refused = read_answer(sock)
        sender.join()
        assert (refused.status, refused.reset) == (413, False)
        assert refused.json()["error"]["code"] == "body_too_large"
        sock.sendall(post("/v1/events", EVENT))
        assert read_answer(sock).status == 200


def test_requests_sent_at_once_are_each_answered_in_order(server: int) -> None:
    pipelined = [
        http_request("GET", "/livez"),
        post("/v1/batch", BATCH),
        post("/v1/events", b"{"),
        http_request("GET", "/livez"),
    ]
    with connect(server) as sock:
        sock.sendall(b"".join(pipelined))
        answers = read_answers(sock, len(pipelined))
    assert [answer.status for answer in answers] == [200, 200, 400, 200]
    assert answers[1].json()["accepted"] == 2
    assert answers[2].json()["error"]["code"] == "malformed_json"
    assert not any(answer.closed for answer in answers)


def test_a_slow_body_is_answered_408_and_its_connection_closed(impatient: int) -> None:
    with connect(impatient) as sock:
        sock.sendall(
            http_request(
                "POST",
                "/v1/batch",
                BATCH[:20],
                {"content-length": str(len(BATCH))},
                content_length=False,
            )
        )
        answer = read_answer(sock, until_closed=True)
    assert (answer.status, answer.closed, answer.reset) == (408, True, False)
    assert answer.headers["connection"] == "close"
    assert answer.json()["error"]["code"] == "request_timeout"


def metrics_text(port: int) -> str:
    return exchange(port, http_request("GET", "/metrics"), method="GET").body.decode()


def test_a_disconnect_mid_body_logs_no_traceback(
    impatient: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_log = logging.getLogger("uvicorn.error")
    monkeypatch.setattr(server_log, "handlers", [*server_log.handlers, caplog.handler])
    with connect(impatient) as sock:
        sock.sendall(
            http_request(
                "POST",
                "/v1/batch",
                BATCH[:20],
                {"content-length": str(len(BATCH))},
                content_length=False,
            )
        )
        sock.shutdown(socket.SHUT_RDWR)
    disconnects = re.compile(r'clickstream_ingest_responses_total\{code="499"\} [1-9]')
    deadline = time.monotonic() + 30
    while not disconnects.search(metrics_text(impatient)):  # the server saw it when counted
        assert time.monotonic() < deadline, "the disconnect was never counted"
    assert not [record for record in caplog.records if record.exc_info]


def test_connections_past_the_cap_are_answered_503(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = aws_settings_at(tmp_path, local_aws, max_connections=4)
    with live_server(settings) as port:
        holders = [connect(port) for _ in range(4)]
        try:
            for holder in holders:
                holder.sendall(b"GET /livez HTTP/1.1\r\n")
            answer = exchange(port, http_request("GET", "/livez"), method="GET")
        finally:
            for holder in holders:
                holder.close()
        assert_documented(answer, 503, "over_capacity")
        assert answer.closed


def test_every_refusal_is_counted_in_metrics(server: int) -> None:
    for request_bytes in (
        post("/v1/events", EVENT, **many_headers(2000)),
        http_request("GET", "/nope"),
        http_request("GET", "/v1/events"),
        b"GET /\r\n\r\n",
    ):
        exchange(server, request_bytes)
    metrics = exchange(server, http_request("GET", "/metrics"), method="GET").body.decode()
    for code in (400, 404, 405, 431):
        assert re.search(rf'clickstream_ingest_responses_total\{{code="{code}"\}} [1-9]', metrics)


def test_healthz_is_503_while_the_stream_is_unreachable_and_livez_stays_200(
    tmp_path: Path, local_aws: LocalAwsSettings
) -> None:
    settings = Settings(home=tmp_path, stage="nostream", local_aws=local_aws)
    client(settings, "sqs").create_queue(QueueName=settings.dlq_name)  # the stream is missing
    with live_server(settings) as port:
        health = exchange(port, http_request("GET", "/healthz"), method="GET")
        live = exchange(port, http_request("GET", "/livez"), method="GET")
    assert health.status == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["stream"] == "unreachable"
    assert live.status == 200


def test_an_idle_kept_alive_connection_is_closed_without_an_answer(impatient: int) -> None:
    with connect(impatient) as sock:
        sock.sendall(http_request("GET", "/livez"))
        assert read_answer(sock, "GET").status == 200
        assert read_answer(sock, "GET") == Answer(closed=True)
