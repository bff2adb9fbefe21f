"""The landing store as the aws code location's sensors see it: an S3 bucket reached through
dagster-aws' S3 resource (emulated by moto)."""

from __future__ import annotations

import pytest
from conftest import EMULATED_AWS_REGION
from dagster_aws.s3 import S3Resource

from clickstream_orchestration.resources import S3LandingResource

BUCKET = "clickstream-test-bronze"


@pytest.fixture
def landing(emulated_aws: None) -> S3LandingResource:
    resource = S3LandingResource(bucket=BUCKET, s3=S3Resource(region_name=EMULATED_AWS_REGION))
    resource.s3.get_client().create_bucket(Bucket=BUCKET)
    return resource


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
