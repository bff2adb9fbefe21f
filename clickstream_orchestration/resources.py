"""Every resource the assets use, built from settings in one place.

``local`` and ``aws`` wire the same assets to different resources: the landing store is a
directory or an S3 bucket (through dagster-aws), dbt runs the ``local`` (DuckDB) or ``athena``
target, and the lake's catalog is the SQLite catalog or Glue (chosen by the settings the
lakehouse resource carries). Nothing else in the code location branches on the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_aws.s3.sensor import get_objects
from pyiceberg.catalog import Catalog

from clickstream_orchestration.dbt_resources import dbt_resource
from lakehouse.catalog import open_catalog
from lakehouse.dbt_invocation import (
    dbt_environment,
    process_environment,
)
from lakehouse.window import Rebuild
from streaming.contracts.landing import (
    LandedObject,
    LandingStore,
    LocalLandingStore,
    S3LandingStore,
)
from streaming.contracts.settings import Settings, get_settings


class LakehouseResource(dg.ConfigurableResource):
    """The lake's settings: its catalog, its landing store and the dbt environment."""

    home: str
    column_lineage: bool = False
    """Fetch dbt column schemas and lineage after each model. On Athena that is a Glue read;
    locally it would open the dbt DuckDB file inside the run process, whose lock then blocks
    the next dbt step."""

    def settings(self) -> Settings:
        return Settings(home=Path(self.home))

    def catalog(self) -> Catalog:
        return open_catalog(self.settings())

    @contextmanager
    def dbt_environment(self, rebuild: Rebuild | None = None) -> Iterator[None]:
        """The process environment a dbt invocation inherits, for the invocation's duration:
        the settings' and the event days it rebuilds (all of them by default)."""
        # A test runs in the step that builds the last of its parents ("buildable"), so a
        # silver step never runs a test that also reads a gold table not built yet.
        values = dbt_environment(self.settings(), rebuild) | {"DBT_INDIRECT_SELECTION": "buildable"}
        with process_environment(values):
            yield


class LandingResource(dg.ConfigurableResource):
    """Where the delivery stream lands objects; listing is what the landing sensor reads."""

    def store(self) -> LandingStore:
        raise NotImplementedError

    def list_since(self, prefix: str, since: float | None) -> list[LandedObject]:
        """Objects under ``prefix`` last modified after ``since`` (epoch seconds), oldest first."""
        raise NotImplementedError


class LocalLandingResource(LandingResource):
    root: str

    def store(self) -> LandingStore:
        return LocalLandingStore(Path(self.root))

    def list_since(self, prefix: str, since: float | None) -> list[LandedObject]:
        objects = (
            item
            for item in self.store().list(prefix)
            if since is None or item.last_modified > since
        )
        return sorted(objects, key=lambda item: (item.last_modified, item.key))


class S3LandingResource(LandingResource):
    bucket: str
    s3: S3Resource

    def store(self) -> LandingStore:
        return S3LandingStore(self.s3.get_client(), self.bucket)

    def list_since(self, prefix: str, since: float | None) -> list[LandedObject]:
        after = None if since is None else datetime.fromtimestamp(since, UTC)
        listed: list[Any] = get_objects(
            self.bucket, prefix, since_last_modified=after, client=self.s3.get_client()
        )
        return [
            LandedObject(item["Key"], item["Size"], item["LastModified"].timestamp())
            for item in listed
        ]


class CompactionResource(dg.ConfigurableResource):
    """Rewrites a table's small data files into fewer large ones, where the engine can."""

    def compact(self, settings: Settings, identifier: str) -> str:
        raise NotImplementedError


class NoCompaction(CompactionResource):
    """The local engine (DuckDB reads Iceberg, pyiceberg appends) has no file rewrite."""

    def compact(self, settings: Settings, identifier: str) -> str:
        return "not supported by the local engine"


