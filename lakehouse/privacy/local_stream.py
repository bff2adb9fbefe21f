"""The subject's records in the local stream engine's store (``<home>/kinesis``).

Kinesis cannot delete a record: on AWS the stream's records age out with its retention. The
local engine keeps them on disk, so they are deleted there and the store compacted. A stopped
engine is started for the step and stopped again; a running one (``make dev``) erases in place,
so the subject's records not yet delivered never land after the request."""

from __future__ import annotations

from lakehouse.privacy.subject import Subject
from streaming.contracts.settings import Settings
from streaming.local_aws import LocalAws, erase_stream_records


def erase_from_local_stream(settings: Settings, subject: Subject) -> int:
    """Records deleted from every stream of the local engine."""
    engine = LocalAws(settings).kinesis
    if engine.answers():
        return erase_stream_records(settings, subject.tokens)
    if not settings.local_stream_dir.is_dir():
        return 0
    engine.start()
    try:
        return erase_stream_records(settings, subject.tokens)
    finally:
        engine.stop()
