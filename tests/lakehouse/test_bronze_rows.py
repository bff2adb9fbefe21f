import gzip
from datetime import datetime
from pathlib import Path

import pytest

from lakehouse.bronze_rows import (
    GZIP_ERRORS,
    INFLATE_PIECE_BYTES,
    gunzip,
    gunzip_file,
    parse_object,
)


def lines(count: int, start: int = 0) -> bytes:
    return b"".join(b'{"n": %d}\n' % n for n in range(start, start + count))


def test_an_object_of_several_members_and_pieces_inflates_whole(tmp_path: Path) -> None:
    first, second = lines(200_000), lines(10, start=200_000)
    assert len(first) > 2 * INFLATE_PIECE_BYTES
    source = tmp_path / "object.gz"
    source.write_bytes(gzip.compress(first) + gzip.compress(second))

    gunzip_file(source, tmp_path / "object")

    assert (tmp_path / "object").read_bytes() == first + second == gunzip(source.read_bytes())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(gzip.compress(lines(1_000))[:-4], id="cut-in-the-trailer"),
        pytest.param(gzip.compress(lines(1_000))[:40], id="cut-in-the-data"),
        pytest.param(gzip.compress(lines(10)) + b"trailing bytes", id="trailing-garbage"),
        pytest.param(b'{"n": 1}\n', id="not-gzip"),
    ],
)
def test_an_object_that_is_not_whole_gzip_is_refused(tmp_path: Path, body: bytes) -> None:
    source = tmp_path / "object.gz"
    source.write_bytes(body)

    with pytest.raises(GZIP_ERRORS):
        gunzip_file(source, tmp_path / "object")
    with pytest.raises(GZIP_ERRORS):
        gunzip(body)


@pytest.mark.parametrize(
    "ts", ["2026-11-22t10:00:00z", "2026-11-22T10:00:00z", "2026-11-22t12:00:00+02:00"]
)
def test_lower_case_separators_of_rfc_3339_are_read(ts: str) -> None:
    line = b'{"event_type": "page_view", "event_id": "e-1", "ts": "%s"}\n' % ts.encode()

    parsed = parse_object("object.gz", gzip.compress(line))

    assert parsed.rejects == []
    assert [row["ts"] for row in parsed.rows] == [datetime(2026, 11, 22, 10)]


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_out_of_range_in_utc_is_rejected_not_raised(ts: str) -> None:
    line = b'{"event_type": "page_view", "event_id": "e-1", "ts": "%s"}\n' % ts.encode()

    parsed = parse_object("object.gz", gzip.compress(line))

    assert parsed.rows == []
    assert [(reject.kind, reject.reasons[0].pointer) for reject in parsed.rejects] == [
        ("bad_field", "/ts")
    ]