class AthenaCompaction(CompactionResource):
    """``OPTIMIZE … REWRITE DATA USING BIN_PACK`` through Athena, waited for."""

    poll_seconds: float = 2.0
    timeout_seconds: float = 1800.0

    def compact(self, settings: Settings, identifier: str) -> str:
        import time

        import boto3

        athena = boto3.client("athena", region_name=settings.region)
        started = athena.start_query_execution(
            QueryString=f"OPTIMIZE {identifier} REWRITE DATA USING BIN_PACK",
            WorkGroup=settings.athena_workgroup,
        )
        query_id = started["QueryExecutionId"]
        deadline = time.monotonic() + self.timeout_seconds
        while time.monotonic() < deadline:
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"][
                "Status"
            ]
            if status["State"] == "SUCCEEDED":
                return f"optimized (query {query_id})"
            if status["State"] in ("FAILED", "CANCELLED"):
                raise RuntimeError(
                    f"OPTIMIZE {identifier} {status['State']}: "
                    f"{status.get('StateChangeReason', 'no reason given')}"
                )
            time.sleep(self.poll_seconds)
        raise TimeoutError(f"OPTIMIZE {identifier} still running after {self.timeout_seconds} s")


class RealtimeResource(dg.ConfigurableResource):
    """The real-time marts: Redshift streaming materialised views on AWS, the consumer's
    DuckDB marts locally."""

    def apply(self, settings: Settings) -> dict[str, Any]:
        """Bring the marts' definitions up to date; metadata describing what was done."""
        raise NotImplementedError

    def reconcile(self, settings: Settings) -> Any:
        """The real-time counts against ``silver_events`` (a ReconciliationResult)."""
        raise NotImplementedError


class RedshiftRealtime(RealtimeResource):
    """Applies the versioned SQL through the Redshift Data API."""

    def data_api(self, settings: Settings) -> Any:
        return None  # the applier builds its own client from settings

    def apply(self, settings: Settings) -> dict[str, Any]:
        from streaming.realtime.redshift_apply import apply_redshift_sql

        return apply_redshift_sql(settings, self.data_api(settings)).as_metadata()

    def reconcile(self, settings: Settings) -> Any:
        raise NotImplementedError(
            "reconciling Redshift's marts with the Athena tables is not implemented; the "
            "reconciliation runs on the local default"
        )


class LocalRealtime(RealtimeResource):
    """The local marts are kept by the consumer in the local stack; their definitions ship
    with it, so applying means reporting what the consumer has published."""

    def apply(self, settings: Settings) -> dict[str, Any]:
        from streaming.realtime.store import published_path

        published = published_path(settings)
        return {
            "engine": "duckdb (local consumer)",
            "published": published.is_symlink(),
            "snapshot": str(published.resolve()) if published.is_symlink() else None,
        }

    def reconcile(self, settings: Settings) -> Any:
        from lakehouse.realtime_reconcile import reconcile_lake

        return reconcile_lake(settings)


def realtime_resource(settings: Settings) -> RealtimeResource:
    return LocalRealtime() if settings.env == "local" else RedshiftRealtime()


def compaction_resource(settings: Settings) -> CompactionResource:
    return NoCompaction() if settings.env == "local" else AthenaCompaction()


def landing_resource(settings: Settings) -> LandingResource:
    if settings.env == "local":
        return LocalLandingResource(root=str(settings.landing_dir))
    return S3LandingResource(
        bucket=settings.bucket_name("bronze"), s3=S3Resource(region_name=settings.region)
    )


def resources_for(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    column_lineage = settings.env == "aws"
    return {
        "lakehouse": LakehouseResource(home=str(settings.home), column_lineage=column_lineage),
        "landing": landing_resource(settings),
        "dbt": dbt_resource(settings, column_metadata=column_lineage),
        "compaction": compaction_resource(settings),
        "realtime": realtime_resource(settings),
    }


def retention_cutoff(settings: Settings, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now - timedelta(hours=settings.orchestration.snapshot_retention_hours)
