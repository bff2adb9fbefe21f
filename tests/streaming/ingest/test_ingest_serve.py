"""``clickstream ingest serve``: how many processes uvicorn runs and what each one builds."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from streaming.contracts.settings import Settings
from streaming.ingest import server
from streaming.ingest.runtime import Runtime, build_runtime
from streaming.ingest.server import APP_FACTORY, IngestApp, app_from_settings, serve
from streaming.producer.records import NullSink


def test_serve_runs_the_configured_workers_from_an_import_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKSTREAM_INGEST__WORKERS", "2")
    settings = Settings(home=tmp_path)
    ran: dict[str, Any] = {}

    def run(**config: Any) -> None:
        ran.update(config)
        ran["key_file_existed"] = (settings.secrets_dir / "hmac.key").exists()

    monkeypatch.setattr("uvicorn.run", run)
    serve(settings, "127.0.0.1", 9)
    assert ran["workers"] == 2
    assert ran["app"] == APP_FACTORY
    assert ran["factory"] is True
    assert ran["http"] is server.EdgeProtocol
    assert ran["key_file_existed"]  # made before the workers start, so none of them races


def test_one_worker_by_default() -> None:
    assert Settings().ingest.workers == 1


def test_each_worker_builds_its_application_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKSTREAM_HOME", str(tmp_path))
    monkeypatch.setenv("CLICKSTREAM_INGEST__MAX_CONNECTIONS", "7")
    app = app_from_settings()
    assert isinstance(app, IngestApp)
    assert app.settings.ingest.max_connections == 7
    assert app.freeze_at_startup


def _null_runtime(settings: Settings) -> Runtime:
    return build_runtime(settings, sink=NullSink())


async def _start_and_stop(app: IngestApp) -> list[str]:
    """The lifespan as uvicorn drives it; the message types the application sent."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []

    async def send(message: Any) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            assert gc.get_freeze_count() > 0
            await inbox.put({"type": "lifespan.shutdown"})

    await inbox.put({"type": "lifespan.startup"})
    await app({"type": "lifespan", "state": {}}, inbox.get, send)
    return sent


def test_a_served_application_freezes_what_startup_built(tmp_path: Path) -> None:
    app = server.create_app(Settings(home=tmp_path), _null_runtime, freeze_at_startup=True)
    assert gc.get_freeze_count() == 0
    try:
        sent = asyncio.run(_start_and_stop(app))
    finally:
        gc.unfreeze()
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
