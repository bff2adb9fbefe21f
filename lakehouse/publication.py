"""Which staged lake tables a dbt invocation published, and which it withheld and why.

The ``lake_table`` materialization stages a model's rows; at the end of the invocation each
staged table is committed to Iceberg only if every blocking test on it passed
(``lakehouse/publish.py``). The outcome is recorded per dbt invocation id, for callers such as
the Dagster dbt step that must not report a withheld table as materialized.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class Publication:
    """``published``: the ``schema.table`` identifiers committed by the invocation;
    ``withheld``: the staged ones left uncommitted, each with the reason."""

    invocation_id: str
    published: frozenset[str] = frozenset()
    withheld: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "invocation_id": self.invocation_id,
                "published": sorted(self.published),
                "withheld": dict(sorted(self.withheld.items())),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Publication:
        record = json.loads(text)
        return cls(
            invocation_id=record["invocation_id"],
            published=frozenset(record["published"]),
            withheld=dict(record["withheld"]),
        )


def publication_path(settings: Settings, invocation_id: str) -> Path:
    return settings.duckdb_dir / "published" / f"{invocation_id}.json"


def read_publication(settings: Settings, invocation_id: str) -> Publication:
    """The invocation's record. FileNotFoundError: the invocation never reached its end (it
    then committed nothing) or did not run on the local target."""
    return Publication.from_json(publication_path(settings, invocation_id).read_text())


def write_publication(settings: Settings, publication: Publication) -> Path:
    path = publication_path(settings, publication.invocation_id)
    write_atomically(path, publication.to_json().encode())
    return path
