import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from streaming.contracts.aws_clients import utc_timestamp

MOMENT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.fixture
def local_zone_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A local zone away from UTC, which must not leak into the answers."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "value",
    [
        1_700_000_000,
        1_700_000_000.0,
        "1700000000",
        "2023-11-14T22:13:20Z",
        "2023-11-14T23:13:20+01:00",
        "2023-11-14T22:13:20",
        "Tue, 14 Nov 2023 22:13:20 GMT",
    ],
)
@pytest.mark.usefixtures("local_zone_new_york")
def test_every_form_of_a_response_timestamp_is_read_as_an_aware_utc_datetime(
    value: object,
) -> None:
    parsed = utc_timestamp(value)
    assert parsed == MOMENT
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0


@pytest.mark.usefixtures("local_zone_new_york")
def test_fractional_epoch_seconds_keep_their_fraction() -> None:
    assert utc_timestamp(1_700_000_000.5) == MOMENT.replace(microsecond=500_000)
    assert utc_timestamp("1700000000.5") == MOMENT.replace(microsecond=500_000)
