"""The Iceberg catalog from settings: SQL catalog on SQLite locally, Glue + S3 on AWS."""

from __future__ import annotations

import contextlib

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from streaming.contracts.settings import BucketPurpose, Settings


def catalog_properties(settings: Settings) -> dict[str, str]:
    if settings.env == "local":
        settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
        return {
            "type": "sql",
            "uri": settings.catalog_uri,
            "warehouse": settings.warehouse_dir.as_uri(),
        }
    properties = {
        "type": "glue",
        "glue.region": settings.region,
        "s3.region": settings.region,
        "warehouse": f"s3://{settings.bucket_name('silver')}/warehouse",
    }
    if settings.aws_endpoint_url is not None:
        properties["glue.endpoint"] = settings.aws_endpoint_url
        properties["s3.endpoint"] = settings.aws_endpoint_url
    return properties


def open_catalog(settings: Settings) -> Catalog:
    """The project's catalog; every reader and writer uses the same catalog name."""
    catalog = load_catalog(settings.iceberg_catalog_name, **catalog_properties(settings))
    for namespace in (settings.lake_namespace, settings.mart_namespace):
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(namespace)
    return catalog


def metadata_locations(catalog: Catalog) -> dict[tuple[str, str], str]:
    """``(namespace, table)`` to the current metadata file of every table of the catalog.

    The SQL catalog answers in one query of its table list (the JDBC catalog layout, which
    pyiceberg and the Java implementation share): loading each table would read and parse
    every metadata file just to learn where it is.
    """
    if isinstance(catalog, SqlCatalog):
        query = select(
            IcebergTables.table_namespace, IcebergTables.table_name, IcebergTables.metadata_location
        ).where(
            IcebergTables.catalog_name == catalog.name,
            or_(IcebergTables.iceberg_type == "TABLE", IcebergTables.iceberg_type.is_(None)),
        )
        with Session(catalog.engine) as session:
            return {
                (namespace, table): location
                for namespace, table, location in session.execute(query)
                if location
            }
    return {
        (".".join(identifier[:-1]), identifier[-1]): catalog.load_table(
            identifier
        ).metadata_location
        for namespace in catalog.list_namespaces()
        for identifier in catalog.list_tables(namespace)
    }


def table_location(settings: Settings, namespace: str, table: str) -> str | None:
    """Where a table's files live: on AWS each layer has its own bucket; locally, the warehouse."""
    if settings.env == "local":
        return None
    layer = table.split("_", 1)[0]
    buckets: dict[str, BucketPurpose] = {
        "bronze": "bronze",
        "quarantine": "quarantine",
        "fact": "gold",
    }
    bucket = buckets.get(layer, "silver")
    return f"s3://{settings.bucket_name(bucket)}/iceberg/{namespace}/{table}"
