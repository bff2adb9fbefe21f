"""An unexpected error with one event rejects that event, never its batch."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import TestClient, aws_settings_at
from stream_support import quarantine_records, stream_payloads

from streaming.contracts.settings import LocalAwsSettings
from streaming.enrichment import PayloadBuilder
from streaming.ingest import core
from streaming.ingest.server import create_app
from tests.event_examples import MINIMAL_EVENT


def test_an_event_that_breaks_enrichment_is_rejected_alone(
    tmp_path: Path, local_aws: LocalAwsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload_builder = core.payload_builder

    def builder_or_fail(*args: Any, **kwargs: Any) -> PayloadBuilder:
        build = payload_builder(*args, **kwargs)

        def enrich_or_fail(event: dict[str, Any], *context: Any) -> dict[str, Any]:
            if event.get("session", {}).get("session_id") == "breaks-enrichment":
                raise KeyError("an enrichment bug")
            return build(event, *context)

        return enrich_or_fail

    monkeypatch.setattr(core, "payload_builder", builder_or_fail)
    settings = aws_settings_at(tmp_path, local_aws)
    breaking = {**MINIMAL_EVENT, "session": {"session_id": "breaks-enrichment"}}
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/batch",
            content=orjson.dumps({"events": [MINIMAL_EVENT, breaking, MINIMAL_EVENT]}),
            headers={"content-type": "application/json"},
        )
        metrics = client.get("/metrics").text
    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["reason"] == "processing_error"
    assert len(stream_payloads(settings)) == 2
    (quarantined,) = quarantine_records(settings)
    assert quarantined["kind"] == "processing_error"
    assert orjson.loads(quarantined["payload"]) == breaking
    assert re.search(r'clickstream_ingest_rejected_total\{reason="processing_error"\} 1', metrics)
