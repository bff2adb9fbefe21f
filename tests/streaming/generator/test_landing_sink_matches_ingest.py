"""The landing sink lands what the HTTP ingest and the delivery would: a dirty day through both.

Every event of a generated day (consent-off visitors, crawlers, server events, re-sends, late
arrivals, every kind of schema violation) plus hand-made ones (unknown MODEL ``2.0.0``, events
too large valid or not, too deep, not objects, IP addresses where they do not belong, consent off
on top of all that) goes (a) through ``write_landing`` and (b) one request each through the ingest
application, with the client's address and country in the headers a CDN adds and the arrival
time as the request's receipt time. The bronze objects must be byte for byte the objects the
delivery would frame from the ingest's stream records, and the quarantine rows byte for byte the
rows the ingest's quarantine writer stores.
"""

from __future__ import annotations

import copy
import gzip
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import orjson
import pytest
from conftest import TestClient
from pydantic import SecretStr

from streaming.contracts.landing import LocalLandingStore, encode_records
from streaming.contracts.schema_registry import INGEST_EVENT, default_registry
from streaming.contracts.settings import IngestSettings, Settings
from streaming.delivery.records import bronze_route
from streaming.generator import TrafficConfig
from streaming.generator.schedule import SlicePlan, plan_slices
from streaming.generator.sinks import landing as landing_sink
from streaming.generator.sinks.http import Batch, request_headers
from streaming.generator.slices import Delivery, draw_deliveries
from streaming.ingest import http_contract
from streaming.ingest.core import (
    EVENT_TOO_LARGE,
    NESTING_TOO_DEEP,
    NOT_AN_OBJECT,
    SCHEMA_VIOLATION,
    TRUNCATED_BRANCH,
    UNSUPPORTED_VERSION,
)
from streaming.ingest.health import SinkProbe
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.ingest.server import create_app
from streaming.producer.records import Ack, NullSink, StreamRecord

ACCEPTED, DISCARDED = "accepted", "discarded"
CONFIG = TrafficConfig(
    events=1_500,
    seed=2027,
    start=datetime(2026, 11, 4, tzinfo=UTC),
    consent_off_share=0.05,
    bot_share=0.04,
    duplicate_share=0.02,
    late_share=0.02,
    sessionless_share=0.05,
    invalid_share=0.08,
)
ORIGIN = "http://localhost:3000"
API_KEY = "generator-parity-key"
PROXY = ("10.0.0.2", 50000)
"""The CDN in front of the ingest: the test client connects from a trusted proxy network."""
DEPTH = 70
OBJECT_TIME = re.compile(r"-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]{36}\.gz$")
RAW_IPS = (
    "198.51.100.77",
    "198.51.100.200",
    "198.51.100.3",
    "198.51.100.4",
    "198.51.100.5",
    "203.0.113.9",
    "192.0.2.55",
    "2001:db8:1234:5678::9",
)
TRUNCATED_IPS = ("198.51.100.0", "203.0.113.0", "192.0.2.0", "2001:db8:1234::")


class Crafted(NamedTuple):
    name: str
    expected: str
    """``accepted``, ``discarded`` or the rejection reason."""
    server: bool
    """Sent by a server-side tracker rather than a browser."""


CRAFTED = (
    Crafted("ip_as_unknown_property", SCHEMA_VIOLATION, server=False),
    Crafted("ipv6_as_member_name", SCHEMA_VIOLATION, server=False),
    Crafted("ip_as_timestamp", SCHEMA_VIOLATION, server=False),
    Crafted("ip_from_a_server", SCHEMA_VIOLATION, server=True),
    Crafted("unknown_model", UNSUPPORTED_VERSION, server=False),
    Crafted("unknown_model_with_ip_in_url", UNSUPPORTED_VERSION, server=True),
    Crafted("valid_but_too_large", EVENT_TOO_LARGE, server=False),
    Crafted("invalid_and_too_large_with_ip", EVENT_TOO_LARGE, server=False),
    Crafted("too_deep_with_ips", NESTING_TOO_DEEP, server=False),
    Crafted("not_an_object_with_ip", NOT_AN_OBJECT, server=False),
    Crafted("consent_off_and_invalid", DISCARDED, server=False),
    Crafted("consent_off_and_unknown_model", DISCARDED, server=False),
    Crafted("consent_off_and_too_large", DISCARDED, server=False),
    Crafted("consent_off_and_too_deep", NESTING_TOO_DEEP, server=False),
)
CRAFTED_BY_NAME = {crafted.name: crafted for crafted in CRAFTED}


def nested(levels: int, leaf: Any) -> Any:
    value = leaf
    for level in range(levels):
        value = {f"level_{level}": value}
    return value


