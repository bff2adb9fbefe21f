"""The lakehouse: Iceberg catalog, bronze load, the DuckDB engine over Iceberg, the dbt bridge."""
