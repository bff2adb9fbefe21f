"""The ingest's moving parts built from settings: core, producer, dead letters, quarantine."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from streaming.contracts.aws_clients import client
from streaming.contracts.landing import LandingStore, landing_store
from streaming.contracts.settings import Settings
from streaming.ingest.core import IngestCore
from streaming.ingest.health import SinkProbe
from streaming.ingest.http_contract import IngestService
from streaming.ingest.quarantine import QuarantineWriter
from streaming.producer.dead_letters import DeadLetterQueue
from streaming.producer.kinesis import KinesisProducer
from streaming.producer.records import RecordSink

PROBE_TIMEOUT_S = 1.0
SENDER_THREADS = 4


@dataclass
class Runtime:
    service: IngestService
    sink: RecordSink
    quarantine: QuarantineWriter

    def close(self) -> None:
        """Deliver what is buffered, then stop."""
        self.sink.close()
        self.quarantine.close()


class ResourcesUnavailableError(RuntimeError):
    """The stream or the dead-letter queue cannot be reached."""


def check_resources(settings: Settings) -> None:
    """Fail early, and say what to do, when the stream or the DLQ is missing."""
    where = (
        f"{settings.kinesis_endpoint_url} and {settings.aws_endpoint_url}"
        if settings.env == "local"
        else f"AWS {settings.region}"
    )
    hint = " (start it with `clickstream local up`)" if settings.env == "local" else ""
    try:
        client(settings, "kinesis").describe_stream_summary(StreamName=settings.stream_name)
        client(settings, "sqs").get_queue_url(QueueName=settings.dlq_name)
    except (BotoCoreError, ClientError) as error:
        raise ResourcesUnavailableError(
            f"stream {settings.stream_name} or queue {settings.dlq_name} is not available at "
            f"{where}{hint}: {error}"
        ) from None


def kinesis_producer(
    settings: Settings, *, with_dead_letters: bool = True, senders: int | None = None
) -> KinesisProducer:
    """A producer on the configured stream; botocore's own retries are off (it retries itself)."""
    if senders is None:
        senders = SENDER_THREADS
    kinesis = client(
        settings,
        "kinesis",
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max(10, senders * 2),
    )
    dead_letters = (
        DeadLetterQueue.named(client(settings, "sqs"), settings.dlq_name)
        if with_dead_letters
        else None
    )
    return KinesisProducer(
        kinesis, settings.stream_name, settings.producer, dead_letters=dead_letters, senders=senders
    )


def sink_probe(settings: Settings) -> SinkProbe:
    """Asks the stream and the dead-letter queue whether they answer, once, within a second."""
    quick = {
        "connect_timeout": PROBE_TIMEOUT_S,
        "read_timeout": PROBE_TIMEOUT_S,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
    }
    kinesis = client(settings, "kinesis", **quick)
    sqs = client(settings, "sqs", **quick)
    return SinkProbe(
        lambda: kinesis.describe_stream_summary(StreamName=settings.stream_name),
        lambda: sqs.get_queue_url(QueueName=settings.dlq_name),
        settings.ingest.health_cache_s,
    )


def build_runtime(
    settings: Settings,
    *,
    sink: RecordSink | None = None,
    store: LandingStore | None = None,
    probe: SinkProbe | None = None,
) -> Runtime:
    sink = sink if sink is not None else kinesis_producer(settings)
    quarantine = QuarantineWriter(store if store is not None else landing_store(settings), settings)
    core = IngestCore(settings.ingest, settings.hmac_key)
    service = IngestService(
        settings.ingest,
        core,
        sink,
        quarantine,
        probe=probe if probe is not None else sink_probe(settings),
        buffer_capacity=settings.producer.buffer_records,
    )
    return Runtime(service, sink, quarantine)
