"""The analyst dashboards in the lineage: one external asset per page, downstream of the tables
the page reads.

The pages are dbt exposures (``dbt_project/models/_exposures.yml``), which dagster-dbt does not
make assets of, so they are declared here from the manifest the dbt assets load. A page depends
on the models it reads as the dbt assets name them, on the bronze asset of a source table the
bronze load writes, and on ``realtime/redshift_streaming_mvs`` for the ``rt`` marts (the asset
that applies them). A source table no asset writes (``lake.check_results``, recorded by the
check-results sensors) stays in the page's dbt docs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt.dbt_manifest import validate_manifest

from clickstream_orchestration.assets.bronze import (
    BRONZE_EVENTS,
    QUARANTINE_EVENTS,
    USER_SEGMENT_CHANGES,
)
from clickstream_orchestration.assets.dbt import DAGSTER_DBT_PROJECT, DOCS_URL, TRANSLATOR
from clickstream_orchestration.assets.realtime import REDSHIFT_STREAMING_MVS

GROUP = "dashboards"
REALTIME_SOURCE = "rt"
LOADED_SOURCE_ASSETS = frozenset({BRONZE_EVENTS, QUARANTINE_EVENTS, USER_SEGMENT_CHANGES})


def dashboard_key(exposure_name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, exposure_name])


def dashboard_specs(manifest: Mapping[str, Any]) -> list[dg.AssetSpec]:
    """One spec per dashboard exposure of the manifest."""
    return [
        _spec(manifest, exposure)
        for exposure in manifest["exposures"].values()
        if exposure["type"] == "dashboard"
    ]


def _spec(manifest: Mapping[str, Any], exposure: Mapping[str, Any]) -> dg.AssetSpec:
    email = exposure["owner"].get("email")
    return dg.AssetSpec(
        dashboard_key(exposure["name"]),
        deps=_upstream(manifest, exposure),
        description=" ".join(exposure["description"].split()),
        group_name=GROUP,
        kinds={"streamlit"},
        owners=[email] if email else [],
        tags={"maturity": exposure["maturity"]} if exposure.get("maturity") else {},
        metadata={
            "url": dg.MetadataValue.url(exposure["url"]),
            "dbt_docs": dg.MetadataValue.url(f"{DOCS_URL}/#!/exposure/{exposure['unique_id']}"),
        },
    )


def _upstream(manifest: Mapping[str, Any], exposure: Mapping[str, Any]) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for unique_id in exposure["depends_on"]["nodes"]:
        key = _asset_key(manifest, unique_id)
        if key is not None and key not in keys:
            keys.append(key)
    return keys


def _asset_key(manifest: Mapping[str, Any], unique_id: str) -> dg.AssetKey | None:
    if unique_id in manifest["nodes"]:
        return TRANSLATOR.get_asset_key(manifest["nodes"][unique_id])
    source = manifest["sources"][unique_id]
    if source["source_name"] == REALTIME_SOURCE:
        return REDSHIFT_STREAMING_MVS
    key = TRANSLATOR.get_asset_key(source)
    return key if key in LOADED_SOURCE_ASSETS else None


DASHBOARDS = dashboard_specs(validate_manifest(DAGSTER_DBT_PROJECT.manifest_path))
