"""Assets by layer: landing, bronze, silver and gold (dbt), maintenance, realtime."""
