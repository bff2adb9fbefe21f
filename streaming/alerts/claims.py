"""Claims of alerts in DynamoDB: the AWS function's dedup by ``alert_id`` across invocations.

One item per alert (``alert_id`` = rule and event id). Before publishing, the function claims the
alert with a conditional put: the item must not exist, or be ``pending`` with its lease expired,
or be ``pending`` under the same stream record (the retry of a record whose invocation died: a
shard's records are handed to one invocation at a time). After the publish it marks the item
``sent``; a failed publish releases the claim. An item ``sent`` means a duplicate, skipped; an
item ``pending`` under another record whose lease runs means another invocation is publishing it
now. Items expire by DynamoDB TTL (``expires_at``) after ``claim_ttl_days``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

PENDING = "pending"
SENT = "sent"
CONDITION_FAILED = "ConditionalCheckFailedException"


class Claim(enum.Enum):
    CLAIMED = "claimed"
    """Ours to publish."""
    SENT = "sent"
    """Published before: a duplicate."""
    BUSY = "busy"
    """Being published by another invocation (its lease runs)."""


class AlertClaims:
    def __init__(
        self,
        dynamodb: Any,
        table: str,
        *,
        lease_s: int,
        ttl_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._lease_s = lease_s
        self._ttl_s = ttl_days * 86_400
        self._clock = clock

    def claim(self, alert_id: str, owner: str) -> Claim:
        """Claim ``alert_id`` for the stream record ``owner`` (its shard and sequence)."""
        now = int(self._clock())
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "alert_id": {"S": alert_id},
                    "status": {"S": PENDING},
                    "owner": {"S": owner},
                    "lease_until": {"N": str(now + self._lease_s)},
                    "expires_at": {"N": str(now + self._ttl_s)},
                },
                ConditionExpression=(
                    "attribute_not_exists(alert_id) OR "
                    "(#status = :pending AND (lease_until < :now OR #owner = :owner))"
                ),
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
                ExpressionAttributeValues={
                    ":pending": {"S": PENDING},
                    ":now": {"N": str(now)},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise
            return self._why_taken(alert_id)
        return Claim.CLAIMED

    def _why_taken(self, alert_id: str) -> Claim:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"alert_id": {"S": alert_id}}, ConsistentRead=True
        ).get("Item")
        # Gone in between (released, or expired): busy, so the record is simply tried again.
        if item is not None and item["status"]["S"] == SENT:
            return Claim.SENT
        return Claim.BUSY

    def mark_sent(self, alert_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"alert_id": {"S": alert_id}},
            UpdateExpression="SET #status = :sent REMOVE lease_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":sent": {"S": SENT}},
        )

    def release(self, alert_id: str, owner: str) -> None:
        """Drop our pending claim after a failed publish (a no-op if it is no longer ours)."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key={"alert_id": {"S": alert_id}},
                ConditionExpression="#status = :pending AND #owner = :owner",
                ExpressionAttributeNames={"#status": "status", "#owner": "owner"},
                ExpressionAttributeValues={":pending": {"S": PENDING}, ":owner": {"S": owner}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != CONDITION_FAILED:
                raise

    def status(self, alert_id: str) -> str | None:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"alert_id": {"S": alert_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else str(item["status"]["S"])
