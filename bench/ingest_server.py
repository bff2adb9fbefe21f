"""The ingest server as the benchmark runs it: ``python -m bench.ingest_server``.

The same code path as ``clickstream ingest serve`` (:func:`streaming.ingest.server.serve`),
so ``CLICKSTREAM_INGEST__WORKERS`` sets its processes. ``--sink null`` acknowledges every
record at once (the HTTP and ingest cost alone); ``--sink kinesis`` is the real producer on the
configured (local) stream.
"""

from __future__ import annotations

import argparse

from streaming.contracts.settings import Settings, get_settings
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.ingest.server import APP_FACTORY, IngestApp, create_app, serve
from streaming.producer.records import NullSink


def _null_runtime(settings: Settings) -> Runtime:
    return build_runtime(settings, sink=NullSink())


def null_sink_app() -> IngestApp:
    return create_app(get_settings(), _null_runtime, freeze_at_startup=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink", choices=("null", "kinesis"), default="null")
    args = parser.parse_args()
    factory = "bench.ingest_server:null_sink_app" if args.sink == "null" else APP_FACTORY
    serve(get_settings(), "127.0.0.1", args.port, app_factory=factory)


if __name__ == "__main__":
    main()
