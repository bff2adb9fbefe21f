"""The ingest server as the benchmark runs it: ``python -m bench.ingest_server``.

``--sink null`` acknowledges every record at once (the HTTP and ingest cost alone);
``--sink kinesis`` is the real producer on the configured (local) stream.
"""

from __future__ import annotations

import argparse

import uvicorn

from streaming.contracts.settings import Settings, get_settings
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.ingest.server import IngestApp, create_app, uvicorn_config
from streaming.producer.records import NullSink


def _null_runtime(settings: Settings) -> Runtime:
    return build_runtime(settings, sink=NullSink())


def null_sink_app() -> IngestApp:
    return create_app(get_settings(), _null_runtime)


def kinesis_app() -> IngestApp:
    return create_app(get_settings())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sink", choices=("null", "kinesis"), default="null")
    args = parser.parse_args()
    target = f"bench.ingest_server:{'null_sink_app' if args.sink == 'null' else 'kinesis_app'}"
    config = uvicorn_config(target, "127.0.0.1", args.port, get_settings().ingest)
    uvicorn.run(**config, factory=True, workers=args.workers)


if __name__ == "__main__":
    main()
