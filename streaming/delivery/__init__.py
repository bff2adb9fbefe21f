"""Firehose-equivalent delivery: every shard of the stream into the landing store.

``Delivery(settings).run()`` reads the Kinesis stream, buffers records per event type by the
Firehose hints (``settings.delivery``), lands GZIP'd NDJSON objects under the bronze layout (and
unpartitionable records under the error prefix), and checkpoints each shard on disk only after
its records landed: at-least-once, resumable, the same code locally and against AWS.
"""

from streaming.delivery.service import Delivery, DeliveryError, DeliveryReport, deliver

__all__ = [
    "Delivery",
    "DeliveryError",
    "DeliveryReport",
    "deliver",
]
