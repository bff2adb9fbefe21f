-- The schema of the real-time objects.
CREATE SCHEMA IF NOT EXISTS ${rt_schema};
