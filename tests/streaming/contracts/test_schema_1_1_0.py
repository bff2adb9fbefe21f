"""ingest_event and producer_event 1-1-0: the purchase event, added without breaking 1-0-0."""

from __future__ import annotations

from typing import Any

import pytest

from streaming.contracts.schema_registry import (
    INGEST_EVENT,
    PRODUCER_EVENT,
    RegisteredSchema,
    SchemaRegistry,
    default_registry,
    producer_event_types,
)
from streaming.enrichment import RequestContext, enrich
from tests.event_examples import (
    FULL_PURCHASE,
    INVALID_INGEST,
    INVALID_PURCHASE,
    VALID_INGEST,
    VALID_PURCHASE,
)

REQUEST = RequestContext(received_at_ms=1_755_721_220_123, client_ip="203.0.113.9")


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return default_registry()


@pytest.fixture(scope="module")
def v100(registry: SchemaRegistry) -> RegisteredSchema:
    return registry.get(INGEST_EVENT, "1.0.0")


@pytest.fixture(scope="module")
def v110(registry: SchemaRegistry) -> RegisteredSchema:
    return registry.get(INGEST_EVENT, "1.1.0")


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_every_1_0_0_example_is_valid_under_both(
    v100: RegisteredSchema, v110: RegisteredSchema, payload: dict[str, Any]
) -> None:
    assert v100.issues(payload) == []
    assert v110.issues(payload) == []


@pytest.mark.parametrize(("payload", "pointer", "keyword", "_"), INVALID_INGEST)
def test_invalid_1_0_0_examples_stay_invalid_for_the_same_reason(
    v110: RegisteredSchema, payload: Any, pointer: str, keyword: str, _: object
) -> None:
    found = {(issue.pointer, issue.keyword) for issue in v110.issues(payload)}
    assert (pointer, keyword) in found or (keyword == "enum" and pointer == "/event_type")


@pytest.mark.parametrize("payload", VALID_INGEST)
def test_a_1_0_0_event_is_processed_as_before(
    registry: SchemaRegistry, payload: dict[str, Any]
) -> None:
    """The registry resolves a 1-0-x payload to 1-0-0 and its record gains no member."""
    schema = registry.resolve(INGEST_EVENT, payload.get("schema_version"))
    record = enrich(
        payload, request=REQUEST, schema=schema, hmac_key=b"k", event_id_factory=lambda: "e1"
    )
    assert "purchase" not in record
    producer = registry.resolve(PRODUCER_EVENT, record["schema_version"])
    assert producer.issues(record) == []


@pytest.mark.parametrize("payload", VALID_PURCHASE)
def test_purchase_examples_are_valid_under_1_1_0_only(
    registry: SchemaRegistry,
    v100: RegisteredSchema,
    v110: RegisteredSchema,
    payload: dict[str, Any],
) -> None:
    assert v110.issues(payload) == []
    assert registry.resolve(INGEST_EVENT, payload["schema_version"]) is v110
    assert not v100.is_valid(payload)


@pytest.mark.parametrize(("payload", "pointer", "keyword"), INVALID_PURCHASE)
def test_invalid_purchase_examples(
    v110: RegisteredSchema, payload: dict[str, Any], pointer: str, keyword: str
) -> None:
    assert (pointer, keyword) in {(issue.pointer, issue.keyword) for issue in v110.issues(payload)}


def test_a_purchase_declared_as_1_0_0_is_refused(registry: SchemaRegistry) -> None:
    event = {**FULL_PURCHASE, "schema_version": "1.0.0"}
    issues = registry.resolve(INGEST_EVENT, "1.0.0").issues(event)
    assert ("/event_type", "enum") in {(issue.pointer, issue.keyword) for issue in issues}


@pytest.mark.parametrize("payload", VALID_PURCHASE)
def test_enriched_purchase_is_a_valid_producer_1_1_0_record(
    registry: SchemaRegistry, v110: RegisteredSchema, payload: dict[str, Any]
) -> None:
    record = enrich(payload, request=REQUEST, schema=v110, hmac_key=b"k")
    assert record["purchase"] == payload["purchase"]
    assert registry.resolve(PRODUCER_EVENT, record["schema_version"]).issues(record) == []
    assert not registry.get(PRODUCER_EVENT, "1.0.0").is_valid(record)


def test_producer_event_types_include_purchase(registry: SchemaRegistry) -> None:
    assert producer_event_types(registry) == [
        "affiliate_click",
        "chart_interaction",
        "page_view",
        "purchase",
    ]
