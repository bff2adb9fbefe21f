"""dbt-duckdb plugin: Iceberg tables in, Iceberg tables out, on the local catalog.

On connection it loads DuckDB's Iceberg extension and exposes every catalog table as a
``<namespace>.<table>`` view (dbt sources and refs read these). The ``lake_table``
materialization writes a model's rows as partitioned Parquet and calls :meth:`Plugin.store`,
which commits them into the Iceberg table and records its new metadata location for the view.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import TargetConfig

from clickstream_orchestration.lakehouse.catalog import open_catalog
from clickstream_orchestration.lakehouse.engine import attach_catalog_views, load_extensions
from clickstream_orchestration.lakehouse.iceberg_writer import Rewrite, commit_files
from streaming.settings import Settings


def pointer_path(settings: Settings, schema: str, table: str) -> Path:
    return settings.duckdb_dir / "pointers" / f"{schema}.{table}"


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
        relation = target_config.relation
        options = target_config.config
        files_dir = Path(target_config.location.path)
        if options.get("action") == "prepare":
            files_dir.mkdir(parents=True, exist_ok=True)
            return
        rewrite = options.get("rewrite")
        table = commit_files(
            self._catalog,
            self._settings,
            f"{relation.schema}.{relation.identifier}",
            files_dir,
            partition_by=options.get("partitioned_by") or [],
            rewrite=Rewrite(
                rewrite["column"], tuple(date.fromisoformat(day) for day in rewrite["days"])
            )
            if rewrite
            else None,
        )
        pointer = pointer_path(self._settings, relation.schema, relation.identifier)
        pointer.parent.mkdir(parents=True, exist_ok=True)
        pointer.write_text(table.metadata_location)
