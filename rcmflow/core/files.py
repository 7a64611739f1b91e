"""Reading a file a user names (`--attach`, `--set-file`): only a regular file, and
only up to a limit, read in chunks so that no file can exhaust memory or block."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rcmflow.errors import BadInput
from rcmflow.language import _

CHUNK = 1024 * 1024


def mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


def read_limited(path: str | Path, limit: int, what: str = "attachment") -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them; anything else (a
    device such as /dev/zero, a pipe, a folder, a file over the limit) is one BadInput
    line naming the file and the limit. A FIFO is opened without waiting for a writer."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise BadInput(_("cannot read {what} {path}: {error}").format(
            what=what, path=repr(shown), error=exc.strerror or exc)) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(_("cannot read {what} {path}: not a regular file (a device, a pipe or a folder); "
                             "give a file of up to {limit}").format(what=what, path=repr(shown), limit=mib(limit)))
        if info.st_size > limit:
            raise BadInput(_("{what} {name} is {size:,} bytes; the limit is {limit}").format(
                what=what, name=Path(shown).name, size=info.st_size, limit=mib(limit)))
        chunks, size = [], 0
        while size <= limit:  # a file that grows while it is read stops at limit + 1 bytes
            chunk = handle.read(min(CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > limit:
        raise BadInput(_("{what} {name} is over the limit of {limit}").format(
            what=what, name=Path(shown).name, limit=mib(limit)))
    return b"".join(chunks)


#: the largest file `--attach` and `--set-file` take
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def read_attachment(path: Path) -> tuple[str, bytes]:
    """Read a file given with `--attach`: a regular file of up to MAX_ATTACHMENT_BYTES,
    read in chunks; anything else is refused with one line."""
    return path.name, read_limited(path, MAX_ATTACHMENT_BYTES, "attachment")
