"""Dagster definitions, resources and the clickstream command line."""
