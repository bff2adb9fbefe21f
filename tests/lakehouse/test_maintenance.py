"""Expiring snapshots keeps the current data and drops the history before the cut-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from lakehouse.catalog import open_catalog
from lakehouse.maintenance import expire_snapshots
from streaming.contracts.settings import Settings


def test_expire_snapshots_keeps_the_current_rows(tmp_path) -> None:
    catalog = open_catalog(Settings(_env_file=None, home=tmp_path))
    rows = pa.table({"n": pa.array([1, 2, 3], pa.int64())})
    table = catalog.create_table("lake.numbers", schema=rows.schema)
    for _ in range(3):
        table.append(rows)
    assert len(catalog.load_table("lake.numbers").snapshots()) == 3

    expire_snapshots(catalog, ["lake.numbers"], datetime.now(UTC) + timedelta(seconds=1))

    table = catalog.load_table("lake.numbers")
    assert len(table.snapshots()) == 1
    assert table.scan().to_arrow().num_rows == 9
