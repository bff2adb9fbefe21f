"""Putting producer records on the Kinesis stream: batches, retries, back-pressure, DLQ."""

from streaming.producer.dead_letters import DeadLetterQueue, replay_dead_letters
from streaming.producer.kinesis import KinesisProducer
from streaming.producer.records import Ack, BufferFullError, NullSink, RecordSink, StreamRecord

__all__ = [
    "Ack",
    "BufferFullError",
    "DeadLetterQueue",
    "KinesisProducer",
    "NullSink",
    "RecordSink",
    "StreamRecord",
    "replay_dead_letters",
]
