"""Asset checks beyond dbt's tests: expectation suites and reconciliations."""
