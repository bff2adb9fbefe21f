"""The landing store as the aws code location's sensors see it: an S3 bucket reached through
dagster-aws' S3 resource (emulated by moto)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dagster_aws.s3 import S3Resource

from clickstream_orchestration.resources import S3LandingResource

REGION = "us-east-1"
BUCKET = "clickstream-test-bronze"


@pytest.fixture
def landing(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3LandingResource]:
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        resource = S3LandingResource(bucket=BUCKET, s3=S3Resource(region_name=REGION))
        resource.s3.get_client().create_bucket(Bucket=BUCKET)
        yield resource


def test_the_sensor_lists_what_landed_under_a_prefix_since_a_time(
    landing: S3LandingResource,
) -> None:
    store = landing.store()
    store.put("bronze/events_type=page_view/a.gz", b"first")
    store.put("quarantine/b.gz", b"elsewhere")
    [listed] = landing.list_since("bronze/", None)
    assert (listed.key, listed.size) == ("bronze/events_type=page_view/a.gz", 5)
    assert landing.list_since("bronze/", listed.last_modified + 3600) == []
    assert store.get(listed.key) == b"first"
