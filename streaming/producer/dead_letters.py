"""The SQS dead-letter queue: records the stream would not take, and replaying them.

A message body is ``{"partition_key": "...", "record": {<producer payload>}}``. Replaying puts
the record back on the stream unchanged (same ``event_id``, so downstream de-duplication holds)
and deletes the message only once Kinesis acknowledged the record.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from streaming.producer.records import KINESIS, StreamRecord

if TYPE_CHECKING:
    from streaming.producer.kinesis import KinesisProducer

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
SEND_ATTEMPTS = 3


def message_body(record: StreamRecord) -> str:
    return (
        b'{"partition_key":'
        + orjson.dumps(record.partition_key)
        + b',"record":'
        + record.data
        + b"}"
    ).decode()


def record_from_body(body: str) -> StreamRecord:
    """The stream record a dead-letter message holds; ValueError when it holds none."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    key, record = message.get("partition_key"), message.get("record")
    if not isinstance(key, str) or not key or not isinstance(record, dict):
        raise ValueError("expected a non-empty 'partition_key' and an object 'record'")
    return StreamRecord(orjson.dumps(record), key)


class DeadLetterQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    @classmethod
    def named(cls, client: Any, queue_name: str) -> DeadLetterQueue:
        return cls(client, client.get_queue_url(QueueName=queue_name)["QueueUrl"])

    def send(self, records: Sequence[StreamRecord]) -> list[bool]:
        """SendMessageBatch in chunks; which records the queue holds now."""
        sent = [False] * len(records)
        for chunk in _chunks([(index, message_body(r)) for index, r in enumerate(records)]):
            waiting = dict(chunk)
            for attempt in range(SEND_ATTEMPTS):
                if attempt:
                    time.sleep(0.1 * 2**attempt)
                entries = [{"Id": str(i), "MessageBody": body} for i, body in waiting.items()]
                try:
                    response = self.client.send_message_batch(
                        QueueUrl=self.queue_url, Entries=entries
                    )
                except Exception:
                    continue
                for success in response.get("Successful", []):
                    index = int(success["Id"])
                    sent[index] = True
                    waiting.pop(index, None)
                if not waiting:
                    break
        return sent


def _chunks(messages: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    size = 0
    for index, body in messages:
        length = len(body.encode())
        if current and (len(current) >= MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append((index, body))
        size += length
    if current:
        chunks.append(current)
    return chunks


@dataclass
class ReplayReport:
    received: int = 0
    replayed: int = 0
    failed: int = 0
    unreadable: int = 0


def replay_dead_letters(
    dlq: DeadLetterQueue,
    producer: KinesisProducer,
    *,
    round_messages: int = 500,
    visibility_timeout_s: int = 300,
    wait_time_s: int = 1,
    max_messages: int | None = None,
) -> ReplayReport:
    """Re-send every dead-lettered record to the stream; delete each message once acked.

    ``producer`` should have no dead-letter queue of its own, so that a record the stream still
    refuses stays in this queue. Messages received are hidden for ``visibility_timeout_s`` so a
    run sees each once; those still refused, or unreadable, are made visible again at the end.
    """
    report = ReplayReport()
    kept: list[str] = []
    while max_messages is None or report.received < max_messages:
        messages = _receive_round(dlq, round_messages, visibility_timeout_s, wait_time_s)
        if not messages:
            break
        report.received += len(messages)
        readable: list[tuple[str, StreamRecord]] = []
        for message in messages:
            try:
                readable.append((message["ReceiptHandle"], record_from_body(message["Body"])))
            except ValueError:
                report.unreadable += 1
                kept.append(message["ReceiptHandle"])
        acks = producer.submit([record for _, record in readable]).result() if readable else []
        done: list[str] = []
        for (handle, _), ack in zip(readable, acks, strict=True):
            (done if ack.destination == KINESIS else kept).append(handle)
        report.replayed += len(done)
        report.failed += len(readable) - len(done)
        for entries in _entries(done):
            dlq.client.delete_message_batch(QueueUrl=dlq.queue_url, Entries=entries)
    for entries in _entries(kept, VisibilityTimeout=0):
        dlq.client.change_message_visibility_batch(QueueUrl=dlq.queue_url, Entries=entries)
    return report


def _entries(handles: list[str], **extra: Any) -> list[list[dict[str, Any]]]:
    return [
        [
            {"Id": str(n), "ReceiptHandle": handle, **extra}
            for n, handle in enumerate(handles[start : start + MAX_BATCH_ENTRIES])
        ]
        for start in range(0, len(handles), MAX_BATCH_ENTRIES)
    ]


def _receive_round(
    dlq: DeadLetterQueue, limit: int, visibility_timeout_s: int, wait_time_s: int
) -> list[Any]:
    messages: list[Any] = []
    while len(messages) < limit:
        response = dlq.client.receive_message(
            QueueUrl=dlq.queue_url,
            MaxNumberOfMessages=min(MAX_BATCH_ENTRIES, limit - len(messages)),
            WaitTimeSeconds=0 if messages else wait_time_s,
            VisibilityTimeout=visibility_timeout_s,
        )
        batch = response.get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    return messages
