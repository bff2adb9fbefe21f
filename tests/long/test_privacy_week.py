"""The privacy request's tests (``tests/lakehouse/test_privacy.py``) on a generated dirty week
instead of six hours: export, erase killed after every step, no byte of the user left under the
home, every other row unchanged, aggregates equal to a full rebuild without the user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from streaming.contracts.settings import LocalAwsSettings
from streaming.generator.config import TrafficConfig
from tests.lakehouse.test_privacy import *  # noqa: F403  (the same tests, collected here on the week)
from tests.lakehouse.test_privacy import Erased, erased_after

pytestmark = [pytest.mark.long, pytest.mark.timeout(3600)]

WEEK = TrafficConfig(
    events=20_000,
    seed=11,
    start=datetime(2026, 11, 2, tzinfo=UTC),
    days=7,
    invalid_share=0.02,
    conversion_rate=0.05,
)


@pytest.fixture(scope="module")
def erased(
    tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAwsSettings
) -> Iterator[Erased]:
    yield from erased_after(WEEK, tmp_path_factory, local_aws)
