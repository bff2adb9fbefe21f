"""Example events of the contract: the design document's payloads, valid and invalid ingest
events. The schema registry's tests and the ingest's tests share them."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

# --------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------

#: The producer payload example of the design document (section 2), copied literally.
SEED_PRODUCER_PAYLOAD: dict[str, Any] = {
    "schema_version": "1.1.0",
    "event_type": "chart_interaction",
    "event_id": "someid",
    "ts": "2025-08-20T20:20:20.123Z",
    "ingest_ts": 1755609845123,
    "source": "web",
    "privacy": {
        "analytics": True,
        "ads": False,
        "source_ip_anonymized": "...",
    },
    "user": {"user_id_hash": "sha256:...", "geo_country": "IL"},
    "session": {
        "session_id": "sid_abc",
        "utm": {"source": "ads", "campaign": "summer"},
    },
    "ctx": {
        "page_url": "...",
        "referrer": "...",
        "locale": "...",
        "user_agent": "...",
        "ab_variant": "A",
    },
    "chart": {
        "product_ids": ["", "studio"],
        "action": "sort",
        "control_id": "plan-price",
        "control_value": "asc",
    },
    "affiliate": None,
    "metadata": {"sdk_version": "0.2.3", "schema_hash": "sha256:deadbeef"},
}

SEED_CLIENT_EVENT_ID = "5b0c2f8e-3d4a-4c1b-9e6f-7a8b9c0d1e2f"


def client_view(producer: dict[str, Any], event_id: str) -> dict[str, Any]:
    """What the client sent for a producer record: server-only fields removed."""
    event = copy.deepcopy(producer)
    privacy = event.pop("privacy")
    for server_field in ("ingest_ts", "source", "is_bot"):
        event.pop(server_field, None)
    event["metadata"].pop("schema_hash")
    event["user"].pop("geo_country")
    event["user"]["consent"] = {"analytics": privacy["analytics"], "ads": privacy["ads"]}
    for key in [key for key, value in event.items() if value is None]:
        del event[key]
    event["event_id"] = event_id
    return event


SEED_CLIENT_PAYLOAD = client_view(SEED_PRODUCER_PAYLOAD, SEED_CLIENT_EVENT_ID)

USER_HASH = "sha256:" + hashlib.sha256(b"user-42@example.com").hexdigest()
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)

MINIMAL_EVENT: dict[str, Any] = {
    "event_type": "page_view",
    "ts": "2025-08-20T20:20:20.123Z",
    "user": {"consent": {"analytics": True}},
}

FULL_PAGE_VIEW: dict[str, Any] = {
    "schema_version": "1.0.0",
    "event_type": "page_view",
    "event_id": "3f1c8a52-5e7b-4c1e-9a57-2b1f0d6f4e21",
    "ts": "2025-08-20T20:20:20.123Z",
    "user": {"user_id_hash": USER_HASH, "consent": {"analytics": True, "ads": True}},
    "session": {
        "session_id": "sid_9f2c1d",
        "utm": {
            "source": "google",
            "medium": "cpc",
            "campaign": "summer",
            "term": "crm pricing",
            "content": "hero-cta",
        },
    },
    "ctx": {
        "page_url": "https://www.example.com/compare/crm?plan=pro#table",
        "referrer": "https://www.google.com/",
        "locale": "en-US",
        "user_agent": UA,
        "ab_variant": "A",
    },
    "metadata": {"sdk_version": "0.2.3", "experiment_keys": ["pricing_table_v2", "hero_copy"]},
}

FULL_CHART: dict[str, Any] = {
    **copy.deepcopy(FULL_PAGE_VIEW),
    "event_type": "chart_interaction",
    "event_id": "0b8a4c7e-1f2d-4e3a-8b9c-0d1e2f3a4b5c",
    "chart": {
        "product_ids": ["hubspot", "pipedrive", "studio"],
        "action": "sort",
        "control_id": "plan-price",
        "control_value": "asc",
    },
}

FULL_AFFILIATE: dict[str, Any] = {
    **copy.deepcopy(FULL_PAGE_VIEW),
    "event_type": "affiliate_click",
    "event_id": "9d8c7b6a-5f4e-4d3c-ab2a-1f0e9d8c7b6a",
    "affiliate": {"link_id": "lnk_123", "target": "hubspot", "payout_cents": 1250},
}

_DELETE = object()


def mutate(base: dict[str, Any], path: str, value: Any = _DELETE) -> dict[str, Any]:
    """A deep copy of ``base`` with the member at slash-separated ``path`` set or deleted."""
    event = copy.deepcopy(base)
    *parents, last = path.split("/")
    target = event
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return event


def chart_event(**chart: Any) -> dict[str, Any]:
    return mutate(FULL_CHART, "chart", chart)


VALID_INGEST = [
    pytest.param(MINIMAL_EVENT, id="minimal"),
    pytest.param(FULL_PAGE_VIEW, id="page_view-full"),
    pytest.param(mutate(FULL_PAGE_VIEW, "schema_version"), id="page_view-no-schema-version"),
    pytest.param(mutate(FULL_PAGE_VIEW, "event_id"), id="page_view-no-event-id"),
    pytest.param(mutate(FULL_PAGE_VIEW, "session/utm", {}), id="page_view-empty-utm"),
    pytest.param(mutate(FULL_PAGE_VIEW, "user/user_id_hash"), id="page_view-anonymous"),
    pytest.param(
        mutate(MINIMAL_EVENT, "user/consent/analytics", False), id="consent-analytics-false"
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/consent", {"analytics": True, "ads": False}),
        id="consent-ads-false",
    ),
    pytest.param(mutate(MINIMAL_EVENT, "ts", "2025-08-20T22:20:20+02:00"), id="ts-plus-0200"),
    pytest.param(mutate(MINIMAL_EVENT, "ts", "2025-08-20T14:50:20-05:30"), id="ts-minus-0530"),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20T22:20:20.123456+02:00"), id="ts-microseconds"
    ),
    pytest.param(mutate(MINIMAL_EVENT, "ts", "2025-08-20T20:20:20.5Z"), id="ts-tenths"),
    pytest.param(mutate(MINIMAL_EVENT, "ts", "2025-08-20T20:20:20Z"), id="ts-whole-seconds"),
    pytest.param(mutate(MINIMAL_EVENT, "ts", "2024-02-29T00:00:00Z"), id="ts-leap-day"),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_id", "0F8FAD5B-D9CB-469F-A165-70867728950E"),
        id="event-id-uppercase",
    ),
    pytest.param(mutate(MINIMAL_EVENT, "schema_version", "1.12.300"), id="schema-version-1-x-x"),
    pytest.param(FULL_CHART, id="chart-full"),
    *[
        pytest.param(
            chart_event(product_ids=["studio"], action=action, control_id="ctl", control_value="v"),
            id=f"chart-action-{action}",
        )
        for action in ("toggle", "sort", "filter", "compare_expand", "compare_collapse")
    ],
    *[
        pytest.param(chart_event(action="filter", control_value=value), id=f"chart-value-{name}")
        for name, value in (
            ("string", "price<100"),
            ("integer", 3),
            ("float", 49.99),
            ("negative", -1),
            ("true", True),
            ("false", False),
            ("null", None),
            ("string-1024", "x" * 1024),
        )
    ],
    pytest.param(chart_event(), id="chart-empty-object"),
    pytest.param(chart_event(product_ids=[]), id="chart-no-products"),
    pytest.param(chart_event(product_ids=[f"p{i}" for i in range(100)]), id="chart-100-products"),
    pytest.param(FULL_AFFILIATE, id="affiliate-full"),
    pytest.param(mutate(FULL_AFFILIATE, "affiliate/payout_cents", 0), id="affiliate-payout-0"),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", 100_000_000), id="affiliate-payout-max"
    ),
    pytest.param(mutate(FULL_AFFILIATE, "affiliate/payout_cents"), id="affiliate-no-payout"),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "ctx/page_url", "https://e.com/?" + "q" * 8177),
        id="page-url-8192",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "metadata/experiment_keys", [f"exp{i}" for i in range(50)]),
        id="experiment-keys-50",
    ),
    pytest.param(mutate(FULL_PAGE_VIEW, "metadata/experiment_keys", []), id="experiment-keys-0"),
    pytest.param(
        {**MINIMAL_EVENT, "event_type": "page_view", "chart": {"action": "toggle"}},
        id="page_view-with-chart",
    ),
    pytest.param(SEED_CLIENT_PAYLOAD, id="seed-client-payload"),
]

INVALID_INGEST = [
    # required members
    pytest.param(mutate(MINIMAL_EVENT, "event_type"), "", "required", "event_type", id="no-type"),
    pytest.param(mutate(MINIMAL_EVENT, "ts"), "", "required", "ts", id="no-ts"),
    pytest.param(mutate(MINIMAL_EVENT, "user"), "", "required", "user", id="no-user"),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/consent"), "/user", "required", "consent", id="no-consent"
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/consent/analytics"),
        "/user/consent",
        "required",
        "analytics",
        id="no-consent-analytics",
    ),
    # event_type
    pytest.param(
        mutate(MINIMAL_EVENT, "event_type", "click"), "/event_type", "enum", None, id="type-unknown"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_type", "Page_View"),
        "/event_type",
        "enum",
        None,
        id="type-case",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_type", 1), "/event_type", "enum", None, id="type-number"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_type", None), "/event_type", "enum", None, id="type-null"
    ),
    # ts
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20T20:20:20.123"),
        "/ts",
        "format",
        None,
        id="ts-no-offset",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20"), "/ts", "format", None, id="ts-date-only"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-13-20T20:20:20Z"), "/ts", "format", None, id="ts-month-13"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-02-29T20:20:20Z"), "/ts", "format", None, id="ts-feb-29"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20 20:20:20Z"), "/ts", "format", None, id="ts-space"
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20T20:20:20+0200"),
        "/ts",
        "format",
        None,
        id="ts-offset-no-colon",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "ts", "2025-08-20T24:00:00Z"), "/ts", "format", None, id="ts-hour-24"
    ),
    pytest.param(mutate(MINIMAL_EVENT, "ts", ""), "/ts", "format", None, id="ts-empty"),
    pytest.param(mutate(MINIMAL_EVENT, "ts", 1755609845123), "/ts", "type", None, id="ts-epoch-ms"),
    # event_id
    pytest.param(
        mutate(MINIMAL_EVENT, "event_id", "someid"),
        "/event_id",
        "format",
        None,
        id="event-id-someid",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_id", "0f8fad5bd9cb469fa16570867728950e"),
        "/event_id",
        "format",
        None,
        id="event-id-no-hyphens",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_id", "0f8fad5b-d9cb-469f-a165-70867728950g"),
        "/event_id",
        "format",
        None,
        id="event-id-non-hex",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "event_id", 12345), "/event_id", "type", None, id="event-id-number"
    ),
    # conditional requireds
    pytest.param(mutate(FULL_CHART, "chart"), "", "required", "chart", id="chart-missing"),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate"), "", "required", "affiliate", id="affiliate-missing"
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate", None), "/affiliate", "type", None, id="affiliate-null"
    ),
    pytest.param(mutate(FULL_CHART, "chart", None), "/chart", "type", None, id="chart-null"),
    # chart
    pytest.param(
        mutate(FULL_CHART, "chart/action", "zoom"),
        "/chart/action",
        "enum",
        None,
        id="action-unknown",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/control_value", {"min": 1}),
        "/chart/control_value",
        "type",
        None,
        id="control-value-object",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/control_value", ["asc"]),
        "/chart/control_value",
        "type",
        None,
        id="control-value-array",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/control_value", "x" * 1025),
        "/chart/control_value",
        "maxLength",
        None,
        id="control-value-too-long",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/product_ids", ["studio", 7]),
        "/chart/product_ids/1",
        "type",
        None,
        id="product-ids-non-string",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/product_ids", "studio"),
        "/chart/product_ids",
        "type",
        None,
        id="product-ids-string",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/product_ids", [f"p{i}" for i in range(101)]),
        "/chart/product_ids",
        "maxItems",
        None,
        id="product-ids-101",
    ),
    # affiliate
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", -1),
        "/affiliate/payout_cents",
        "minimum",
        None,
        id="payout-negative",
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", 1.5),
        "/affiliate/payout_cents",
        "type",
        None,
        id="payout-float",
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", "1250"),
        "/affiliate/payout_cents",
        "type",
        None,
        id="payout-string",
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", True),
        "/affiliate/payout_cents",
        "type",
        None,
        id="payout-boolean",
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/payout_cents", 100_000_001),
        "/affiliate/payout_cents",
        "maximum",
        None,
        id="payout-over-max",
    ),
    # closed objects: every unknown member is rejected where it appears
    pytest.param(
        mutate(FULL_PAGE_VIEW, "ip", "203.0.113.7"),
        "",
        "unevaluatedProperties",
        "'ip'",
        id="unknown-top-level",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "ingest_ts", 1),
        "",
        "unevaluatedProperties",
        "'ingest_ts'",
        id="server-field-ingest-ts",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "privacy", {"analytics": True}),
        "",
        "unevaluatedProperties",
        "'privacy'",
        id="server-field-privacy",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/email", "a@b.c"),
        "/user",
        "unevaluatedProperties",
        "'email'",
        id="unknown-user",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/geo_country", "IL"),
        "/user",
        "unevaluatedProperties",
        "'geo_country'",
        id="server-field-geo-country",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/consent/marketing", True),
        "/user/consent",
        "unevaluatedProperties",
        "'marketing'",
        id="unknown-consent",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session/started_at", "x"),
        "/session",
        "unevaluatedProperties",
        "'started_at'",
        id="unknown-session",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session/utm/gclid", "abc"),
        "/session/utm",
        "unevaluatedProperties",
        "'gclid'",
        id="unknown-utm",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "ctx/screen", "1920x1080"),
        "/ctx",
        "unevaluatedProperties",
        "'screen'",
        id="unknown-ctx",
    ),
    pytest.param(
        mutate(FULL_CHART, "chart/color", "red"),
        "/chart",
        "unevaluatedProperties",
        "'color'",
        id="unknown-chart",
    ),
    pytest.param(
        mutate(FULL_AFFILIATE, "affiliate/network", "cj"),
        "/affiliate",
        "unevaluatedProperties",
        "'network'",
        id="unknown-affiliate",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "metadata/schema_hash", "sha256:00"),
        "/metadata",
        "unevaluatedProperties",
        "'schema_hash'",
        id="server-field-schema-hash",
    ),
    # schema_version
    pytest.param(
        mutate(MINIMAL_EVENT, "schema_version", "1.0"),
        "/schema_version",
        "pattern",
        None,
        id="version-1.0",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "schema_version", "2.0.0"),
        "/schema_version",
        "pattern",
        None,
        id="version-2.0.0",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "schema_version", "1-0-0"),
        "/schema_version",
        "pattern",
        None,
        id="version-file-form",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "schema_version", "v1.0.0"),
        "/schema_version",
        "pattern",
        None,
        id="version-v-prefix",
    ),
    pytest.param(
        mutate(MINIMAL_EVENT, "schema_version", 1),
        "/schema_version",
        "type",
        None,
        id="version-number",
    ),
    # strings and arrays
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session/session_id", ""),
        "/session/session_id",
        "minLength",
        None,
        id="session-id-empty",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session/session_id", "s" * 129),
        "/session/session_id",
        "maxLength",
        None,
        id="session-id-too-long",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session", None), "/session", "type", None, id="session-null"
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/user_id_hash", ""),
        "/user/user_id_hash",
        "minLength",
        None,
        id="user-hash-empty",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "user/consent/analytics", "yes"),
        "/user/consent/analytics",
        "type",
        None,
        id="analytics-string",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "metadata/experiment_keys", "a,b"),
        "/metadata/experiment_keys",
        "type",
        None,
        id="experiment-keys-string",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "metadata/experiment_keys", [f"e{i}" for i in range(51)]),
        "/metadata/experiment_keys",
        "maxItems",
        None,
        id="experiment-keys-51",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "ctx/page_url", "https://e.com/?" + "q" * 8178),
        "/ctx/page_url",
        "maxLength",
        None,
        id="page-url-8193",
    ),
    pytest.param(
        mutate(FULL_PAGE_VIEW, "session/utm/source", "s" * 257),
        "/session/utm/source",
        "maxLength",
        None,
        id="utm-source-too-long",
    ),
    # not an object at all
    pytest.param([MINIMAL_EVENT], "", "type", None, id="payload-array"),
    pytest.param(json.dumps(MINIMAL_EVENT), "", "type", None, id="payload-string"),
    pytest.param(None, "", "type", None, id="payload-null"),
]

# --------------------------------------------------------------------------------------------
# ingest_event 1-1-0: purchases
# --------------------------------------------------------------------------------------------

FULL_PURCHASE: dict[str, Any] = {
    **copy.deepcopy(FULL_PAGE_VIEW),
    "schema_version": "1.1.0",
    "event_type": "purchase",
    "event_id": "c4f1e2d3-7a8b-4c9d-8e0f-1a2b3c4d5e6f",
    "purchase": {
        "order_id": "ord_1001",
        "revenue_cents": 4999,
        "currency": "EUR",
        "products": [
            {"product_id": "studio", "quantity": 1, "price_cents": 3999},
            {"product_id": "addon", "quantity": 2, "price_cents": 500},
        ],
    },
}

#: An affiliate network's server-to-server postback: no session, no page, the credited click.
POSTBACK_PURCHASE: dict[str, Any] = {
    "schema_version": "1.1.0",
    "event_type": "purchase",
    "event_id": "e5d4c3b2-a190-4f8e-9d7c-6b5a4f3e2d1c",
    "ts": "2025-08-21T09:00:00Z",
    "user": {"user_id_hash": USER_HASH, "consent": {"analytics": True}},
    "purchase": {
        "order_id": "net_77",
        "revenue_cents": 12000,
        "currency": "USD",
        "affiliate_click_id": FULL_AFFILIATE["event_id"],
    },
}

VALID_PURCHASE = [
    pytest.param(FULL_PURCHASE, id="purchase-full"),
    pytest.param(POSTBACK_PURCHASE, id="purchase-postback"),
    pytest.param(mutate(FULL_PURCHASE, "purchase/products"), id="purchase-no-products"),
    pytest.param(mutate(FULL_PURCHASE, "purchase/revenue_cents", 0), id="purchase-free"),
    pytest.param(mutate(FULL_PURCHASE, "schema_version", "1.1.7"), id="purchase-1-1-7"),
]

INVALID_PURCHASE = [
    pytest.param(mutate(FULL_PURCHASE, "purchase"), "", "required", id="purchase-missing"),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/order_id"), "/purchase", "required", id="no-order-id"
    ),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/revenue_cents", -1),
        "/purchase/revenue_cents",
        "minimum",
        id="negative-revenue",
    ),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/revenue_cents", 49.99),
        "/purchase/revenue_cents",
        "type",
        id="fractional-revenue",
    ),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/currency", "eur"),
        "/purchase/currency",
        "pattern",
        id="currency-lowercase",
    ),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/products", [{"quantity": 1}]),
        "/purchase/products/0",
        "required",
        id="product-without-id",
    ),
    pytest.param(
        mutate(FULL_PURCHASE, "purchase/coupon", "X"),
        "/purchase",
        "unevaluatedProperties",
        id="purchase-undeclared-field",
    ),
]
