"""The dbt resource skips what dagster-dbt would do before each dbt command and the lake does
not need: asking the executable its version, and opening a dbt adapter for column metadata."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from clickstream_orchestration.dbt_resources import LakeDbtCliResource, keep_parse
from clickstream_orchestration.resources import resources_for
from streaming.contracts.settings import Settings


def test_the_version_is_the_one_the_dbt_executable_reports(tmp_path: Path) -> None:
    resource = resources_for(Settings(home=tmp_path))["dbt"]
    assert isinstance(resource, LakeDbtCliResource)
    reported = subprocess.run(
        [resource.dbt_executable, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+\.\d+\.\d+)", reported)
    assert match, reported
    assert str(resource._cli_version) == match.group(1)


def test_only_the_aws_target_opens_an_adapter_for_column_metadata(tmp_path: Path) -> None:
    local = resources_for(Settings(home=tmp_path))
    aws = resources_for(Settings(home=tmp_path, env="aws", aws_account_id="123456789012"))
    assert (local["dbt"].column_metadata, local["lakehouse"].column_lineage) == (False, False)
    assert (aws["dbt"].column_metadata, aws["lakehouse"].column_lineage) == (True, True)
    assert local["dbt"]._initialize_dbt_core_adapter(["build"]) is None


def test_a_command_starts_from_the_parse_the_last_one_kept(tmp_path: Path) -> None:
    """As a run's dbt steps do: each command in a target folder of its own, the parse it saved
    kept as the home's, where the next command starts from."""
    settings = Settings(home=tmp_path / "home")
    resources = resources_for(settings)
    parsing = []
    with resources["lakehouse"].dbt_environment():
        for step in ("first", "second"):
            target = settings.dbt_target_dir / step
            resources["dbt"].cli(["ls", "--resource-type", "model"], target_path=target).wait()
            keep_parse(settings, target)
            lines = (target / "dbt.log").read_text().splitlines()
            parsing.append([json.loads(line)["info"]["msg"] for line in lines if "pars" in line])
    assert any("Starting full parse" in message for message in parsing[0]), parsing[0]
    assert "Partial parsing enabled, no changes found, skipping parsing" in parsing[1], parsing[1]
