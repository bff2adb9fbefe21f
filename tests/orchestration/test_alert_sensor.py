"""The alert sensor records the alerts of the local alert log as observations in Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import orjson
import pytest

from clickstream_orchestration.alert_sensor import alert_sensor
from clickstream_orchestration.assets.alerts import KEY_EVENT_ALERTS
from clickstream_orchestration.definitions import defs
from clickstream_orchestration.resources import LakehouseResource
from streaming.alerts.sinks import JsonLines, alert_log_path, dead_letter_path
from streaming.contracts.settings import Settings


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as ephemeral:
        yield ephemeral


def _tick(home: Path, cursor: str | None, instance: dg.DagsterInstance) -> dg.SensorResult:
    with dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={"lakehouse": LakehouseResource(home=str(home))},
        definitions=defs,
    ) as context:
        result = alert_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _alert(n: int, rule: str = "high_payout_click") -> dict[str, object]:
    return {
        "alert_id": f"{rule}:e{n}",
        "rule": rule,
        "event_id": f"e{n}",
        "event_type": "affiliate_click",
        "ts": "2026-11-27T10:00:00.000Z",
        "ingest_ts": 1,
        "fields": {"affiliate.payout_cents": 1000 + n},
        "delivered_at": 1_790_000_000_000 + n,
    }


def test_the_sensor_observes_each_alert_once(tmp_path: Path, instance: dg.DagsterInstance) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)
    assert "alert_sensor" in {sensor.name for sensor in defs.sensors or []}
    assert defs.resolve_assets_def(KEY_EVENT_ALERTS) is not None

    empty = _tick(home, None, instance)
    assert (empty.cursor, empty.asset_events) == ("0", [])

    log = JsonLines(alert_log_path(settings))
    for n in range(3):
        log.append(_alert(n))
    log.append(_alert(3, rule="large_purchase"))
    JsonLines(dead_letter_path(settings)).append(_alert(2) | {"reason": "HTTP 500"})
    first = _tick(home, empty.cursor, instance)
    (observation,) = first.asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == KEY_EVENT_ALERTS
    metadata = observation.metadata
    assert metadata["new_alerts"].value == 4
    assert metadata["per_rule"].value == {"high_payout_click": 3, "large_purchase": 1}
    assert metadata["dead_letters"].value == 1
    newest = str(metadata["newest_alerts"].value).splitlines()
    assert "large_purchase" in newest[2] and "e3" in newest[2]  # newest first

    # nothing new; then a line still being written is left for the next tick
    assert _tick(home, first.cursor, instance).asset_events == []
    with alert_log_path(settings).open("ab") as handle:
        handle.write(orjson.dumps(_alert(4))[:20])
    assert _tick(home, first.cursor, instance).cursor == first.cursor
    with alert_log_path(settings).open("ab") as handle:
        handle.write(orjson.dumps(_alert(4))[20:] + b"\n")
    last = _tick(home, first.cursor, instance)
    assert [event.metadata["new_alerts"].value for event in last.asset_events] == [1]
    log.close()
