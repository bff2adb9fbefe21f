"""The user's lines in the home's line-oriented files: the alert log and its dead-letter file,
and the logs of the local stack. Each file holding one is rewritten atomically without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lakehouse.privacy.subject import Subject
from streaming.contracts.atomic_write import write_atomically
from streaming.contracts.settings import Settings

LINE_FILE_SUFFIXES = (".jsonl", ".log", ".ndjson")


def line_files(settings: Settings) -> Iterator[Path]:
    """The alert files and the logs (locally: the home's ``alerts/`` and log folder)."""
    seen: set[Path] = set()
    for folder in (settings.home / "alerts", settings.log_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in LINE_FILE_SUFFIXES and path not in seen:
                seen.add(path)
                yield path


def erase_from_line_files(settings: Settings, subject: Subject) -> int:
    """Lines removed from every such file."""
    removed = 0
    for path in line_files(settings):
        lines = path.read_bytes().splitlines(keepends=True)
        kept = [line for line in lines if not subject.mentioned_in(line)]
        if len(kept) != len(lines):
            write_atomically(path, b"".join(kept))
            removed += len(lines) - len(kept)
    return removed


def line_file_rows(settings: Settings, subject: Subject) -> dict[str, list[bytes]]:
    """Each file's lines of the subject, by path relative to the home."""
    found: dict[str, list[bytes]] = {}
    for path in line_files(settings):
        for line in path.read_bytes().splitlines():
            if subject.mentioned_in(line):
                found.setdefault(path.relative_to(settings.home).as_posix(), []).append(line)
    return found
