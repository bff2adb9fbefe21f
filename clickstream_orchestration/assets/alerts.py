"""The key-event alerts as the UI shows them: an external asset the alert sensor observes.

The local alert reader appends every alert it delivers to ``<home>/alerts/alerts.jsonl``; the
``alert_sensor`` reads what was appended since its last tick (its cursor is the byte offset)
and records it as an observation of ``alerts/key_event_alerts``: how many, per rule, the newest
alerts and the dead letters so far.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import orjson

from clickstream_orchestration.assets.landing import EVENTS_STREAM, OWNER

KEY_EVENT_ALERTS = dg.AssetKey(["alerts", "key_event_alerts"])
ALERTS_SHOWN = 20

key_event_alerts = dg.AssetSpec(
    KEY_EVENT_ALERTS,
    deps=[EVENTS_STREAM],
    description=(
        "Alerts raised by the alert rules (settings alerts.rules) on the events of the stream, "
        "delivered at least once to the alert log and the webhook (locally) or an SNS topic "
        "(on AWS); each observation lists the alerts delivered since the previous one."
    ),
    group_name="alerts",
    kinds={"kinesis", "json"},
    owners=[OWNER],
)


def read_appended(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete lines appended after ``offset`` and the offset after the last of them; a
    file shorter than the offset (a new log) is read from its start."""
    if not path.exists():
        return [], 0
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() < offset:
            offset = 0
        handle.seek(offset)
        body = handle.read()
    complete = body[: body.rfind(b"\n") + 1]
    documents = []
    for line in complete.splitlines():
        try:
            documents.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    return documents, offset + len(complete)


def alerts_observation(alerts: list[dict[str, Any]], dead_letters: int) -> dg.AssetObservation:
    per_rule = Counter(str(alert.get("rule")) for alert in alerts)
    newest = alerts[-ALERTS_SHOWN:]
    rows = [
        f"| {alert.get('rule')} | {alert.get('event_type')} | {alert.get('event_id')} | "
        f"{alert.get('ts')} | {orjson.dumps(alert.get('fields')).decode()} |"
        for alert in reversed(newest)
    ]
    table = "\n".join(["| rule | event type | event id | ts | fields |", "|---|---|---|---|---|"])
    delivered = max(int(alert.get("delivered_at") or 0) for alert in alerts) / 1000
    return dg.AssetObservation(
        asset_key=KEY_EVENT_ALERTS,
        metadata={
            "new_alerts": dg.MetadataValue.int(len(alerts)),
            "per_rule": dg.MetadataValue.json(dict(sorted(per_rule.items()))),
            "newest_alerts": dg.MetadataValue.md("\n".join([table, *rows])),
            "dead_letters": dg.MetadataValue.int(dead_letters),
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(delivered),
        },
    )
