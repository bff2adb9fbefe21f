"""The dashboards in the asset graph: each page (a dbt exposure) is an external asset downstream
of exactly the tables it reads, and no job tries to materialise one."""

from __future__ import annotations

import dagster as dg
import pytest

from clickstream_orchestration.assets.bronze import QUARANTINE_EVENTS
from clickstream_orchestration.assets.dashboards import GROUP, dashboard_key
from clickstream_orchestration.assets.realtime import REDSHIFT_STREAMING_MVS
from clickstream_orchestration.checks.gates import FACT_FUNNEL, SILVER_EVENTS
from clickstream_orchestration.definitions import defs
from clickstream_orchestration.jobs import JOBS


def gold(name: str) -> dg.AssetKey:
    return dg.AssetKey(["gold", name])


PAGES = {
    "overview": ("overview", {FACT_FUNNEL}),
    "funnel": ("funnel", {FACT_FUNNEL}),
    "attribution": ("attribution", {gold("agg_attribution_daily")}),
    "engagement": (
        "engagement",
        {gold("agg_engagement_daily"), gold("agg_pages_daily"), gold("retention_weekly")},
    ),
    "realtime": ("realtime", {REDSHIFT_STREAMING_MVS}),
    "data_health": ("data-health", {SILVER_EVENTS, QUARANTINE_EVENTS}),
}


@pytest.fixture(scope="module")
def graph() -> dg.AssetGraph:
    return defs.resolve_asset_graph()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_is_an_asset_downstream_of_the_tables_it_reads(
    graph: dg.AssetGraph, page: str
) -> None:
    path, upstream = PAGES[page]
    node = graph.get(dashboard_key(page))
    assert node.parent_keys == upstream
    assert node.group_name == GROUP
    assert not node.is_materializable, "a page is external: nothing materialises it"
    assert node.kinds == {"streamlit"}
    assert node.owners == ["analytics@example.com"]
    assert node.metadata["url"] == dg.MetadataValue.url(f"http://127.0.0.1:8501/{path}")
    assert node.description


def test_the_dashboards_group_holds_the_pages_only(graph: dg.AssetGraph) -> None:
    pages = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == GROUP}
    assert pages == {dashboard_key(page) for page in PAGES}


def test_sources_read_only_by_pages_add_no_asset(graph: dg.AssetGraph) -> None:
    keys = graph.get_all_asset_keys()
    for name in (
        "check_results",
        "last_hour_per_minute",
        "active_users",
        "top_pages_last_hour",
        "by_country_last_hour",
    ):
        assert not [key for key in keys if key.path[-1] == name], name


@pytest.mark.parametrize("job", [job.name for job in JOBS])
def test_no_job_selects_a_page(job: str) -> None:
    selected = defs.resolve_job_def(job).asset_layer.selected_asset_keys
    assert not [key for key in selected if key.path[0] == GROUP]
