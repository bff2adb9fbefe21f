"""Property-based tests of the ingest: whatever the body, no 5xx other than 503.

Hypothesis drives the body decoder and the core (validator, consent, enrichment, quarantine
records) directly, then the whole HTTP application, with JSON values of any shape and depth,
mutated contract events, raw bytes and gzip members with junk around them. The runs are
derandomized (the same examples in every run) and bounded to a few seconds.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from conftest import TestClient, aws_settings_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.contracts.settings import IngestSettings, LocalAwsSettings, Settings
from streaming.enrichment import RequestContext
from streaming.ingest.core import ACCEPTED, DISCARDED, REJECTED, REJECTION_REASONS, IngestCore
from streaming.ingest.http_contract import BodyTooLargeError, decode_body
from streaming.ingest.server import create_app
from tests.event_examples import FULL_CHART, FULL_PAGE_VIEW, MINIMAL_EVENT, SEED_CLIENT_PAYLOAD

BUDGET = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMIT = 64 * 1024
EVENTS = [MINIMAL_EVENT, FULL_PAGE_VIEW, FULL_CHART, SEED_CLIENT_PAYLOAD]
PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@st.composite
def deeply_nested(draw: st.DrawFn) -> Any:
    value = draw(scalars)
    for _ in range(draw(st.integers(min_value=0, max_value=300))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A contract event with one member replaced, removed or added, somewhere inside it."""
    event = copy.deepcopy(draw(st.sampled_from(EVENTS)))
    target = event
    while isinstance(target, dict) and target and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(target)))
        if not isinstance(target[key], dict):
            break
        target = target[key]
    if isinstance(target, dict):
        key = draw(st.sampled_from([*sorted(target), draw(st.text(max_size=10))]))
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values | deeply_nested())
    return event


events = mutated_events() | json_values | deeply_nested()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A request body and its Content-Encoding."""
    document = draw(
        st.lists(events, max_size=8).map(lambda items: {"events": items})
        | events
        | st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    )
    data = _json(document) if draw(st.booleans()) else draw(st.binary(max_size=200))
    if draw(st.booleans()):
        return data, draw(st.sampled_from([None, "identity", "br", "", "GZIP"]))
    members = [gzip.compress(piece) for piece in _split(data, draw(st.integers(1, 3)))]
    junk = draw(st.sampled_from([b"", b"", b"\0\0", b"garbage", b"\x1f\x8b", b"\x1f\x8b\x08"]))
    compressed = b"".join(members) + junk
    cut = draw(st.integers(min_value=0, max_value=4))
    return (compressed[:-cut] if cut else compressed), "gzip"


def _json(document: Any) -> bytes:
    """Compact JSON of any depth (orjson refuses to write more than 254 levels)."""
    return json.dumps(document, separators=(",", ":")).encode()


def _split(data: bytes, parts: int) -> list[bytes]:
    step = max(1, len(data) // parts)
    return [data[start : start + step] for start in range(0, len(data), step)] or [b""]


# --- the decoder and the core ---------------------------------------------------------------


@BUDGET
@given(bodies())
def test_the_decoder_decodes_or_refuses(body: tuple[bytes, str | None]) -> None:
    data, encoding = body
    try:
        decoded = decode_body(data, encoding, LIMIT)
    except (BodyTooLargeError, LookupError, ValueError):
        return
    assert len(decoded) <= LIMIT
    if encoding in (None, "identity", ""):
        assert decoded == data


@pytest.fixture(scope="module")
def core() -> IngestCore:
    return IngestCore(IngestSettings(), b"fuzz-hmac-key")


@BUDGET
@given(st.lists(events, max_size=6))
def test_the_core_answers_every_event_once(core: IngestCore, batch: list[Any]) -> None:
    processed = core.process(batch, RequestContext(received_at_ms=1, client_ip="203.0.113.0"))
    assert [result.index for result in processed.results] == list(range(len(batch)))
    assert {result.status for result in processed.results} <= {ACCEPTED, REJECTED, DISCARDED}
    assert processed.accepted + processed.rejected + processed.discarded == len(batch)
    assert len(processed.records) == processed.accepted
    assert len(processed.quarantined) == processed.rejected
    assert set(processed.rejected_by_reason) <= set(REJECTION_REASONS)
    for record in processed.quarantined:
        orjson.dumps(record)


# --- the HTTP application -------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[tuple[TestClient, Settings]]:
    settings_ = aws_settings_at(tmp_path_factory.mktemp("fuzz"), local_aws)
    with TestClient(create_app(settings_)) as client:
        yield client, settings_


PATHS = ["/v1/events", "/v1/batch", "/v1/batch/", "/healthz", "/livez", "/metrics", "/v2/x", "/"]
METHODS = ["POST", "POST", "POST", "GET", "PUT", "OPTIONS", "DELETE", "PATCH", "HEAD"]
CONTENT_TYPES = ["application/json", "text/plain;charset=UTF-8", "text/html", "", "*/*"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes, dict[str, str]]:
    data, encoding = draw(bodies())
    headers = {"content-type": draw(st.sampled_from(CONTENT_TYPES))}
    for name, value in (
        ("content-encoding", encoding),
        ("origin", draw(st.none() | st.just("http://localhost:3000") | PRINTABLE)),
        ("x-forwarded-for", draw(st.none() | PRINTABLE)),
    ):
        if value is not None:
            headers[name] = value
    return draw(st.sampled_from(METHODS)), draw(st.sampled_from(PATHS)), data, headers


@BUDGET
@given(requests())
def test_no_request_gets_a_5xx_other_than_503(
    http: tuple[TestClient, Settings], request: tuple[str, str, bytes, dict[str, str]]
) -> None:
    client, _ = http
    method, path, data, headers = request
    response = client.request(method, path, content=data, headers=headers)
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code == 204 or method == "HEAD":
        return
    if path == "/metrics" and response.status_code == 200:
        assert response.headers["content-type"].startswith("text/plain")
        return
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    if "error" in answer:
        assert set(answer["error"]) == {"code", "message"}
    elif "results" in answer:
        assert (
            len(answer["results"]) == answer["accepted"] + answer["rejected"] + answer["discarded"]
        )
