"""Staged lake tables: a model's Parquet files written, not yet committed to Iceberg.

The ``lake_table`` materialization stages each model it builds: a descriptor under
``<home>/duckdb/staged/<invocation_id>/<schema>.<table>.json``, recorded before any file is
written, says where the files go and how to commit them. The end of the invocation publishes
or discards every staged table and removes its descriptor (``lakehouse/publish.py``); a
descriptor left behind belongs to an invocation that was interrupted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.window import Rewrite
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class StagedTable:
    """One model's staged files and how to commit them (see ``iceberg_writer.commit_files``)."""

    invocation_id: str
    unique_id: str
    identifier: str
    files_dir: Path
    partitioned_by: tuple[str, ...]
    rewrite: Rewrite | None

    def to_json(self) -> str:
        rewrite = self.rewrite
        return json.dumps(
            {
                "invocation_id": self.invocation_id,
                "unique_id": self.unique_id,
                "identifier": self.identifier,
                "files_dir": str(self.files_dir),
                "partitioned_by": list(self.partitioned_by),
                "rewrite": {
                    "column": rewrite.column,
                    "days": [day.isoformat() for day in rewrite.days],
                }
                if rewrite
                else None,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> StagedTable:
        record = json.loads(text)
        return cls(
            invocation_id=record["invocation_id"],
            unique_id=record["unique_id"],
            identifier=record["identifier"],
            files_dir=Path(record["files_dir"]),
            partitioned_by=tuple(record["partitioned_by"]),
            rewrite=rewrite_from_spec(record["rewrite"]),
        )


def rewrite_from_spec(spec: dict[str, Any] | None) -> Rewrite | None:
    """The partitions to replace from ``rewrite_spec`` (macros/window.sql); None: all."""
    if spec is None:
        return None
    return Rewrite(spec["column"], tuple(date.fromisoformat(day) for day in spec["days"]))


def staged_root(settings: Settings) -> Path:
    return settings.duckdb_dir / "staged"


def descriptor_path(settings: Settings, invocation_id: str, identifier: str) -> Path:
    return staged_root(settings) / invocation_id / f"{identifier}.json"


def record_staged(settings: Settings, staged: StagedTable) -> None:
    path = descriptor_path(settings, staged.invocation_id, staged.identifier)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged.files_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(staged.to_json())


def staged_tables(settings: Settings, invocation_id: str) -> list[StagedTable]:
    folder = staged_root(settings) / invocation_id
    return [StagedTable.from_json(path.read_text()) for path in sorted(folder.glob("*.json"))]


def forget(settings: Settings, staged: StagedTable) -> None:
    """Drop the descriptor (the files are committed, or already gone)."""
    descriptor_path(settings, staged.invocation_id, staged.identifier).unlink(missing_ok=True)
    folder = staged_root(settings) / staged.invocation_id
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def discard(settings: Settings, staged: StagedTable) -> None:
    """Delete the staged files, then the descriptor."""
    shutil.rmtree(staged.files_dir, ignore_errors=True)
    forget(settings, staged)


def _leftovers(settings: Settings, identifier: str, invocation_id: str) -> Iterator[StagedTable]:
    for path in sorted(staged_root(settings).glob(f"*/{identifier}.json")):
        if path.parent.name != invocation_id:
            yield StagedTable.from_json(path.read_text())


def _committed_dirs(catalog: Catalog, identifier: str) -> set[Path]:
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return set()
    paths: Sequence[str] = table.inspect.files().column("file_path").to_pylist()
    return {Path(path.removeprefix("file://")).parent for path in paths}


def discard_leftovers(
    catalog: Catalog, settings: Settings, identifier: str, invocation_id: str
) -> None:
    """Discard what interrupted invocations staged for ``identifier``. Files an invocation
    committed just before it was interrupted stay (only the descriptor goes)."""
    leftovers = list(_leftovers(settings, identifier, invocation_id))
    if not leftovers:
        return
    committed = _committed_dirs(catalog, identifier)
    for staged in leftovers:
        in_use = any(path.is_relative_to(staged.files_dir) for path in committed)
        if in_use:
            forget(settings, staged)
        else:
            discard(settings, staged)
