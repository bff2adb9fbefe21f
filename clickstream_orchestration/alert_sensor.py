"""The alert sensor: the alerts the local alert reader delivered, recorded in Dagster."""

from __future__ import annotations

import dagster as dg

from clickstream_orchestration.assets.alerts import alerts_observation, read_appended
from clickstream_orchestration.resources import LakehouseResource
from streaming.alerts.sinks import alert_log_path, dead_letter_path, read_json_lines

ALERT_SENSOR_SECONDS = 30


@dg.sensor(
    name="alert_sensor",
    description=(
        "Records the alerts appended to the local alert log since the last tick as an "
        "observation of alerts/key_event_alerts (count, per rule, the newest alerts)."
    ),
    minimum_interval_seconds=ALERT_SENSOR_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_sensor(
    context: dg.SensorEvaluationContext, lakehouse: LakehouseResource
) -> dg.SensorResult | dg.SkipReason:
    settings = lakehouse.settings()
    if settings.env != "local":
        return dg.SkipReason("on AWS the alerts go to the SNS topic")
    offset = int(context.cursor or 0)
    alerts, after = read_appended(alert_log_path(settings), offset)
    if not alerts:
        return dg.SensorResult(cursor=str(after))
    dead = len(read_json_lines(dead_letter_path(settings)))
    return dg.SensorResult(cursor=str(after), asset_events=[alerts_observation(alerts, dead)])
