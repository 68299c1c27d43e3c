"""The file handling shared by the writer and the recovery: names, modes, atomic writes, hashes.

Every file of a recording is created by this process with mode 0600 and never overwritten in
place; finished files become 0400. Small JSON files (sidecar, manifest) are replaced atomically
(temporary file + ``rename``) so a crash leaves either the old or the new content, never half.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

PART_SUFFIX = ".part.json"
MANIFEST_SUFFIX = ".manifest.json"
LOGGED_SUFFIX = ".logged"
TMP_SUFFIX = ".tmp"
WRITING_MODE = 0o600
CLOSED_MODE = 0o400
_CHUNK = 1 << 20
# O_NOFOLLOW: a symlink planted under a recording's name must not redirect the write.
_CREATE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def create_exclusive(path: Path, mode: int = WRITING_MODE) -> int:
    """Create ``path`` (FileExistsError if anything is there) and return its fd for writing."""
    return os.open(path, _CREATE_FLAGS, mode)


def json_bytes(obj: Any) -> bytes:
    """Sorted, compact UTF-8 JSON: the same bytes for the same content."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def write_atomic(path: Path, data: bytes, mode: int, *, durable: bool) -> None:
    """Replace ``path`` with ``data`` in one rename; ``durable`` also survives a power cut.

    A process crash (SIGKILL) cannot tear a rename, so the sidecar updates on the live path skip
    the fsyncs; manifests are fsynced, file and directory, because they are final.
    """
    tmp = path.with_name(path.name + TMP_SUFFIX)
    tmp.unlink(missing_ok=True)  # left by a crash between create and rename: ours to discard
    fd = create_exclusive(tmp)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make the names created, renamed or removed in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in 1 MiB chunks so memory stays flat."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class FdWriter:
    """The file object PyAV writes through: every ``write`` reaches the kernel before returning.

    A buffered Python file would hold the last cluster in user space, where a SIGKILL loses it;
    a raw ``FileIO`` may write short, and FFmpeg ignores the count a write callback returns.
    So this loops over ``os.write`` on an fd the writer keeps (for fsync and the lock).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.closed = False

    def write(self, data: bytes) -> int:
        """Write all of ``data``; return its length."""
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the write position (the muxer seeks back only in its trailer)."""
        return os.lseek(self.fd, offset, whence)

    def tell(self) -> int:
        """The current write position."""
        return os.lseek(self.fd, 0, os.SEEK_CUR)

    def seekable(self) -> bool:
        """Regular files are seekable: the trailer can fill in duration and cues."""
        return True

    def writable(self) -> bool:
        """Always writable until the writer closes its fd."""
        return not self.closed

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        """Close the fd (and so release its lock); PyAV never calls this, the writer does."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)
