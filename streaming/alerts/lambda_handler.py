"""The alert rules as an AWS Lambda function on the Kinesis stream, publishing to SNS.

Handler path: ``streaming.alerts.lambda_handler.handler``. The event source mapping hands it
batches of stream records; every record is decoded (a JSON object; anything else raises no
alert), evaluated by the same :class:`~streaming.alerts.rules.RuleSet` the local reader uses,
and each alert is published to the topic in ``CLICKSTREAM_ALERTS_TOPIC_ARN`` with its
``alert_id`` as a message attribute (the subscribers' idempotency key). An event id seen
earlier in the batch (a client re-send) raises nothing again.

A publish that fails stops the batch there and reports that record in ``batchItemFailures``
(the mapping has ``ReportBatchItemFailures``): Lambda retries from it, so nothing after it is
skipped and the alerts before it are not published again; an unexpected error fails the
invocation, which the mapping bisects, and a batch out of retries goes to the on-failure
destination.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from typing import Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from streaming.alerts.rules import Alert, RuleSet
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import get_settings

TOPIC_ARN_VARIABLE = "CLICKSTREAM_ALERTS_TOPIC_ARN"
logger = logging.getLogger(__name__)
_cached: dict[str, Any] = {}


def _rules() -> RuleSet:
    if "rules" not in _cached:
        _cached["rules"] = RuleSet(get_settings().alerts.rules)
    return _cached["rules"]


def _sns() -> Any:
    if "sns" not in _cached:
        _cached["sns"] = client(get_settings(), "sns")
    return _cached["sns"]


def forget_clients() -> None:
    """Drop the rules and the SNS client built from earlier settings."""
    _cached.clear()


def decode(record: dict[str, Any]) -> dict[str, Any] | None:
    try:
        payload = orjson.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return payload if isinstance(payload, dict) else None


def publish(sns: Any, topic_arn: str, alert: Alert) -> None:
    sns.publish(
        TopicArn=topic_arn,
        Subject=f"clickstream alert: {alert.rule}"[:100],
        Message=orjson.dumps(alert.document()).decode(),
        MessageAttributes={
            "alert_id": {"DataType": "String", "StringValue": alert.alert_id},
            "rule": {"DataType": "String", "StringValue": alert.rule},
            "event_type": {"DataType": "String", "StringValue": alert.event_type},
        },
    )


def handler(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    topic_arn = os.environ[TOPIC_ARN_VARIABLE]
    rules = _rules()
    seen: set[str] = set()
    published = 0
    for record in event.get("Records", []):
        payload = decode(record)
        alerts = rules.alerts(payload) if payload is not None else []
        if not alerts or alerts[0].event_id in seen:
            continue
        try:
            for alert in alerts:
                publish(_sns(), topic_arn, alert)
                published += 1
        except (BotoCoreError, ClientError) as error:
            logger.warning("publishing alert %s failed: %s", alerts[0].alert_id, error)
            return {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
        seen.add(alerts[0].event_id)
    logger.info("alerts published: %d of %d records", published, len(event.get("Records", [])))
    return {"batchItemFailures": []}
