"""Silver and gold: the dbt models as assets, one lineage graph with bronze.

The dbt sources are the bronze assets. Models partitioned by event date run per daily
partition, the window passed to dbt as ``min_date``/``max_date`` (a backfill of many days is
one dbt run over the whole range). A run tagged with a rebuild (the refresh schedule's)
rebuilds that event day from the bronze ingest days holding its events.
Silver and gold run as separate steps, so the blocking checks on silver gate gold. The SCD2
segments model is rebuilt whole, unpartitioned. Every dbt test is an asset check; error
severity blocks downstream.
"""

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from clickstream_orchestration.assets.bronze import BRONZE_EVENTS, USER_SEGMENT_CHANGES
from clickstream_orchestration.dbt_resources import (
    dagster_dbt_project,
    ensure_manifest,
    keep_parse,
)
from clickstream_orchestration.metadata import table_metadata
from clickstream_orchestration.partitions import EVENT_DAYS, REBUILD
from clickstream_orchestration.resources import LakehouseResource
from lakehouse.arrivals import decode_rebuild
from lakehouse.dbt_invocation import max_lateness_days
from lakehouse.publication import Publication, read_publication
from lakehouse.window import EventDays, Window
from streaming.contracts.settings import Settings, get_settings

DOCS_URL = get_settings().docs_url
UNPARTITIONED_TAG = "unpartitioned"
EVENT_DATE = "event_dt"
_SOURCES = {"bronze_events": BRONZE_EVENTS, "user_segment_changes": USER_SEGMENT_CHANGES}


class LakeDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the bronze assets; models are keyed and grouped by layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        name = dbt_resource_props["name"]
        if dbt_resource_props["resource_type"] == "source":
            return _SOURCES.get(name, dg.AssetKey(["bronze", name]))
        return dg.AssetKey([_layer(dbt_resource_props), name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _layer(dbt_resource_props)

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        if dbt_resource_props["resource_type"] == "model":
            metadata["dbt_docs"] = dg.MetadataValue.url(
                f"{DOCS_URL}/#!/model/{dbt_resource_props['unique_id']}"
            )
        return metadata

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("model."):
            spec = spec.merge_attributes(kinds={"iceberg"})
        if spec.group_name == "gold":
            hours = _SETTINGS.orchestration.gold_freshness_hours
            spec = spec.replace_attributes(
                freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=hours))
            )
        return spec

    def get_partition_mapping(
        self,
        dbt_resource_props: Mapping[str, Any],
        dbt_parent_resource_props: Mapping[str, Any],
    ) -> dg.PartitionMapping | None:
        # Bronze is partitioned by ingest hour; most events arrive within `max_lateness_days`
        # of their event date, so an event day maps to the ingest hours of that day and after.
        # Later events reach their day through the arrival-driven run (schedules.py).
        if dbt_parent_resource_props["resource_type"] == "source":
            return dg.TimeWindowPartitionMapping(start_offset=0, end_offset=max_lateness_days())
        return super().get_partition_mapping(dbt_resource_props, dbt_parent_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    if props["resource_type"] == "source":
        return "bronze"
    return props.get("group") or props["fqn"][1]


_SETTINGS: Settings = get_settings()
_MANIFEST = ensure_manifest(_SETTINGS)
DAGSTER_DBT_PROJECT = dagster_dbt_project(_SETTINGS)
TRANSLATOR = LakeDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_code_references=True)
)


def _rebuild(context: dg.AssetExecutionContext) -> EventDays | Window:
    """The scheduled rebuild's event day when the run carries one, else the partition window."""
    text = context.run.tags.get(REBUILD)
    if text:
        return decode_rebuild(text)
    return _partition_window(context)


def _partition_window(context: dg.AssetExecutionContext) -> Window:
    time_window = context.partition_time_window
    return Window.covering(time_window.start, time_window.end)


