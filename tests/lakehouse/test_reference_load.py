from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import pytest

from lakehouse import reference_load
from lakehouse.catalog import open_catalog
from lakehouse.reference_load import land_segment_feed, load_segment_changes
from streaming.contracts.landing import landing_store
from streaming.contracts.settings import Settings


def _feed(*changes: tuple[str, str, str, str]) -> bytes:
    return b"\n".join(
        f'{{"user_id_hash": "{user}", "segment_key": "{segment}", "action": "{action}", '
        f'"as_of_ts": "{moment}"}}'.encode()
        for user, segment, action, moment in changes
    )


def _changes(settings: Settings) -> list[tuple[str, str, str, datetime, str]]:
    table = open_catalog(settings).load_table("lake.user_segment_changes")
    rows = table.scan().to_arrow().to_pylist()
    return sorted(
        (
            row["user_id_hash"],
            row["segment_key"],
            row["action"],
            row["as_of_ts"],
            row["source_object"],
        )
        for row in rows
    )


def test_a_log_larger_than_a_batch_is_loaded_whole_and_replaced_on_reload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reference_load, "BATCH_ROWS", 2)
    settings = Settings(home=tmp_path)
    store = landing_store(settings)
    first, _ = land_segment_feed(
        store,
        "a.jsonl",
        _feed(
            ("u1", "deal_hunter", "enter", "2026-09-28T00:00:00.000Z"),
            ("u2", "newsletter", "enter", "2026-09-28T02:00:00+02:00"),
            ("u1", "deal_hunter", "leave", "2026-09-29T00:00:00Z"),
        ),
    )
    second, _ = land_segment_feed(
        store, "b.jsonl", _feed(("u3", "newsletter", "enter", "2026-09-30T12:30:00"))
    )
    assert load_segment_changes(settings) == 4
    expected = [
        ("u1", "deal_hunter", "enter", datetime(2026, 9, 28), first),
        ("u1", "deal_hunter", "leave", datetime(2026, 9, 29), first),
        ("u2", "newsletter", "enter", datetime(2026, 9, 28), first),
        ("u3", "newsletter", "enter", datetime(2026, 9, 30, 12, 30), second),
    ]
    assert _changes(settings) == expected
    assert load_segment_changes(settings) == 4  # a reload replaces: nothing doubles
    assert _changes(settings) == expected


def test_an_empty_log_leaves_an_empty_table(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert load_segment_changes(settings) == 0
    assert _changes(settings) == []


def test_an_object_that_does_not_parse_is_named_and_nothing_is_replaced(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    store = landing_store(settings)
    land_segment_feed(
        store, "a.jsonl", _feed(("u1", "newsletter", "enter", "2026-09-28T00:00:00Z"))
    )
    assert load_segment_changes(settings) == 1
    broken = "reference/user_segments/20260929T000000-broken.jsonl.gz"
    for body in (gzip.compress(b'{"user_id_hash": "u2", "segment_key": \n'), b"not gzip"):
        store.put(broken, body)
        with pytest.raises(ValueError, match=broken):
            load_segment_changes(settings)
        assert [change[0] for change in _changes(settings)] == ["u1"]
