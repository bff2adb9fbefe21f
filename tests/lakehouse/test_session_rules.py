"""Session rules on hand-written events: each attribute is the first non-null value in the
session's event order (nulls and empty strings first must not win, nor may the alphabetically
smallest value), comparison pages by path segment, and one copy kept per duplicated event
whatever order the copies were landed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse.bronze_load import load_hour
from lakehouse.build import build_lake
from lakehouse.query import query
from streaming.contracts.settings import Settings
from tests.landed_events import Landing, event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ATTRIBUTES = (
    "user_id_hash",
    "geo_country",
    "ab_variant",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "referrer",
    "first_page_url",
    "last_page_url",
    "affiliate_target",
)

FIRST_EVENTS_EMPTY = [
    # the first events carry nothing (null or empty strings); later ones disagree, and the
    # alphabetically smallest value comes last
    event(
        "attr-1",
        "2026-11-20T10:00:00",
        session_id="attributes",
        user="",
        page_url="",
        geo_country="",
        ab_variant="",
        utm_source="",
        utm_medium="",
        utm_campaign="",
        referrer="",
    ),
    event("attr-2", "2026-11-20T10:01:00", session_id="attributes", user=None, page_url=None),
    event(
        "attr-3",
        "2026-11-20T10:02:00",
        session_id="attributes",
        user="user-m",
        page_url="https://example.com/pricing",
        geo_country="US",
        ab_variant="B",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="november",
        referrer="https://news.example.org/",
    ),
    event(
        "attr-4",
        "2026-11-20T10:03:00",
        session_id="attributes",
        event_type="affiliate_click",
        user="user-a",
        page_url="https://example.com/go",
        geo_country="AR",
        ab_variant="A",
        utm_source="ads",
        utm_medium="cpc",
        utm_campaign="autumn",
        referrer="https://a.example.org/",
        affiliate_target="",
    ),
    event(
        "attr-5",
        "2026-11-20T10:04:00",
        session_id="attributes",
        event_type="affiliate_click",
        user="user-a",
        page_url="https://example.com/exit",
        geo_country="AR",
        affiliate_target="zeta-shop",
    ),
    event(
        "attr-6",
        "2026-11-20T10:05:00",
        session_id="attributes",
        event_type="affiliate_click",
        page_url=None,
        affiliate_target="alpha-shop",
    ),
]
EXPECTED_ATTRIBUTES = {
    "user_id_hash": "user-m",
    "geo_country": "US",
    "ab_variant": "B",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "november",
    "referrer": "https://news.example.org/",
    "first_page_url": "https://example.com/pricing",
    "last_page_url": "https://example.com/exit",
    "affiliate_target": "zeta-shop",
}

NOTHING_SET = [
    event("none-1", "2026-11-20T11:00:00", session_id="nothing", user="", page_url=""),
    event("none-2", "2026-11-20T11:01:00", session_id="nothing", user=None, page_url=None),
]

SAME_TIME = [
    # equal times: event_id orders them, so 'same-1' (null) comes before 'same-2' (DE)
    event("same-2", "2026-11-20T12:00:00", session_id="same-time", geo_country="DE"),
    event("same-3", "2026-11-20T12:00:00", session_id="same-time", geo_country="AT"),
    event("same-1", "2026-11-20T12:00:00", session_id="same-time", geo_country=None),
]

COMPARISON_PAGES = {
    "https://example.com/compare": True,
    "https://example.com/compare/": True,
    "https://example.com/compare/gpus?sort=price": True,
    "/compare?left=a&right=b": True,
    "/compare#top": True,
    "https://example.com/comparex": False,
    "https://example.com/compare-tools/gpus": False,
    "https://example.com/products/compare": False,
    "https://example.com/": False,
}


def _comparison_events() -> list[dict[str, Any]]:
    return [
        event(f"cmp-{number}", "2026-11-20T13:00:00", session_id=f"cmp-{number}", page_url=url)
        for number, url in enumerate(COMPARISON_PAGES)
    ]


def _build(home: Path, records: list[dict[str, Any]], *, select: str | None = None) -> Settings:
    settings = Settings(home=home)
    hour = Landing(settings).land(records, arrival="2026-11-20T14:00:00")
    load_hour(settings, hour)
    build_lake(settings, select=select, run_tests=select is None, capture=True)
    return settings


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One full ``dbt build`` (models and every dbt test) over the hand-written sessions."""
    records = FIRST_EVENTS_EMPTY + NOTHING_SET + SAME_TIME + _comparison_events()
    yield _build(tmp_path_factory.mktemp("session-rules"), records)


def _session(settings: Settings, session_id: str) -> dict[str, Any]:
    [row] = query(
        settings, f"select * from lake.silver_sessions where session_id = '{session_id}'"
    ).to_pylist()
    return row


def test_attributes_are_the_first_non_null_value_in_event_order(lake: Settings) -> None:
    session = _session(lake, "attributes")
    assert {name: session[name] for name in ATTRIBUTES} == EXPECTED_ATTRIBUTES
    assert session["events"] == 6


def test_an_attribute_no_event_carries_stays_null(lake: Settings) -> None:
    session = _session(lake, "nothing")
    assert all(session[name] is None for name in ATTRIBUTES)


def test_events_at_the_same_time_are_ordered_by_event_id(lake: Settings) -> None:
    assert _session(lake, "same-time")["geo_country"] == "DE"


def test_the_funnel_carries_the_sessions_attributes(lake: Settings) -> None:
    [row] = query(
        lake, "select * from mart.fact_funnel where session_id = 'attributes'"
    ).to_pylist()
    assert (row["geo_country"], row["ab_variant"], row["user_id_hash"]) == ("US", "B", "user-m")
    assert row["affiliate_target"] == "zeta-shop"


def test_comparison_pages_are_matched_by_path_segment(lake: Settings) -> None:
    rows = query(
        lake,
        "select session_id, saw_comparison from lake.silver_sessions where session_id like 'cmp-%'",
    ).to_pylist()
    seen = {row["session_id"]: row["saw_comparison"] for row in rows}
    assert seen == {f"cmp-{number}": saw for number, saw in enumerate(COMPARISON_PAGES.values())}


def test_copies_with_the_same_ingest_time_keep_the_same_copy_in_any_order(
    tmp_path: Path,
) -> None:
    copies = [
        event("dup", "2026-11-20T10:00:00", session_id="dup", geo_country=country, ab_variant=ab)
        for country, ab in (("FR", "A"), ("US", "B"), ("DE", None))
    ]
    kept = []
    for name, order in (("forward", copies), ("backward", copies[::-1])):
        settings = _build(tmp_path / name, order, select="silver_events")
        rows = query(settings, "select * from lake.silver_events").to_pylist()
        assert len(rows) == 1
        kept.append(rows[0])
    assert kept[0] == kept[1]
