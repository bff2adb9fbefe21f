"""dbt-duckdb plugin: Iceberg tables in, Iceberg tables out, on the local catalog.

On connection it loads DuckDB's Iceberg extension and exposes every catalog table as a
``<namespace>.<table>`` view (dbt sources and refs read these). Write-audit-publish: the
``lake_table`` materialization stages a model (:meth:`Plugin.store` with action ``stage``,
before it writes the Parquet files), dbt's tests check the staged rows, and the invocation's
``on-run-end`` hook (action ``publish``) commits into Iceberg only the staged tables whose
blocking tests passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import TargetConfig

from lakehouse.audit import NodeResult
from lakehouse.catalog import open_catalog
from lakehouse.engine import attach_catalog_views, load_extensions
from lakehouse.publish import publish_staged, record_committed
from lakehouse.staging import (
    StagedTable,
    discard_leftovers,
    record_staged,
    rewrite_from_spec,
)
from streaming.contracts.settings import Settings


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._settings = Settings()
        self._catalog = open_catalog(self._settings)

    def configure_connection(self, conn: Any) -> None:
        spill = self._settings.duckdb_dir / "tmp"
        spill.mkdir(parents=True, exist_ok=True)
        conn.execute(f"set temp_directory = '{spill}'")
        load_extensions(conn, self._settings)
        attach_catalog_views(conn, self._catalog)

    def store(self, target_config: TargetConfig) -> None:
        options = target_config.config
        action = options.get("action")
        if action == "stage":
            self._stage(target_config)
        elif action == "publish":
            publish_staged(
                self._catalog,
                self._settings,
                options["invocation_id"],
                [NodeResult.from_dict(result) for result in options["results"]],
                options["upstream"],
            )
        else:
            raise ValueError(f"unknown iceberg plugin action {action!r}")

    def _stage(self, target_config: TargetConfig) -> None:
        """Record the staged table, clear what interrupted invocations left for it, and point
        its pointer file at its committed metadata (for the staged view)."""
        relation = target_config.relation
        options = target_config.config
        if target_config.location is None:
            raise ValueError(f"{relation}: staging needs the location its files are written to")
        staged = StagedTable(
            invocation_id=options["invocation_id"],
            unique_id=options["unique_id"],
            identifier=f"{relation.schema}.{relation.identifier}",
            files_dir=Path(target_config.location.path),
            partitioned_by=tuple(options.get("partitioned_by") or ()),
            rewrite=rewrite_from_spec(options.get("rewrite")),
        )
        discard_leftovers(self._catalog, self._settings, staged.identifier, staged.invocation_id)
        record_staged(self._settings, staged)
        record_committed(self._catalog, self._settings, staged.identifier)