def _partition_filter(context: dg.AssetExecutionContext) -> Any:
    return _partition_window(context).where(EVENT_DATE)


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lakehouse: LakehouseResource,
    rebuild: EventDays | Window | None = None,
    partition_filter: Any = None,
) -> Iterator[Any]:
    """``dbt build`` of the selected models for ``rebuild`` (None: everything); each
    materialisation carries the Iceberg table's row counts, schema and preview. Locally a
    model is staged, tested, and committed only if its blocking tests pass
    (write-audit-publish, ``lakehouse/publication.py``): a withheld model is not reported as
    materialised, and the step fails after the rest is reported."""
    settings = lakehouse.settings()
    catalog = lakehouse.catalog()
    with lakehouse.dbt_environment(rebuild):
        invocation = dbt.cli(["build"], context=context, raise_on_error=False)
        events = invocation.stream()
        if lakehouse.column_lineage:
            events = events.fetch_column_metadata()
        outputs = []
        for event in events:
            if isinstance(event, dg.Output | dg.AssetMaterialization):
                outputs.append(event)
            else:
                yield event
    keep_parse(settings, invocation.target_path)
    published = _published(settings, invocation)
    for event in outputs:
        if isinstance(event, dg.AssetMaterialization):
            key = event.asset_key
        else:
            key = context.asset_key_for_output(event.output_name)
        identifier = model_identifier(settings, key)
        if published is not None and identifier not in published.published:
            reason = published.withheld.get(identifier, "not staged")
            context.log.warning(f"{identifier} not published ({reason}): it keeps its last data")
            continue
        table = catalog.load_table(identifier)
        # dimensions and cohorts (dim_users, retention_weekly, ...) are whole-table models
        by_day = EVENT_DATE in table.schema().column_names
        extra = table_metadata(
            table, identifier, partition_filter=partition_filter if by_day else None
        )
        yield event.with_metadata({**event.metadata, **extra})
    if not invocation.is_successful():
        error = invocation.get_error()
        raise error or RuntimeError(f"dbt {' '.join(invocation.dbt_command)} failed")


def model_identifier(settings: Settings, key: dg.AssetKey) -> str:
    """The table a model asset writes: silver models in the lake namespace, gold models in the
    mart (their ``+schema`` in dbt_project.yml), whatever their names."""
    layer, name = key.path[0], key.path[-1]
    namespace = settings.mart_namespace if layer == "gold" else settings.lake_namespace
    return f"{namespace}.{name}"


def _published(settings: Settings, invocation: Any) -> Publication | None:
    """What the invocation committed; None on Athena, where models commit as they run."""
    if settings.env != "local":
        return None
    invocation_id = invocation.get_artifact("run_results.json")["metadata"]["invocation_id"]
    try:
        return read_publication(settings, invocation_id)
    except FileNotFoundError:
        return Publication(invocation_id)  # the invocation stopped before publishing


def _daily_dbt_assets(name: str, select: str, exclude: str | None = None) -> dg.AssetsDefinition:
    """One layer's event-day models: a partition range (or an arrival plan) is one
    ``dbt build``."""

    @dbt_assets(
        manifest=_MANIFEST,
        project=DAGSTER_DBT_PROJECT,
        select=select,
        exclude=exclude,
        partitions_def=EVENT_DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=TRANSLATOR,
        name=name,
    )
    def daily(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
    ) -> Iterator[Any]:
        yield from _build(context, dbt, lakehouse, _rebuild(context), _partition_filter(context))

    return daily


silver_daily = _daily_dbt_assets(
    "silver_daily", "path:models/silver", exclude=f"tag:{UNPARTITIONED_TAG}"
)
gold_daily = _daily_dbt_assets("gold_daily", "path:models/gold")


@dbt_assets(
    manifest=_MANIFEST,
    project=DAGSTER_DBT_PROJECT,
    select=f"tag:{UNPARTITIONED_TAG}",
    dagster_dbt_translator=TRANSLATOR,
    name="silver_unpartitioned",
)
def silver_unpartitioned(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
) -> Iterator[Any]:
    yield from _build(context, dbt, lakehouse)


DBT_ASSETS = [silver_daily, gold_daily, silver_unpartitioned]
