"""DuckDB over the Iceberg catalog: extensions loaded offline, every table visible as a view.

``lake.*`` and ``mart.*`` views point at each table's current metadata file, so a reader sees
one consistent snapshot per table; re-attach after a commit to see the new one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

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


def attach_catalog_views(conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> list[str]:
    """Create or replace ``<namespace>.<table>`` views for every table; returns their names."""
    attached = []
    for namespace in catalog.list_namespaces():
        schema = ".".join(namespace)
        conn.execute(f'create schema if not exists "{schema}"')
        for identifier in catalog.list_tables(namespace):
            table = catalog.load_table(identifier)
            name = f'"{schema}"."{identifier[-1]}"'
            conn.execute(f"create or replace view {name} as {scan_sql(table.metadata_location)}")
            attached.append(f"{schema}.{identifier[-1]}")
    return attached


def connect(
    settings: Settings, catalog: Catalog | None = None, database: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the extensions loaded and, given a catalog, its tables as views."""
    conn = duckdb.connect(database)
    load_extensions(conn, settings)
    if catalog is not None:
        attach_catalog_views(conn, catalog)
    return conn
