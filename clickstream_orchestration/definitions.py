"""The code location: every asset, check, sensor, schedule and resource of the lakehouse."""

from __future__ import annotations

import dagster as dg

from clickstream_orchestration.alert_sensor import alert_sensor
from clickstream_orchestration.assets.alerts import key_event_alerts
from clickstream_orchestration.assets.bronze import bronze_hours, user_segment_changes
from clickstream_orchestration.assets.dashboards import DASHBOARDS
from clickstream_orchestration.assets.dbt import DBT_ASSETS
from clickstream_orchestration.assets.landing import events_stream, landed_objects
from clickstream_orchestration.assets.maintenance import iceberg_maintenance
from clickstream_orchestration.assets.privacy import privacy_requests
from clickstream_orchestration.assets.realtime import (
    realtime_reconciles_with_batch,
    redshift_streaming_mvs,
)
from clickstream_orchestration.check_results import CHECK_RESULTS_SENSORS
from clickstream_orchestration.checks.gates import GATES
from clickstream_orchestration.jobs import JOBS
from clickstream_orchestration.resources import resources_for
from clickstream_orchestration.schedules import SCHEDULES
from clickstream_orchestration.sensors import landing_sensor
from streaming.contracts.settings import Settings, get_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location wired to the resources of ``settings``."""
    return dg.Definitions(
        assets=[
            events_stream,
            landed_objects,
            bronze_hours,
            user_segment_changes,
            *DBT_ASSETS,
            iceberg_maintenance,
            privacy_requests,
            redshift_streaming_mvs,
            key_event_alerts,
            *DASHBOARDS,
        ],
        asset_checks=[*GATES, realtime_reconciles_with_batch],
        jobs=JOBS,
        sensors=[landing_sensor, alert_sensor, *CHECK_RESULTS_SENSORS],
        schedules=SCHEDULES,
        resources=resources_for(settings),
    )


defs = build_definitions(get_settings())
