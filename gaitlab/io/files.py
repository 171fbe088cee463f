"""Files at the boundary: what a path is before it is opened, JSON read with limits, and writes
that land complete or not at all.

* :func:`stat_path` and :func:`regular_file` look at a path without opening it, so a named pipe
  (which would block ``open`` forever), a device (``/dev/zero`` never ends), a folder, a symbolic
  link loop or a name longer than the file system allows is refused in one line, with the error
  class of the caller's input (video, landmarks, results folder...).
* :func:`read_json` reads a small JSON document with a size limit and turns every way it can be
  malformed (bad bytes, bad syntax, nesting deep enough to exhaust the parser) into that one line.
* :func:`atomic_write`, :func:`atomic_path` and :func:`temp_sibling` write under a hidden temporary
  name in the target's own folder and rename it into place only when complete, so a full disk or a
  killed process never leaves a truncated file where a complete one was.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Longest file name (one path component, in bytes) that Linux, macOS and Windows file systems allow.
NAME_MAX = 255


def file_sha256(path: str | os.PathLike, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def short(path: str | os.PathLike, limit: int = 80) -> str:
    """A path for a one-line message: long ones keep their start and end."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 1):]}"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return f"a file name in the path is longer than the file system allows ({NAME_MAX} bytes)"
    if exc.errno == errno.ELOOP:
        return "it is a loop of symbolic links"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror.lower() if exc.strerror else str(exc)


def long_name(path: str | os.PathLike) -> str | None:
    """The first component of ``path`` longer than :data:`NAME_MAX` bytes, if any."""
    for part in Path(path).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            return part
    return None


def stat_path(path: str | os.PathLike, error: type, what: str) -> os.stat_result | None:
    """``os.stat`` of ``path`` (following links), or None when nothing is there. Raises ``error``
    (a :class:`~gaitlab.errors.GaitlabError` class) with one line for a name too long, a link loop,
    a folder that cannot be searched and the like; ``what`` names the path in the message."""
    if long_name(path):
        raise error(f"{what} {short(path)}: a file name in the path is longer than the file system allows "
                    f"({NAME_MAX} bytes)", "rename it or choose a shorter name")
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise error(f"cannot use {what} {path}: {_reason(exc)}") from None


def _a(what: str) -> str:
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def kind_of(st: os.stat_result) -> str:
    """'file', 'folder', 'named pipe', 'device', 'socket' or 'special file'."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def regular_file(path: str | os.PathLike, error: type, what: str) -> os.stat_result:
    """The ``os.stat`` of a regular file that can be opened for reading; anything else (missing, a
    folder, a pipe, a device) raises ``error`` with one line before any ``open`` could block."""
    st = stat_path(path, error, what)
    if st is None:
        raise error(f"{what} not found: {path}")
    kind = kind_of(st)
    if kind != "file":
        raise error(f"{path} is a {kind}, not {_a(what)} file")
    try:
        # O_NONBLOCK: should the path have become a pipe since the stat, open still returns at once.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"cannot open {path}: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path} is a {kind_of(st)}, not {_a(what)} file")
    return st


#: Small JSON documents gaitlab writes (results, run records, manifests) stay far below this.
JSON_MAX_BYTES = 64 << 20


def read_json(path: str | os.PathLike, error: type, what: str, max_bytes: int = JSON_MAX_BYTES):
    """The parsed JSON document at ``path`` (``what`` names the kind of file, e.g. "OpenPose JSON");
    ``error`` with one line when it is not a readable
    regular file, larger than ``max_bytes``, not UTF-8, not JSON, or nested too deeply to parse."""
    st = regular_file(path, error, what)
    if st.st_size > max_bytes:
        raise error(f"{Path(path).name} is {st.st_size / 2 ** 20:.0f} MiB, larger than {_a(what)} file can be "
                    f"({max_bytes / 2 ** 20:.0f} MiB)")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
        return json.loads(data.decode("utf-8-sig"))
    except OSError as exc:
        raise error(f"cannot read {path}: {_reason(exc)}") from None
    except RecursionError:
        raise error(f"{Path(path).name} is not a readable {what} file (JSON nested too deeply)") from None
    except ValueError:  # bad UTF-8 or bad JSON
        raise error(f"{Path(path).name} is not a readable {what} file (not valid JSON)") from None


def temp_sibling(path: str | os.PathLike) -> Path:
    """A hidden, unused name in ``path``'s folder that keeps its suffix (writers that choose the
    format by the suffix still work), for writing before :func:`os.replace` onto ``path``."""
    path = Path(path)
    stem = path.stem[:100]
    return path.with_name(f".{stem}.tmp-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of ``path`` (:func:`temp_sibling`) to write to; renamed onto ``path``
    when the block ends without an error, removed whatever happens. A writer that opens files by
    name (a video encoder, a Parquet writer) writes through this one."""
    path = Path(path)
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place: ``path`` holds
    either its old content or the complete new one, never a part."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
