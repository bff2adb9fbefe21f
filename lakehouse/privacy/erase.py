"""One erase request, step by step. Each step is recorded in the request's progress file once
done, so a request stopped anywhere (``kill -9`` included) completes when run again; every step
is also safe to repeat (what is already gone is not found again).

Steps, in order:

0. ``stream``: locally, the subject's records deleted from the local stream engine's store
   (first, so none of them is delivered after the request); on AWS they age out with the
   stream's retention;
1. ``tables``: the subject's rows out of every lake table (bronze, quarantine with its raw
   payloads, the segment change log, silver, gold, marts, any table added later);
2. ``landing``: the landed objects rewritten without the subject's lines, the load ledger told
   their new sizes;
3. ``dead_letters``: the subject's messages deleted from the DLQ;
4. ``realtime``: the real-time marts copied without the subject's rows;
5. ``files``: the alert log, its dead-letter file and the local logs rewritten without them;
6. ``rebuild``: silver and gold of the subject's event days recomputed through dbt (the same
   window rebuild the schedules run, gated by the same tests), so aggregates are as if the user
   had never been there; the segments SCD2 is rebuilt whole from the cleaned change log;
7. ``sweep``: any row of the subject a table still holds removed (a table no rebuild covers);
8. ``purge``: old snapshots expired and unreferenced files deleted, so the bytes leave the disk;
9. ``audit``: the request recorded in ``lake.privacy_requests``; the progress file removed.

On the aws target the tables are erased with Athena's ``DELETE`` and the purge runs
``OPTIMIZE`` and ``VACUUM`` on every table touched (:mod:`lakehouse.privacy.athena`); the
landing objects are rewritten in S3 with one ``PutObject`` each.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pyiceberg.catalog import Catalog

from lakehouse.build import build_lake
from lakehouse.catalog import open_catalog
from lakehouse.privacy.athena import erase_statements, purge_statements, run_statements
from lakehouse.privacy.audit import (
    Progress,
    forget_progress,
    load_progress,
    record_request,
    save_progress,
)
from lakehouse.privacy.dead_letters import scan_dead_letters, unreachable
from lakehouse.privacy.lake_tables import (
    TableErasure,
    erase_from_table,
    event_days,
    lake_tables,
    table_rows,
)
from lakehouse.privacy.landing import (
    discover_client_hashes,
    erase_from_landing,
    record_rewrites,
)
from lakehouse.privacy.local_files import erase_from_line_files
from lakehouse.privacy.local_stream import erase_from_local_stream
from lakehouse.privacy.purge import expire_all_but_current, remove_orphan_files
from lakehouse.privacy.realtime import erase_from_realtime
from lakehouse.privacy.subject import Subject, request_subject_hash
from lakehouse.window import Window
from streaming.contracts.landing import LandingStore, landing_store
from streaming.contracts.settings import Settings

STEPS = (
    "stream",
    "tables",
    "landing",
    "dead_letters",
    "realtime",
    "files",
    "rebuild",
    "sweep",
    "purge",
    "audit",
)
HALT_VARIABLE = "CLICKSTREAM_PRIVACY_HALT_AFTER"
"""Test hook: the process kills itself (SIGKILL) right after recording this step, or, for
``tables-first`` and ``landing-first``, in the middle of that step (after its first table or
rewritten object)."""


@dataclass(frozen=True)
class EraseResult:
    request_id: str
    subject_hash: str
    resumed: bool
    progress: Progress
    completed_at: datetime


def _halt_if_asked(step: str) -> None:
    if os.environ.get(HALT_VARIABLE) == step:
        os.kill(os.getpid(), signal.SIGKILL)


class _Request:
    def __init__(
        self, settings: Settings, subject: Subject, catalog: Catalog, store: LandingStore
    ) -> None:
        self.settings = settings
        self.subject = subject
        self.catalog = catalog
        self.store = store

    def _erase(self, identifier: str) -> TableErasure:
        """Locally pyiceberg rewrites the partitions; on aws Athena deletes (``purge`` then
        rewrites and vacuums the tables it touched)."""
        if self.settings.env == "local":
            return erase_from_table(self.catalog, identifier, self.subject)
        rows = table_rows(self.catalog, identifier, self.subject)
        if rows.num_rows:
            statements = erase_statements(identifier, rows.schema, self.subject)[:1]
            run_statements(self.settings, statements)
        return TableErasure(identifier, rows.num_rows, frozenset(event_days(rows)))

    def stream(self, progress: Progress) -> None:
        if self.settings.env == "local":
            progress.stream_records_removed += erase_from_local_stream(self.settings, self.subject)

    def tables(self, progress: Progress) -> None:
        days = set(progress.event_days)
        for identifier in lake_tables(self.catalog, self.settings):
            erased = self._erase(identifier)
            progress.count_rows(identifier, erased.rows_removed)
            days |= {day.isoformat() for day in erased.event_days}
            progress.event_days = sorted(days)
            save_progress(self.settings, progress)
            _halt_if_asked("tables-first")

    def landing(self, progress: Progress) -> None:
        def remember(key: str, size: int, lines: int) -> None:
            progress.rewritten_objects[key] = [size, lines]
            save_progress(self.settings, progress)
            _halt_if_asked("landing-first")

        erase_from_landing(self.store, self.settings, self.subject, on_rewrite=remember)
        resized = {key: (size, lines) for key, (size, lines) in progress.rewritten_objects.items()}
        record_rewrites(self.catalog, self.settings, resized)

    def dead_letters(self, progress: Progress) -> None:
        from streaming.contracts.aws_clients import client
        from streaming.producer.dead_letters import DeadLetterQueue

        try:
            dlq = DeadLetterQueue.named(client(self.settings, "sqs"), self.settings.dlq_name)
        except Exception as error:
            if self.settings.env == "local" and unreachable(error):
                return  # the local queue lives in the local stack's memory: none running, none held
            raise
        progress.dead_letters_removed += len(scan_dead_letters(dlq, self.subject, delete=True))

    def realtime(self, progress: Progress) -> None:
        if self.settings.env == "local":
            progress.realtime_rows_removed += erase_from_realtime(self.settings, self.subject)

    def files(self, progress: Progress) -> None:
        if self.settings.env == "local":
            progress.file_lines_removed += erase_from_line_files(self.settings, self.subject)

    def rebuild(self, progress: Progress) -> None:
        if not progress.event_days:
            return
        days = [date.fromisoformat(day) for day in progress.event_days]
        build_lake(self.settings, window=Window(min(days), max(days)), capture=True)

    def sweep(self, progress: Progress) -> None:
        for identifier in lake_tables(self.catalog, self.settings):
            erased = self._erase(identifier)
            progress.count_rows(identifier, erased.rows_removed)

    def purge(self, progress: Progress) -> None:
        identifiers = list(lake_tables(self.catalog, self.settings))
        expire_all_but_current(self.catalog, identifiers)
        if self.settings.env != "local":
            touched = sorted(set(progress.rows_removed) & set(identifiers))
            run_statements(self.settings, [s for t in touched for s in purge_statements(t)])
        progress.orphan_files_removed += remove_orphan_files(
            self.catalog, self.settings, identifiers, written_before=progress.requested
        )

    def audit(self, progress: Progress) -> None:
        record_request(self.catalog, self.settings, progress)


def erase_user(
    settings: Settings,
    subject: Subject,
    *,
    progress_listener: Callable[[str], None] | None = None,
) -> EraseResult:
    """Erase the subject from every place the lake keeps data; resumes an unfinished request."""
    catalog = open_catalog(settings)
    store = landing_store(settings)
    subject_hash = request_subject_hash(settings, subject)
    progress = load_progress(settings, subject_hash)
    resumed = progress is not None
    if progress is None:
        progress = Progress(
            request_id=str(uuid.uuid4()),
            subject_hash=subject_hash,
            requested_at=datetime.now(UTC).isoformat(),
        )
        save_progress(settings, progress)
    subject = discover_client_hashes(settings, store, subject)
    request = _Request(settings, subject, catalog, store)
    for step in STEPS:
        if step in progress.steps_done:
            continue
        if progress_listener is not None:
            progress_listener(step)
        getattr(request, step)(progress)
        progress.steps_done.append(step)
        save_progress(settings, progress)
        _halt_if_asked(step)
    forget_progress(settings, progress)
    return EraseResult(progress.request_id, subject_hash, resumed, progress, datetime.now(UTC))