def crafted_payload(name: str, base: dict[str, Any]) -> Any:
    """A client event with the trouble ``name`` says, made from a valid generated one."""
    event = copy.deepcopy(base)
    consent = event["user"]["consent"]
    if name == "ip_as_unknown_property":
        event["client_ip"] = "198.51.100.77"
    elif name == "ipv6_as_member_name":
        event["ctx"]["2001:db8:1234:5678::9"] = "seen at"
    elif name == "ip_as_timestamp":
        event["ts"] = "203.0.113.9"
    elif name == "ip_from_a_server":
        event["forwarded_for"] = "198.51.100.5, 10.0.0.2"
    elif name == "unknown_model":
        event["schema_version"] = "2.0.0"
    elif name == "unknown_model_with_ip_in_url":
        event["schema_version"] = "2.0.0"
        event.setdefault("ctx", {})["page_url"] = "http://192.0.2.55/compare/crm"
    elif name == "valid_but_too_large":
        event["event_type"] = "chart_interaction"
        event["chart"] = {
            "product_ids": [f"p{index:03d}".ljust(256, "x") for index in range(100)],
            "action": "sort",
            "control_id": "plan-price",
        }
        event.pop("affiliate", None)
        event["ctx"]["page_url"] = "https://example.test/compare?" + "q" * 8000
        event["ctx"]["referrer"] = "https://example.test/search?" + "r" * 8000
    elif name == "invalid_and_too_large_with_ip":
        event["debug"] = "198.51.100.200 " + "x" * 40_000
    elif name == "too_deep_with_ips":
        event["metadata"] = {"relay": "198.51.100.3", "trace": nested(DEPTH, "198.51.100.4")}
    elif name == "not_an_object_with_ip":
        return ["198.51.100.4", event["event_id"]]
    elif name == "consent_off_and_invalid":
        consent["analytics"] = False
        event["client_ip"] = "198.51.100.77"
    elif name == "consent_off_and_unknown_model":
        consent["analytics"] = False
        event["schema_version"] = "2.0.0"
    elif name == "consent_off_and_too_large":
        consent["analytics"] = False
        event["debug"] = "y" * 40_000
    elif name == "consent_off_and_too_deep":
        consent["analytics"] = False
        event["metadata"] = {"trace": nested(DEPTH, "198.51.100.3")}
    else:
        raise AssertionError(name)
    return event


def with_crafted(deliveries: list[Delivery]) -> list[Delivery]:
    """The slice's deliveries with every crafted event added, each sent by a generated client
    shortly after one of its valid events."""
    valid = [d for d in deliveries if d.invalid_kind is None and not d.visit.consent_off]
    web = next(d for d in valid if d.visit.source == "web" and d.event_type == "page_view")
    server = next(d for d in valid if d.visit.source == "server")
    added = []
    for step, crafted in enumerate(CRAFTED, start=1):
        base = server if crafted.server else web
        payload = crafted_payload(crafted.name, orjson.loads(base.line))
        added.append(
            base._replace(
                line=orjson.dumps(payload).decode(),
                arrival_ms=base.arrival_ms + 37 * step,
                invalid_kind=crafted.name,
            )
        )
    return sorted(deliveries + added, key=lambda delivery: delivery.arrival_ms)


def has_bases(deliveries: list[Delivery]) -> bool:
    valid = [d for d in deliveries if d.invalid_kind is None and not d.visit.consent_off]
    return any(d.visit.source == "server" for d in valid) and any(
        d.visit.source == "web" and d.event_type == "page_view" for d in valid
    )


