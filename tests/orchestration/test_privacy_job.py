"""The privacy_erase job: visible in the code location, one asset (the audit table), run config
naming the user as the command line does."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from clickstream_orchestration.assets.privacy import (
    PRIVACY_REQUESTS_KEY,
    PrivacyEraseConfig,
    _subject,
)
from clickstream_orchestration.definitions import defs
from clickstream_orchestration.resources import LakehouseResource
from streaming.enrichment import rekey_user_id_hash

CLIENT = "sha256:" + "c" * 64


def test_the_job_materialises_the_audit_table_only() -> None:
    job = defs.resolve_job_def("privacy_erase")
    assert job.tags.get("clickstream/writes") == "lake"
    fields = job.run_config_schema.config_type.fields["ops"].config_type.fields
    assert set(fields) == {"__".join(PRIVACY_REQUESTS_KEY.path)}
    config = fields["lake__privacy_requests"].config_type.fields["config"].config_type.fields
    assert {"user_hash", "client_hash"} <= set(config)


def test_the_config_names_the_user_as_the_command_line_does(tmp_path: Path) -> None:
    lakehouse = LakehouseResource(home=str(tmp_path))
    subject = _subject(PrivacyEraseConfig(client_hash=CLIENT), lakehouse)
    assert subject.server_hash == rekey_user_id_hash(CLIENT, lakehouse.settings().hmac_key)
    assert _subject(PrivacyEraseConfig(user_hash="d" * 64), lakehouse).server_hash == (
        "sha256:" + "d" * 64
    )
    with pytest.raises(dg.Failure, match="exactly one"):
        _subject(PrivacyEraseConfig(), lakehouse)
    with pytest.raises(dg.Failure, match="exactly one"):
        _subject(PrivacyEraseConfig(user_hash="d" * 64, client_hash=CLIENT), lakehouse)
