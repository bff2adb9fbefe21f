"""The alert Lambda on Kinesis event source batches, publishing to SNS (moto's) through SQS,
deduplicating by its claims in DynamoDB (moto's)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import aws_settings_at
from realtime_support import client_event

from streaming.alerts import lambda_handler
from streaming.alerts.claims import SENT, AlertClaims
from streaming.contracts.aws_clients import client
from streaming.contracts.settings import LocalAwsSettings, Settings, get_settings


def _record(sequence: int, data: bytes) -> dict[str, Any]:
    return {
        "eventSource": "aws:kinesis",
        "eventID": f"shardId-000000000000:{sequence:056d}",
        "kinesis": {
            "partitionKey": "s1",
            "sequenceNumber": f"{sequence:056d}",
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": 1_790_000_000.0,
        },
    }


def _producer(event: dict[str, Any]) -> bytes:
    """A client event as the ingest puts it on the stream (enough of it for the rules)."""
    return orjson.dumps(event | {"ingest_ts": 1_790_000_000_000})


@pytest.fixture
def topic(
    tmp_path: Path, local_aws: LocalAwsSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Settings, str, str]]:
    """The settings (in the environment, as the function reads them), the claims table, a
    topic, and a queue subscribed to it with raw delivery."""
    settings = aws_settings_at(tmp_path / "home", local_aws)
    for name, value in {
        "CLICKSTREAM_HOME": str(settings.home),
        "CLICKSTREAM_STAGE": settings.stage,
        "CLICKSTREAM_LOCAL_AWS__PORT": str(local_aws.port),
        "CLICKSTREAM_LOCAL_AWS__KINESIS_PORT": str(local_aws.kinesis_port),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    lambda_handler.forget_clients()
    client(settings, "dynamodb").create_table(
        TableName=settings.alerts_dedup_table_name,
        KeySchema=[{"AttributeName": "alert_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "alert_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sns, sqs = client(settings, "sns"), client(settings, "sqs")
    topic_arn = sns.create_topic(Name=settings.alerts_topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{settings.stage}-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    monkeypatch.setenv(lambda_handler.TOPIC_ARN_VARIABLE, topic_arn)
    yield settings, topic_arn, queue_url
    get_settings.cache_clear()
    lambda_handler.forget_clients()


def _received(settings: Settings, queue_url: str) -> list[dict[str, Any]]:
    sqs = client(settings, "sqs")
    found: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = page.get("Messages", [])
        if not messages:
            return found
        found += [orjson.loads(message["Body"]) for message in messages]


def _claim_statuses(settings: Settings) -> dict[str, str]:
    items = client(settings, "dynamodb").scan(TableName=settings.alerts_dedup_table_name)["Items"]
    return {item["alert_id"]["S"]: item["status"]["S"] for item in items}


def _claims(settings: Settings, *, clock: float) -> AlertClaims:
    return AlertClaims(
        client(settings, "dynamodb"),
        settings.alerts_dedup_table_name,
        lease_s=settings.alerts.claim_lease_s,
        ttl_days=settings.alerts.claim_ttl_days,
        clock=lambda: clock,
    )


def test_the_function_publishes_one_alert_per_matching_event(
    topic: tuple[Settings, str, str],
) -> None:
    settings, _, queue_url = topic
    big = [client_event("affiliate_click", payout_cents=1500) for _ in range(3)]
    purchase = client_event() | {
        "schema_version": "1.1.0",
        "event_type": "purchase",
        "purchase": {"order_id": "o1", "revenue_cents": 75_000, "currency": "EUR"},
    }
    events = [
        _record(1, _producer(big[0])),
        _record(2, _producer(client_event("affiliate_click", payout_cents=10))),
        _record(3, b"not json"),
        _record(4, b"[1, 2]"),
        _record(5, _producer(big[1])),
        _record(6, _producer(big[0])),  # a client re-send in the same batch
        _record(7, _producer(client_event())),
        _record(8, _producer(big[2])),
        _record(9, _producer(purchase)),
    ]
    answer = lambda_handler.handler({"Records": events})
    assert answer == {"batchItemFailures": []}
    alerts = _received(settings, queue_url)
    assert sorted(alert["alert_id"] for alert in alerts) == sorted(
        [f"high_payout_click:{event['event_id']}" for event in big]
        + [f"large_purchase:{purchase['event_id']}"]
    )
    assert [alert["fields"] for alert in alerts if alert["rule"] == "large_purchase"] == [
        {"purchase.revenue_cents": 75_000}
    ]


def test_a_failed_publish_reports_the_record_to_retry_from(
    topic: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, topic_arn, queue_url = topic
    big = [client_event("affiliate_click", payout_cents=2000) for _ in range(2)]
    records = [_record(1, _producer(big[0])), _record(2, _producer(big[1]))]
    monkeypatch.setenv(lambda_handler.TOPIC_ARN_VARIABLE, topic_arn + "-gone")
    answer = lambda_handler.handler({"Records": records})
    assert answer == {"batchItemFailures": [{"itemIdentifier": f"{1:056d}"}]}
    # Lambda retries from the reported record once the topic is there again
    monkeypatch.setenv(lambda_handler.TOPIC_ARN_VARIABLE, topic_arn)
    assert lambda_handler.handler({"Records": records}) == {"batchItemFailures": []}
    assert len(_received(settings, queue_url)) == 2
    assert _claim_statuses(settings) == {
        f"high_payout_click:{event['event_id']}": SENT for event in big
    }


def test_an_event_in_two_batches_and_a_stream_re_read_is_published_once(
    topic: tuple[Settings, str, str],
) -> None:
    settings, _, queue_url = topic
    event = client_event("affiliate_click", payout_cents=2500)
    other = client_event("affiliate_click", payout_cents=2600)
    first = {"Records": [_record(1, _producer(event))]}
    assert lambda_handler.handler(first) == {"batchItemFailures": []}
    # a client re-send, read in a later batch (another record of the stream)
    second = {"Records": [_record(2, _producer(other)), _record(3, _producer(event))]}
    assert lambda_handler.handler(second) == {"batchItemFailures": []}
    # the first batch read again (a retry or a replay from the failure queue)
    assert lambda_handler.handler(first) == {"batchItemFailures": []}
    alerts = _received(settings, queue_url)
    assert sorted(alert["event_id"] for alert in alerts) == sorted(
        [event["event_id"], other["event_id"]]
    )
    assert set(_claim_statuses(settings).values()) == {SENT}


def test_a_publish_that_fails_once_is_published_on_the_retry_and_marked_sent_once(
    topic: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, topic_arn, queue_url = topic
    event = client_event("affiliate_click", payout_cents=3000)
    records = {"Records": [_record(1, _producer(event))]}
    monkeypatch.setenv(lambda_handler.TOPIC_ARN_VARIABLE, topic_arn + "-gone")
    assert lambda_handler.handler(records) == {
        "batchItemFailures": [{"itemIdentifier": f"{1:056d}"}]
    }
    assert _claim_statuses(settings) == {}, "the failed publish released its claim"
    monkeypatch.setenv(lambda_handler.TOPIC_ARN_VARIABLE, topic_arn)
    assert lambda_handler.handler(records) == {"batchItemFailures": []}
    assert [alert["event_id"] for alert in _received(settings, queue_url)] == [event["event_id"]]
    assert _claim_statuses(settings) == {f"high_payout_click:{event['event_id']}": SENT}


def test_a_claim_left_pending_by_a_crash_is_re_claimed_by_its_record_or_after_its_lease(
    topic: tuple[Settings, str, str],
) -> None:
    settings, _, queue_url = topic
    lease = settings.alerts.claim_lease_s
    crashed, stale = (client_event("affiliate_click", payout_cents=4000) for _ in range(2))
    now = time.time()
    # invocations that died after claiming: one just now under record 1, one a lease ago
    # under record 2
    _claims(settings, clock=now).claim(f"high_payout_click:{crashed['event_id']}", _owner(1))
    _claims(settings, clock=now - lease - 5).claim(
        f"high_payout_click:{stale['event_id']}", _owner(2)
    )
    # a re-send of the crashed event in another record waits while the lease runs
    resend = {"Records": [_record(9, _producer(crashed))]}
    assert lambda_handler.handler(resend) == {
        "batchItemFailures": [{"itemIdentifier": f"{9:056d}"}]
    }
    assert _received(settings, queue_url) == []
    # Lambda's retry of record 1 re-claims its own claim at once; record 2's expired lease
    # lets a re-send of it in another record claim it
    retry = {"Records": [_record(1, _producer(crashed)), _record(10, _producer(stale))]}
    assert lambda_handler.handler(retry) == {"batchItemFailures": []}
    assert lambda_handler.handler(resend) == {"batchItemFailures": []}
    alerts = _received(settings, queue_url)
    assert sorted(alert["event_id"] for alert in alerts) == sorted(
        [crashed["event_id"], stale["event_id"]]
    )
    assert set(_claim_statuses(settings).values()) == {SENT}


def _owner(sequence: int) -> str:
    return _record(sequence, b"{}")["eventID"]
