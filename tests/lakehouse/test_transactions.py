from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

from lakehouse.transactions import begin

ROWS = pa.table({"id": pa.array([1, 2, 3], pa.int64())})


def test_the_metadata_is_computed_once_per_staged_state_and_commits_as_usual(
    tmp_path: Path,
) -> None:
    catalog = SqlCatalog(
        "test", uri=f"sqlite:///{tmp_path / 'catalog.db'}", warehouse=f"file://{tmp_path}"
    )
    catalog.create_namespace("lake")
    table = catalog.create_table("lake.numbers", schema=ROWS.schema)
    with begin(table) as transaction:
        before = transaction.table_metadata
        assert transaction.table_metadata is before
        transaction.append(ROWS)
        staged = transaction.table_metadata
        assert staged is not before
        assert staged.current_snapshot_id is not None
        assert before.current_snapshot_id is None
        transaction.append(ROWS)
        assert len(transaction.table_metadata.snapshots) == 2
    table = catalog.load_table("lake.numbers")
    assert table.scan().to_arrow().num_rows == 6
    assert len(table.metadata.snapshots) == 2
