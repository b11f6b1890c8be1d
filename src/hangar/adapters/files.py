"""Private files: secrets, tokens and state only the owning user may read.

A file is written to a temporary sibling and renamed over the target, so a reader sees the
old content or the new, never half of it, and the content is never readable by others,
not even for a moment (the temporary file is created 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["private_dir", "write_private"]


def write_private(path: Path, data: bytes | str, *, mode: int = 0o600, sync: bool = False) -> None:
    """Replace ``path`` atomically with ``data`` (text is UTF-8), leaving it ``mode``.

    ``sync`` flushes the file and its directory to disk before returning, for state that
    must survive a power cut. The parent directory must exist."""
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def private_dir(path: Path) -> Path:
    """Create ``path`` and make it 0700, even if it already existed with wider permissions;
    returns ``path``. Missing parents are created with the default permissions."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask and ignored if it exists
    return path
