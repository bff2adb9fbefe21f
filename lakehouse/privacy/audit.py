"""``lake.privacy_requests``: one row per completed request, with no personal data (the subject
only as a salted hash), and the progress file a request keeps until it completes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo

from lakehouse.tables import TableSpec, ensure_table
from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings

PRIVACY_REQUESTS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("kind", pa.string()),  # erase
        ("subject_hash", pa.string()),  # HMAC of the server-side hash under the server secret
        ("requested_at", pa.timestamp("us")),
        ("completed_at", pa.timestamp("us")),
        ("rows_removed", pa.string()),  # JSON object: table -> rows
        ("objects_rewritten", pa.int64()),
        ("landing_lines_removed", pa.int64()),
        ("dead_letters_removed", pa.int64()),
        ("realtime_rows_removed", pa.int64()),
        ("stream_records_removed", pa.int64()),
        ("file_lines_removed", pa.int64()),
        ("rebuilt_days", pa.string()),  # JSON list of the event days recomputed
        ("orphan_files_removed", pa.int64()),
    ]
)
PRIVACY_REQUESTS = TableSpec("privacy_requests", PRIVACY_REQUESTS_SCHEMA, ())


@dataclass
class Progress:
    """What a request has done so far; a re-run carries on after the last step recorded."""

    request_id: str
    subject_hash: str
    requested_at: str
    steps_done: list[str] = field(default_factory=list)
    rows_removed: dict[str, int] = field(default_factory=dict)
    rewritten_objects: dict[str, list[int]] = field(default_factory=dict)
    """Landing key -> [new size, lines removed]."""
    dead_letters_removed: int = 0
    realtime_rows_removed: int = 0
    stream_records_removed: int = 0
    file_lines_removed: int = 0
    event_days: list[str] = field(default_factory=list)
    orphan_files_removed: int = 0

    @property
    def requested(self) -> datetime:
        return datetime.fromisoformat(self.requested_at)

    def count_rows(self, identifier: str, rows: int) -> None:
        if rows:
            self.rows_removed[identifier] = self.rows_removed.get(identifier, 0) + rows


def progress_path(settings: Settings, subject_hash: str) -> Path:
    return settings.home / "privacy" / f"{subject_hash}.json"


def load_progress(settings: Settings, subject_hash: str) -> Progress | None:
    path = progress_path(settings, subject_hash)
    if not path.is_file():
        return None
    return Progress(**json.loads(path.read_text()))


def save_progress(settings: Settings, progress: Progress) -> None:
    body = json.dumps(asdict(progress), indent=1, sort_keys=True).encode()
    write_atomically(progress_path(settings, progress.subject_hash), body)


def forget_progress(settings: Settings, progress: Progress) -> None:
    progress_path(settings, progress.subject_hash).unlink(missing_ok=True)


def is_recorded(catalog: Catalog, settings: Settings, request_id: str) -> bool:
    table = ensure_table(catalog, settings, PRIVACY_REQUESTS)
    if table.current_snapshot() is None:
        return False
    return (
        table.scan(row_filter=EqualTo(term="request_id", value=request_id)).to_arrow().num_rows > 0
    )


def record_request(catalog: Catalog, settings: Settings, progress: Progress) -> datetime:
    """Append the completed request (once: a re-run after a crash here finds it recorded)."""
    completed = datetime.now(UTC).replace(tzinfo=None)
    if is_recorded(catalog, settings, progress.request_id):
        return completed
    row = {
        "request_id": progress.request_id,
        "kind": "erase",
        "subject_hash": progress.subject_hash,
        "requested_at": progress.requested.astimezone(UTC).replace(tzinfo=None),
        "completed_at": completed,
        "rows_removed": json.dumps(progress.rows_removed, sort_keys=True),
        "objects_rewritten": len(progress.rewritten_objects),
        "landing_lines_removed": sum(lines for _, lines in progress.rewritten_objects.values()),
        "dead_letters_removed": progress.dead_letters_removed,
        "realtime_rows_removed": progress.realtime_rows_removed,
        "stream_records_removed": progress.stream_records_removed,
        "file_lines_removed": progress.file_lines_removed,
        "rebuilt_days": json.dumps(sorted(progress.event_days)),
        "orphan_files_removed": progress.orphan_files_removed,
    }
    table = ensure_table(catalog, settings, PRIVACY_REQUESTS)
    table.append(pa.Table.from_pylist([row], schema=PRIVACY_REQUESTS_SCHEMA))
    return completed
