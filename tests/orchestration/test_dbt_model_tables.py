"""Each dbt model asset reports on the table dbt writes: a run's materialisations and their
metadata are matched to the published tables by that identifier."""

from __future__ import annotations

import json

from clickstream_orchestration.assets.dbt import TRANSLATOR, model_identifier
from clickstream_orchestration.dbt_resources import ensure_manifest
from streaming.contracts.settings import Settings


def test_every_model_asset_names_the_table_dbt_writes() -> None:
    settings = Settings()
    manifest = json.loads(ensure_manifest(settings).read_text())
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "ephemeral"
    ]
    written = {
        model_identifier(
            settings, TRANSLATOR.get_asset_key(node)
        ): f"{node['schema']}.{node['alias']}"
        for node in models
    }
    assert len(written) == len(models) >= 15
    assert {identifier for identifier, table in written.items() if identifier != table} == set()
    assert {"mart.agg_attribution_daily", "mart.dim_users", "mart.retention_weekly"} <= set(written)
