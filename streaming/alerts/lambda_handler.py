"""The alert rules as an AWS Lambda function on the Kinesis stream, publishing to SNS.

Handler path: ``streaming.alerts.lambda_handler.handler``. The event source mapping hands it
batches of stream records; every record is decoded (a JSON object; anything else raises no
alert), evaluated by the same :class:`~streaming.alerts.rules.RuleSet` the local reader uses,
and each alert is published to the topic in ``CLICKSTREAM_ALERTS_TOPIC_ARN`` with its
``alert_id`` as a message attribute (the subscribers' idempotency key).

Duplicates are suppressed across batches, retries and re-reads by claims in DynamoDB
(:mod:`streaming.alerts.claims`, the table ``Settings.alerts_dedup_table_name``): each alert is
claimed before it is published and marked sent after; an alert already sent is skipped, one being
published by another invocation reports its record to be tried again. A crash between the publish
and the mark publishes that alert again on the retry: delivery is at least once, with the same
``alert_id``. An event id seen earlier in the batch raises nothing again without asking the table.

A publish (or claim) that fails releases its claim, stops the batch there and reports that
record in ``batchItemFailures`` (the mapping has ``ReportBatchItemFailures``): Lambda retries
from it, so nothing after it is skipped and the alerts before it are not published again (nor
would they be: they are claimed sent); an unexpected error fails the
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

from streaming.alerts.claims import AlertClaims, Claim
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


def _claims() -> AlertClaims:
    if "claims" not in _cached:
        settings = get_settings()
        _cached["claims"] = AlertClaims(
            client(settings, "dynamodb"),
            settings.alerts_dedup_table_name,
            lease_s=settings.alerts.claim_lease_s,
            ttl_days=settings.alerts.claim_ttl_days,
        )
    return _cached["claims"]


def forget_clients() -> None:
    """Drop the rules and the clients built from earlier settings."""
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


def owner(record: dict[str, Any]) -> str:
    """The stream record a claim is made for: its shard and sequence number."""
    return str(record.get("eventID") or record["kinesis"]["sequenceNumber"])


def deliver(alert: Alert, topic_arn: str, record_owner: str) -> Claim:
    """Claim, publish and mark ``alert`` sent (CLAIMED); SENT: a duplicate, skipped; BUSY:
    another invocation holds it now."""
    claims = _claims()
    outcome = claims.claim(alert.alert_id, record_owner)
    if outcome is Claim.BUSY:
        logger.info("alert %s is being published by another invocation", alert.alert_id)
    if outcome is not Claim.CLAIMED:
        return outcome
    try:
        publish(_sns(), topic_arn, alert)
    except (BotoCoreError, ClientError):
        _release(claims, alert.alert_id, record_owner)
        raise
    claims.mark_sent(alert.alert_id)
    return Claim.CLAIMED


def _release(claims: AlertClaims, alert_id: str, record_owner: str) -> None:
    try:
        claims.release(alert_id, record_owner)
    except (BotoCoreError, ClientError) as error:
        # The retry of the same record re-claims its own pending claim anyway.
        logger.warning("releasing the claim of alert %s failed: %s", alert_id, error)


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
        failure = {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}]}
        try:
            for alert in alerts:
                outcome = deliver(alert, topic_arn, owner(record))
                if outcome is Claim.BUSY:
                    return failure
                published += outcome is Claim.CLAIMED
        except (BotoCoreError, ClientError) as error:
            logger.warning("publishing alert %s failed: %s", alerts[0].alert_id, error)
            return failure
        seen.add(alerts[0].event_id)
    logger.info("alerts published: %d of %d records", published, len(event.get("Records", [])))
    return {"batchItemFailures": []}