@cache
def crafted_slice() -> int:
    """The first slice from the middle of the day on with both kinds of client to craft from."""
    plans = plan_slices(CONFIG)
    middle = plans[len(plans) // 2 :]
    return next(plan.index for plan in middle if has_bases(draw_deliveries(CONFIG, plan)[0]))


def day_deliveries() -> list[tuple[int, int, Delivery]]:
    """(slice, order, delivery) of every event the landing sink sees, in landing order."""
    chosen = crafted_slice()
    sent: list[tuple[int, int, Delivery]] = []
    for plan in plan_slices(CONFIG):
        deliveries, _ = draw_deliveries(CONFIG, plan)
        if plan.index == chosen:
            deliveries = with_crafted(deliveries)
        sent.extend((plan.index, order, delivery) for order, delivery in enumerate(deliveries))
    sent.sort(key=lambda entry: (entry[2].arrival_ms, entry[0], entry[1]))
    return sent


def expected_outcome(delivery: Delivery) -> str:
    kind = delivery.invalid_kind
    if kind in CRAFTED_BY_NAME:
        return CRAFTED_BY_NAME[kind].expected
    if delivery.visit.consent_off:
        return DISCARDED
    if kind is None:
        return ACCEPTED
    if kind == "bad_schema_version" and orjson.loads(delivery.line)["schema_version"] == "2.0.0":
        return UNSUPPORTED_VERSION
    return SCHEMA_VIOLATION


# --- the two paths ---------------------------------------------------------------------------


def parity_settings(home: Path) -> Settings:
    return Settings(
        home=home,
        ingest=IngestSettings(
            hmac_secret=SecretStr("generator-parity-secret"),
            api_keys=[SecretStr(API_KEY)],
            allowed_origins=[ORIGIN],
            trusted_proxies=["10.0.0.0/8"],
        ),
    )


class RecordingSink(NullSink):
    """The stream as the ingest hands records to it, acknowledged at once."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[StreamRecord] = []

    def submit(self, records: Sequence[StreamRecord]) -> Future[list[Ack]]:
        self.submitted.extend(records)
        return super().submit(records)


class RecordingStore(LocalLandingStore):
    """The quarantine's landing store, remembering the order objects were put in."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.bodies: list[bytes] = []

    def put(self, key: str, body: bytes) -> None:
        super().put(key, body)
        self.bodies.append(body)


class IngestOutcome(NamedTuple):
    statuses: list[str]
    """Per event: ``accepted``, ``discarded`` or the rejection reason, from the answers."""
    records: list[tuple[int, StreamRecord]]
    """The stream records, with the arrival time of the request that carried each."""
    quarantine_lines: list[bytes]
    """The quarantine writer's rows, as the lines of the objects it stored, in order."""


def through_the_ingest(
    sent: list[tuple[int, int, Delivery]], home: Path, monkeypatch: pytest.MonkeyPatch
) -> IngestOutcome:
    """Each event in its own request to the ingest application, received at its arrival."""
    settings = parity_settings(home)
    stream = RecordingSink()
    quarantine = RecordingStore(home / "quarantine-store")

    def runtime(settings: Settings) -> Runtime:
        probe = SinkProbe(lambda: None, lambda: None, 1.0)
        return build_runtime(settings, sink=stream, store=quarantine, probe=probe)

    received_at = [0]
    monkeypatch.setattr(http_contract, "time", SimpleNamespace(time_ns=lambda: received_at[0]))
    statuses = []
    records: list[tuple[int, StreamRecord]] = []
    with TestClient(create_app(settings, runtime), client=PROXY) as client:
        for _, _, delivery in sent:
            visit = delivery.visit
            headers = request_headers(
                Batch([], visit.client_ip, visit.viewer_country, visit.source), API_KEY
            )
            if visit.source == "web":
                headers["Origin"] = ORIGIN
            received_at[0] = delivery.arrival_ms * 1_000_000
            before = len(stream.submitted)
            response = client.post(
                "/v1/batch",
                content=b'{"events":[' + delivery.line.encode() + b"]}",
                headers=headers,
            )
            assert response.status_code == 200, response.text
            (result,) = response.json()["results"]
            statuses.append(result.get("reason", result["status"]))
            records.extend((delivery.arrival_ms, record) for record in stream.submitted[before:])
    lines = [line for body in quarantine.bodies for line in gzip.decompress(body).splitlines()]
    return IngestOutcome(statuses, records, lines)


def through_the_landing_sink(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, bytes], dict[str, int]]:
    """Every object the landing sink writes, by key, and its report."""
    settings = parity_settings(home)
    chosen = crafted_slice()

    def deliveries_with_crafted(config: TrafficConfig, plan: SlicePlan) -> Any:
        deliveries, tally = draw_deliveries(config, plan)
        if plan.index == chosen:
            deliveries = with_crafted(deliveries)
        return deliveries, tally

    monkeypatch.setattr(landing_sink, "draw_deliveries", deliveries_with_crafted)
    store = LocalLandingStore(settings.landing_dir)
    summary = landing_sink.write_landing(CONFIG, store, settings, workers=1)
    objects = {item.key: store.get(item.key) for item in store.list()}
    return objects, summary.sink


