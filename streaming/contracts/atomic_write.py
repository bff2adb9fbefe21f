"""Writes a crash cannot tear: a temp file (or link) beside the target, then one rename."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path


def write_atomically(target: Path, body: bytes, *, durable: bool = True) -> None:
    """Replace ``target`` with ``body``; readers see the old file or the new one, never a part.
    ``durable``: on the disk before the rename (an fsync); without it, the write is still
    atomic but a machine crash may lose it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def point_atomically(link: Path, target: Path) -> None:
    """Make the symlink ``link`` point at ``target`` (relative to the link's folder, as given);
    readers resolve the old target or the new one, never a missing link."""
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.link")
    temporary.symlink_to(target)
    try:
        temporary.replace(link)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
