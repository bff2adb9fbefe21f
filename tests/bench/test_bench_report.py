"""The benchmark table: ratios, goals and the written JSON and Markdown."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench import report as report_module
from bench.report import Report, Row


def test_ratio_favours_ours_above_one() -> None:
    rate = Row("rate", 200.0, "events/s", peer=50.0, peer_name="peer")
    seconds = Row("time", 10.0, "s", peer=50.0, peer_name="peer", lower_is_better=True)
    assert rate.ratio == pytest.approx(4.0)
    assert rate.ratio_text == "4.00x"
    assert seconds.ratio == pytest.approx(5.0)
    assert seconds.ratio_text == "5.00x (peer/ours)"


def test_unequal_outputs_show_no_ratio_and_fail_the_goal() -> None:
    row = Row(
        "time", 10.0, "s", peer=50.0, goal=">= 5x", met=True, lower_is_better=True, equal=False
    )
    assert row.ratio is None
    assert row.ratio_text == "outputs differ"
    assert row.met is False
    assert row.met_text == "NOT met"


def test_a_figure_not_measured_here() -> None:
    row = Row("latency to the RT mart", None, "s")
    assert row.ours_text == "n/a"
    assert row.ratio is None


def test_written_json_and_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(report_module, "peer_versions", lambda: {"pyspark (peers)": "9.9"})
    report = Report("t", command="make bench", duration_s=90)
    report.add(
        Row(
            "build",
            10.0,
            "s",
            peer=60.0,
            peer_name="PySpark",
            goal=">= 5x",
            met=True,
            runs=3,
            lower_is_better=True,
            equal=True,
        )
    )
    path = report.write("demo")
    document = orjson.loads(path.read_bytes())
    assert document["command"] == "make bench"
    assert document["rows"][0]["ratio"] == pytest.approx(6.0)
    assert document["rows"][0]["runs"] == 3
    assert document["environment"]["versions"]["pyspark (peers)"] == "9.9"
    assert {"date", "cpu", "cores"} <= set(document["environment"])
    markdown = (tmp_path / "demo.md").read_text()
    assert "| build | 10.00 s | 60.00 (PySpark) | 6.00x (peer/ours) | >= 5x | met | 3 |" in markdown
    assert "`make bench` took 1.5 min" in markdown
