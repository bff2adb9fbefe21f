"""Reading back what the ingest stored: the stream, the quarantine prefix, the DLQ."""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from streaming.contracts.aws_clients import client
from streaming.contracts.landing import LocalLandingStore
from streaming.contracts.settings import Settings


def stream_records(settings: Settings) -> list[bytes]:
    """Every record's data on every shard, from the start of the stream."""
    kinesis = client(settings, "kinesis")
    shards = kinesis.list_shards(StreamName=settings.stream_name)["Shards"]
    found: list[bytes] = []
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            found.extend(record["Data"] for record in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return found


def stream_payloads(settings: Settings) -> list[dict[str, Any]]:
    return [orjson.loads(data) for data in stream_records(settings)]


def quarantine_bytes(settings: Settings) -> list[bytes]:
    """The decompressed NDJSON of every quarantine object."""
    store = LocalLandingStore(settings.landing_dir)
    return [
        gzip.decompress(store.get(entry.key))
        for entry in store.list(settings.landing_quarantine_prefix)
    ]


def quarantine_records(settings: Settings) -> list[dict[str, Any]]:
    return [orjson.loads(line) for body in quarantine_bytes(settings) for line in body.splitlines()]


def dlq_bodies(settings: Settings) -> list[str]:
    """Bodies of the messages in the DLQ; the messages stay in the queue, visible again."""
    sqs = client(settings, "sqs")
    url = sqs.get_queue_url(QueueName=settings.dlq_name)["QueueUrl"]
    bodies: list[str] = []
    handles: list[str] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = page.get("Messages", [])
        if not messages:
            break
        bodies.extend(message["Body"] for message in messages)
        handles.extend(message["ReceiptHandle"] for message in messages)
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for n, handle in enumerate(handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return bodies
