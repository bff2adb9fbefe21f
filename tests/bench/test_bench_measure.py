"""The benchmark's pure parts: the RSS sampler, the output comparison and the Spark schema.

None of these needs the peers' environment (pyspark is not installed in the main one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from bench.measure import (
    JobError,
    PeakRss,
    compare_relations,
    directory_bytes,
    process_tree,
    run_measured,
    spark_ddl,
    tree_rss_bytes,
)

ALLOCATE = (
    "import time; block = bytearray(200 * 2**20); "
    "block[::4096] = b'x' * (len(block) // 4096); time.sleep(0.6)"
)


def test_run_measured_sees_the_memory_of_a_child_process() -> None:
    # the measured process only waits; its child holds 200 MiB
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {ALLOCATE!r}])"
    measured = run_measured([sys.executable, "-c", parent], interval=0.05)
    assert measured.peak_rss >= 200 * 2**20
    name, largest = measured.peak_largest
    assert name.startswith("python") and largest >= 200 * 2**20  # the child, not the parent
    assert measured.seconds >= 0.6


def test_run_measured_raises_on_failure() -> None:
    with pytest.raises(JobError, match="exited 3"):
        run_measured([sys.executable, "-c", "import sys; sys.exit(3)"])


def test_sampler_sums_a_fake_process_tree(tmp_path: Path) -> None:
    def process(pid: int, pages: int, children: list[int]) -> None:
        task = tmp_path / str(pid) / "task" / str(pid)
        task.mkdir(parents=True)
        (task / "children").write_text(" ".join(map(str, children)))
        (tmp_path / str(pid) / "statm").write_text(f"100 {pages} 0 0 0 0 0")

    process(10, 1, [11, 12])
    process(11, 2, [13])
    process(12, 3, [])
    process(13, 4, [])
    assert sorted(process_tree(10, tmp_path)) == [10, 11, 12, 13]
    page = tree_rss_bytes(13, tmp_path) // 4
    assert tree_rss_bytes(10, tmp_path) == 10 * page
    sampler = PeakRss(10, proc=tmp_path)
    sampler.sample()
    (tmp_path / "12" / "statm").write_text("100 1 0 0 0 0 0")  # memory goes down: peak stays
    sampler.sample()
    assert sampler.peak == 10 * page
    assert sampler.peak_largest == ("", 4 * page)  # process 13 (a fake one has no name)
    assert tree_rss_bytes(99, tmp_path) == 0  # a process that is gone


def _tables(conn: duckdb.DuckDBPyConnection, ours: list[tuple], peer: list[tuple]) -> None:
    conn.execute("create table ours (id varchar, n integer, ts timestamp, tags varchar[])")
    conn.execute("create table peer (tags varchar[], ts timestamptz, n bigint, id varchar)")
    conn.executemany("insert into ours values (?, ?, ?, ?)", ours)
    conn.executemany("insert into peer values (?, ?, ?, ?)", [row[::-1] for row in peer])


ROWS = [
    ("a", 1, "2026-10-01 00:00:00.123456", ["x"]),
    ("b", None, "2026-10-01 01:00:00", None),
    ("c", 3, "2026-10-01 02:00:00", []),
]


def test_equal_outputs_compare_equal_whatever_the_order_types_and_column_order() -> None:
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    _tables(conn, ROWS, list(reversed(ROWS)))
    comparison = compare_relations(conn, "t", "ours", "peer")
    assert comparison.equal
    assert comparison.ours.rows == 3
    assert comparison.describe() == "t: 3 rows equal"


@pytest.mark.parametrize(
    "peer",
    [
        [ROWS[0], ROWS[1]],  # a row missing
        [ROWS[0], ROWS[1], ROWS[2], ROWS[2]],  # a row duplicated
        [ROWS[0], ROWS[1], ("c", 4, "2026-10-01 02:00:00", [])],  # a value differs
        [ROWS[0], ROWS[1], ("c", 3, "2026-10-01 02:00:00.000001", [])],  # by a microsecond
        [ROWS[0], ROWS[1], ("c", 3, "2026-10-01 02:00:00", None)],  # null vs empty list
        [ROWS[0], ROWS[1], ("c", 3, "2026-10-01 02:00:00", [None])],  # a null element
        [ROWS[0], ("b", None, "2026-10-01 01:00:00", []), ROWS[2]],  # empty list vs null
        [ROWS[0], ("", None, "2026-10-01 01:00:00", None), ROWS[2]],  # '' vs 'b'
    ],
)
def test_a_mismatch_is_caught(peer: list[tuple]) -> None:
    conn = duckdb.connect()
    conn.execute("set TimeZone = 'UTC'")
    _tables(conn, ROWS, peer)
    comparison = compare_relations(conn, "t", "ours", "peer")
    assert not comparison.equal
    assert comparison.only_ours + comparison.only_peer > 0
    assert "differs" in comparison.describe()


def test_a_missing_column_is_an_error() -> None:
    conn = duckdb.connect()
    conn.execute("create table ours (id varchar, n integer)")
    conn.execute("create table peer (id varchar)")
    with pytest.raises(ValueError, match="lacks columns"):
        compare_relations(conn, "t", "ours", "peer")


def test_spark_ddl_of_the_bronze_schema() -> None:
    schema = pa.schema(
        [
            ("user", pa.struct([("id", pa.string()), ("tags", pa.list_(pa.string()))])),
            ("ts", pa.timestamp("us")),
            ("n", pa.int64()),
            ("ok", pa.bool_()),
        ]
    )
    assert spark_ddl(schema) == (
        "`user` STRUCT<`id`: STRING, `tags`: ARRAY<STRING>>, `ts` TIMESTAMP, `n` BIGINT, "
        "`ok` BOOLEAN"
    )


def test_directory_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"12345")
    (tmp_path / "y").write_bytes(b"123")
    assert directory_bytes(tmp_path) == 8
    assert directory_bytes(tmp_path / "missing") == 0
