"""The project's promises about itself: locked environment, CI, state kept at home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import orjson
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _locked_versions() -> dict[str, str]:
    pins = re.findall(
        r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", (ROOT / "requirements/lock.txt").read_text(), re.M
    )
    return {canonicalize_name(name): version for name, version in pins}


def test_every_declared_dependency_is_locked_at_a_version_it_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked_versions()
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements/lock.txt: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} does not satisfy {requirement.specifier}: run `make lock`"
        )


def test_lock_pins_every_package_with_hashes() -> None:
    text = (ROOT / "requirements/lock.txt").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    assert len(entries) == len(_locked_versions()) > 100
    assert all("--hash=sha256:" in entry for entry in entries)


def test_heavy_tool_sets_stay_out_of_the_main_environment() -> None:
    locked = _locked_versions()
    for heavy in ("pyspark", "aws-cdk-lib", "checkov"):
        assert heavy not in locked


def test_ci_runs_what_a_user_runs() -> None:
    script = (ROOT / ".ci/run").read_text()
    commands = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert "make test" in commands
    assert os.access(ROOT / ".ci/run", os.X_OK)


def test_cli_keeps_state_under_the_home_and_writes_nothing_in_the_user_home(
    tmp_path: Path,
) -> None:
    user_home = tmp_path / "user"
    user_home.mkdir()
    state = tmp_path / "state"
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(user_home),
        "CLICKSTREAM_HOME": str(state),
    }
    result = subprocess.run(
        [BIN / "clickstream", "config"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    resolved = orjson.loads(result.stdout)
    assert resolved["home"] == str(state)
    assert resolved["ingest"]["hmac_secret"] is None
    assert resolved["derived"]["stream_name"] == "clickstream-dev-events"
    assert list(user_home.iterdir()) == []
    telemetry = (state / "dagster" / "dagster.yaml").read_text()
    assert re.search(r"telemetry:\s*\n\s*enabled: false", telemetry)


def test_dagster_definitions_load(tmp_path: Path) -> None:
    environment = dict(os.environ, DAGSTER_HOME=str(tmp_path), CLICKSTREAM_HOME=str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def _lint_recipe() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlint: ", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in recipe.splitlines()[1:]]


def test_make_test_runs_every_check_and_pre_commit_runs_the_same() -> None:
    import yaml

    checks = [
        "ruff check",
        "ruff format --check",
        "lint-imports",
        "mypy",
        "sqlfluff lint dbt_project",
        "sqlfluff lint --config dbt_project/.sqlfluff-athena",
    ]
    recipe = _lint_recipe()
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = [hook["entry"] for hook in hooks]
    for check in checks:
        assert any(check in line for line in recipe), f"make lint does not run {check}"
        assert any(check in entry for entry in entries), f"pre-commit does not run {check}"
    test_recipe = (ROOT / "Makefile").read_text().split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) lint" in test_recipe


def test_import_contracts_cover_every_package() -> None:
    config = (ROOT / ".importlinter").read_text()
    for package in ("streaming", "lakehouse", "clickstream_orchestration", "clickstream_cli"):
        assert f"\n    {package}\n" in config
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout
