"""DuckDB over the Iceberg catalog: extensions loaded offline, every table visible as a view.

``lake.*`` and ``mart.*`` views point at each table's current metadata file, so a reader sees
one consistent snapshot per table; re-attach after a commit to see the new one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

from lakehouse.catalog import metadata_locations
from streaming.contracts.settings import Settings

EXTENSIONS = ("avro", "iceberg")  # avro first: iceberg's manifests are Avro


def extension_path(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"duckdb-extension-{name} is not installed")
    version = duckdb.__version__
    path = Path(spec.origin).parent / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(f"no {name} extension for duckdb {version} at {path}")
    return path


def load_extensions(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    extension_dir = settings.duckdb_dir / "extensions"
    extension_dir.mkdir(parents=True, exist_ok=True)
    conn.execute(f"set extension_directory = '{extension_dir}'")
    for name in EXTENSIONS:
        conn.execute(f"load '{extension_path(name)}'")


def scan_sql(metadata_location: str) -> str:
    return f"select * from iceberg_scan('{metadata_location}')"


def attach_views(
    conn: duckdb.DuckDBPyConnection, locations: dict[tuple[str, str], str]
) -> list[str]:
    """Create or replace a ``<namespace>.<table>`` view over each metadata file; their names."""
    attached = []
    schemas: set[str] = set()
    for (schema, table), location in sorted(locations.items()):
        if schema not in schemas:
            conn.execute(f'create schema if not exists "{schema}"')
            schemas.add(schema)
        conn.execute(f'create or replace view "{schema}"."{table}" as {scan_sql(location)}')
        attached.append(f"{schema}.{table}")
    return attached


def attach_catalog_views(conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> list[str]:
    """Create or replace ``<namespace>.<table>`` views for every table; returns their names."""
    return attach_views(conn, metadata_locations(catalog))


def connect(
    settings: Settings, catalog: Catalog | None = None, database: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the extensions loaded and, given a catalog, its tables as views."""
    conn = duckdb.connect(database)
    load_extensions(conn, settings)
    if catalog is not None:
        attach_catalog_views(conn, catalog)
    return conn
