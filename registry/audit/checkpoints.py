"""The audit chain's checkpoints, kept where the database cannot rewrite them.

One JSON line per checkpoint (:class:`registry.audit.rules.Checkpoint`), appended to a file
under ``REGISTRY_HOME`` (``audit-checkpoints.log``, mode 0600; ``REGISTRY_AUDIT_CHECKPOINTS``
names another) and written to the log too (logger ``registry.audit.checkpoints``), so a
shipped log keeps a copy. The file is only ever appended to (``O_APPEND``, under an
exclusive ``flock`` so two writers never interleave a line).
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from registry.audit.rules import Checkpoint

log = logging.getLogger(__name__)


def append(path: Path, checkpoint: Checkpoint) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = checkpoint.to_line() + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    log.info("audit checkpoint: %s", line.strip())


def read(path: Path) -> list[Checkpoint]:
    """Every checkpoint in the file (none when it does not exist). A line that is not a
    checkpoint (a write cut short by a crash) is skipped with a warning."""
    if not path.exists():
        return []
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                found.append(Checkpoint.from_line(line))
            except ValueError:
                log.warning("%s line %d is not an audit checkpoint; skipped", path, number)
    return found


def last(path: Path) -> Checkpoint | None:
    """The last checkpoint, reading only the end of the file."""
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read().decode("utf-8", errors="replace")
    for line in reversed(tail.splitlines()):
        try:
            return Checkpoint.from_line(line)
        except ValueError:
            continue
    return None
