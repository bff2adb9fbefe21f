"""The versioned Redshift SQL of the real-time path, rendered for one deployment.

Files under ``redshift/`` are named ``V<nnn>__<what>.sql`` and applied in version order. They
are templated only with ``${iam_role_arn}``, ``${stream_name}``, ``${external_schema}`` and
``${rt_schema}`` (``string.Template``), all from
:class:`~streaming.contracts.settings.Settings`. Every
statement is idempotent by itself (``IF NOT EXISTS``, ``CREATE OR REPLACE VIEW``) except
``CREATE MATERIALIZED VIEW``, which Redshift cannot replace: the applier recreates a
materialised view only when its rendered definition changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from streaming.contracts.settings import Settings

SQL_DIR = Path(__file__).parent / "redshift"
_FILE_NAME = re.compile(r"^V(\d{3})__[a-z0-9_]+\.sql$")
_MATERIALIZED_VIEW = re.compile(
    r"^\s*CREATE\s+MATERIALIZED\s+VIEW\s+([A-Za-z0-9_.\"]+)", re.IGNORECASE
)


@dataclass(frozen=True)
class SqlStatement:
    file: str
    index: int
    """Position of the statement in its file, from 1."""
    sql: str

    @property
    def name(self) -> str:
        """``V003__mv_events_min.sql#1``: how errors and results name the statement."""
        return f"{self.file}#{self.index}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def materialized_view(self) -> str | None:
        """The qualified name, when the statement creates a materialised view."""
        match = _MATERIALIZED_VIEW.match(self.sql)
        return match[1] if match else None


def template_values(settings: Settings) -> dict[str, str]:
    return {
        "iam_role_arn": settings.redshift_iam_role_arn,
        "stream_name": settings.stream_name,
        "external_schema": settings.redshift.external_schema,
        "rt_schema": settings.redshift.rt_schema,
    }


def sql_files(directory: Path = SQL_DIR) -> list[Path]:
    files = sorted(path for path in directory.glob("*.sql"))
    for path in files:
        if not _FILE_NAME.match(path.name):
            raise ValueError(f"{path.name}: Redshift SQL files are named V<nnn>__<what>.sql")
    versions = [path.name[:4] for path in files]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two Redshift SQL files share a version: {versions}")
    return files


def split_statements(text: str) -> list[str]:
    """Statements separated by ``;`` outside quotes and comments; comment-only parts dropped."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is None and text.startswith("--", index):
            end = text.find("\n", index)
            end = len(text) if end == -1 else end
            current.append(text[index:end])
            index = end
            continue
        if quote is None and char in ("'", '"'):
            quote = char
        elif quote == char:
            quote = None
        if char == ";" and quote is None:
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [body for part in statements if (body := _strip_comments(part))]


def _strip_comments(part: str) -> str:
    lines = [line for line in part.strip().splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


def render(settings: Settings, directory: Path = SQL_DIR) -> list[SqlStatement]:
    """Every statement of every file, in order, with the deployment's names filled in."""
    values = template_values(settings)
    rendered: list[SqlStatement] = []
    for path in sql_files(directory):
        text = Template(path.read_text()).substitute(values)
        for index, sql in enumerate(split_statements(text), start=1):
            rendered.append(SqlStatement(path.name, index, sql))
    return rendered
