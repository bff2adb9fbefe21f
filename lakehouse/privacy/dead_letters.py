"""The user's records in the dead-letter queue: each message of the subject is deleted, every
other one made visible again as it was."""

from __future__ import annotations

from typing import Any

from lakehouse.privacy.subject import Subject
from streaming.producer.dead_letters import DeadLetterQueue

MAX_BATCH = 10
HIDE_SECONDS = 120


def _batches(handles: list[str], **extra: Any) -> list[list[dict[str, Any]]]:
    return [
        [
            {"Id": str(n), "ReceiptHandle": handle, **extra}
            for n, handle in enumerate(handles[start : start + MAX_BATCH])
        ]
        for start in range(0, len(handles), MAX_BATCH)
    ]


def _receive_all(dlq: DeadLetterQueue) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = dlq.client.receive_message(
            QueueUrl=dlq.queue_url,
            MaxNumberOfMessages=MAX_BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=HIDE_SECONDS,
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def scan_dead_letters(dlq: DeadLetterQueue, subject: Subject, *, delete: bool) -> list[str]:
    """The bodies of the subject's messages (deleted when ``delete``); the others visible again."""
    messages = _receive_all(dlq)
    mine = [m for m in messages if subject.mentioned_in(m["Body"].encode())]
    others = [m["ReceiptHandle"] for m in messages if m not in mine]
    if delete:
        for entries in _batches([m["ReceiptHandle"] for m in mine]):
            dlq.client.delete_message_batch(QueueUrl=dlq.queue_url, Entries=entries)
    else:
        others += [m["ReceiptHandle"] for m in mine]
    for entries in _batches(others, VisibilityTimeout=0):
        dlq.client.change_message_visibility_batch(QueueUrl=dlq.queue_url, Entries=entries)
    return [m["Body"] for m in mine]


def unreachable(error: Exception) -> bool:
    """Whether ``error`` says no queue service answers (the local stack is not running)."""
    from botocore.exceptions import EndpointConnectionError

    return isinstance(error, EndpointConnectionError | ConnectionError)