def window_of(key: str, buffer_ms: int) -> int:
    match = OBJECT_TIME.search(key)
    assert match, key
    start = datetime.strptime(match[1], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
    window_ms = int(start.timestamp() * 1000)
    assert window_ms % buffer_ms == 0, key
    return window_ms


# --- the comparison --------------------------------------------------------------------------


class Day(NamedTuple):
    sent: list[tuple[int, int, Delivery]]
    expected: list[str]
    ingest: IngestOutcome
    objects: dict[str, bytes]
    """What the landing sink wrote, by key."""
    report: dict[str, int]
    settings: Settings


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    sent = day_deliveries()
    expected = [expected_outcome(delivery) for _, _, delivery in sent]
    with pytest.MonkeyPatch.context() as monkeypatch:
        ingest = through_the_ingest(sent, tmp_path_factory.mktemp("ingest"), monkeypatch)
    landing_home = tmp_path_factory.mktemp("landing")
    with pytest.MonkeyPatch.context() as monkeypatch:
        objects, report = through_the_landing_sink(landing_home, monkeypatch)
    return Day(sent, expected, ingest, objects, report, parity_settings(landing_home))


def test_the_ingest_answers_what_the_day_is_made_of(day: Day) -> None:
    assert day.ingest.statuses == day.expected
    counts = Counter(day.expected)
    assert counts[UNSUPPORTED_VERSION] >= 3  # the crafted ones and a generated one
    assert counts[NESTING_TOO_DEEP] == 2
    assert counts[EVENT_TOO_LARGE] == 2
    assert counts[NOT_AN_OBJECT] == 1
    assert counts[SCHEMA_VIOLATION] > 100
    assert counts[DISCARDED] > 50
    assert counts[ACCEPTED] > 1000
    too_large = next(d for _, _, d in day.sent if d.invalid_kind == "valid_but_too_large")
    schema = default_registry().get(INGEST_EVENT, "1.0.0")
    assert schema.is_valid(orjson.loads(too_large.line))  # too large only once enriched


def test_bronze_objects_are_what_the_delivery_frames_from_the_ingest_records(day: Day) -> None:
    buffer_ms = day.settings.delivery.buffer_seconds * 1000
    framed: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for arrival_ms, record in day.ingest.records:
        partition, landed, _ = bronze_route(record.data)
        framed[partition.name, arrival_ms - arrival_ms % buffer_ms].append(landed)
    expected = {group: encode_records(records) for group, records in framed.items()}
    bronze: dict[tuple[str, int], bytes] = {}
    for key, body in day.objects.items():
        if key.startswith(day.settings.landing_bronze_prefix + "/"):
            event_type = key.split("/")[1].removeprefix("events_type=")
            group = (event_type, window_of(key, buffer_ms))
            assert group not in bronze, key
            bronze[group] = body
    assert len(bronze) > 100
    assert bronze.keys() == expected.keys()
    for group, body in bronze.items():
        assert body == expected[group], group

    lines = b"".join(gzip.decompress(body) for _, body in sorted(bronze.items()))
    by_type_then_arrival = sorted(
        day.ingest.records,
        key=lambda entry: (orjson.loads(entry[1].data)["event_type"], entry[0]),
    )
    assert lines == b"".join(record.data + b"\n" for _, record in by_type_then_arrival)
    assert day.report["bronze_records"] == len(day.ingest.records)
    assert len(day.ingest.records) == Counter(day.expected)[ACCEPTED]


def quarantine_lines(day: Day) -> list[bytes]:
    prefix = day.settings.landing_quarantine_prefix + "/"
    keys = sorted(key for key in day.objects if key.startswith(prefix))
    return [line for key in keys for line in gzip.decompress(day.objects[key]).splitlines()]


def test_quarantine_rows_are_the_ingest_rows_byte_for_byte(day: Day) -> None:
    lines = quarantine_lines(day)
    assert lines == day.ingest.quarantine_lines
    rejected = Counter(s for s in day.expected if s not in (ACCEPTED, DISCARDED))
    assert Counter(orjson.loads(line)["kind"] for line in lines) == rejected
    assert day.report["quarantined"] == len(lines)
    assert day.report["discarded_consent_off"] == Counter(day.expected)[DISCARDED]


def test_quarantine_rows_keep_no_address_and_hold_to_the_limits(day: Day) -> None:
    lines = quarantine_lines(day)
    blob = b"\n".join(lines)
    assert [ip for ip in RAW_IPS if ip.encode() in blob] == []
    assert [ip for ip in TRUNCATED_IPS if ip.encode() not in blob] == []
    rows = [orjson.loads(line) for line in lines]
    assert {row["source"] for row in rows} == {"web", "server"}
    by_kind = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    cap = day.settings.ingest.quarantine_payload_bytes
    assert [row["payload_truncated"] for row in by_kind[EVENT_TOO_LARGE]] == [True, True]
    assert all(len(row["payload"].encode()) <= cap for row in rows)
    assert all(TRUNCATED_BRANCH in row["payload"] for row in by_kind[NESTING_TOO_DEEP])
    messages = [reason["message"] for row in rows for reason in row["reasons"]]
    assert any("'2001:db8:1234::'" in message for message in messages)
    assert any('"203.0.113.0"' in message for message in messages)
