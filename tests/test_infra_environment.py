"""The AWS deployment checks run in their own environments, as part of `make test`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    assert all("--hash=sha256:" in e for e in re.split(r"\n(?=[A-Za-z0-9])", text.strip()))
    return dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", text, re.M))


def test_infra_tools_have_their_own_hashed_locks() -> None:
    infra = _pins("infra/requirements.lock")
    scan = _pins("infra/requirements-scan.lock")
    assert "aws-cdk-lib" in infra and "cfn-lint" in infra and "checkov" not in infra
    assert "checkov" in scan and "aws-cdk-lib" not in scan


def test_make_test_runs_the_infra_check() -> None:
    makefile = (ROOT / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "infra-check" in test_recipe


def test_the_main_suite_does_not_collect_the_infra_tests() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert options["ini_options"]["testpaths"] == ["tests"]
    assert (ROOT / "infra/pytest.ini").is_file()
