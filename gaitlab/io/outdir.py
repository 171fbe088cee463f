"""Results folders that are written completely or not at all, and replaced only when gaitlab owns
every file in them.

Everything goes into a hidden sibling ``.NAME.partial-PID-XXXXXX`` first and is renamed to ``NAME``
only when the run succeeds, so an interrupted or failed run never leaves half-written results that
look complete, and never touches what was there before. The finished folder holds
``manifest.json``: every file gaitlab wrote into it, with its size and sha256.

``--overwrite`` replaces a folder only when everything in it is listed in its manifest, unchanged
(same size and sha256); a folder without a manifest, or holding anything else (a file the user
added or edited, a link, a folder of screenshots), is refused with the first such file named, and
nothing is deleted. After the new results are in place, the old folder's listed files are removed
one by one; should anything unlisted have appeared in the meantime it is kept, in a folder beside.

Paths are resolved (``..``, symbolic links) before any of these checks, and folders are compared by
device and inode, so an input named through ``..`` or a link, or on a case-insensitive file system,
is still recognised as inside the folder that would be replaced; the folder the command runs in is
never replaced either.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import socket
import stat
import time
from pathlib import Path

from ..errors import OutputError
from .files import atomic_write, file_sha256, kind_of, read_json, short, stat_path

RUN_RECORD = "run.json"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "gaitlab-manifest"
MANIFEST_VERSION = 1
#: Inside a partial folder while it is being written: who writes it (host and process).
PARTIAL_MARK = ".gaitlab-partial"
_PARTIAL = re.compile(r"\.partial-(\d+)")


def _entry(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": file_sha256(path)}


def write_manifest(folder: str | os.PathLike) -> Path:
    """List every regular file under ``folder`` (but the manifest itself) with size and sha256."""
    folder = Path(folder)
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if rel != MANIFEST and stat.S_ISREG(os.lstat(p).st_mode):
                files[rel] = _entry(p)
    doc = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "files": files}
    return atomic_write(folder / MANIFEST, json.dumps(doc, indent=1))


def update_manifest(folder: str | os.PathLike, paths) -> None:
    """Record (or re-record) ``paths`` (files inside ``folder``) in its manifest, if it has one."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return
    for p in paths:
        manifest[Path(p).resolve().relative_to(folder.resolve()).as_posix()] = _entry(Path(p))
    doc = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "files": dict(sorted(manifest.items()))}
    atomic_write(folder / MANIFEST, json.dumps(doc, indent=1))


def _safe_relative(rel) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel or rel.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def read_manifest(folder: str | os.PathLike) -> dict[str, dict] | None:
    """``{relative path: {"bytes", "sha256"}}`` from ``folder``'s manifest; None when there is none
    or it is not a well-formed gaitlab manifest (every path inside the folder, every hash 64 hex)."""
    path = Path(folder) / MANIFEST
    try:
        doc = read_json(path, OutputError, "manifest")
    except OutputError:
        return None
    if not (isinstance(doc, dict) and doc.get("format") == MANIFEST_FORMAT and isinstance(doc.get("files"), dict)):
        return None
    files = doc["files"]
    for rel, entry in files.items():
        if not (_safe_relative(rel) and isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
                and isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])):
            return None
    return files


def foreign_file(folder: Path, manifest: dict[str, dict]) -> tuple[str, str] | None:
    """The first thing under ``folder`` gaitlab did not write, as (relative path, why), or None.
    Listed files must be regular files of the recorded size and sha256; folders may hold only
    such files; links, pipes and anything unlisted are foreign."""
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(dirs) + sorted(names):
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            mode = os.lstat(p).st_mode
            if stat.S_ISDIR(mode) or rel == MANIFEST:
                continue
            if not stat.S_ISREG(mode) or rel not in manifest:
                return rel, "which gaitlab did not write"
            entry = manifest[rel]
            if os.lstat(p).st_size != entry["bytes"] or file_sha256(p) != entry["sha256"]:
                return rel, "changed since gaitlab wrote it"
    return None


def _chain(path: Path):
    """``path`` and every folder above it."""
    yield path
    yield from path.parents


def contains(folder: Path, path: Path) -> bool:
    """True when ``path`` is ``folder`` or lies inside it, by device and inode (links, ``..`` and
    case-insensitive names cannot hide it). Both are resolved paths."""
    try:
        target = os.stat(folder)
    except OSError:
        return False
    for p in _chain(path):
        try:
            if os.path.samestat(os.stat(p), target):
                return True
        except OSError:
            continue
    return False


def remove_stale_partials(folder: Path, name: str = "*") -> None:
    """Remove hidden ``.NAME.partial-*`` folders in ``folder`` left by gaitlab runs on this host
    that were killed (their process is gone). Only folders holding gaitlab's partial mark are
    touched, and only when the mark names this host."""
    host = socket.gethostname()
    for p in folder.glob(f".{name}.partial-*"):
        m = _PARTIAL.search(p.name)
        try:
            mark = (p / PARTIAL_MARK).read_text().split()
        except (OSError, ValueError):
            continue
        if not m or len(mark) != 2 or mark != [host, m.group(1)]:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except (PermissionError, OverflowError, ValueError):
            pass


class ResultsDir:
    """Context manager: ``with ResultsDir(out, overwrite) as tmp: write into tmp; commit()``.

    ``protect``: inputs (videos, landmarks files, an earlier session's folder) that must never be
    inside the folder replaced. An ``OSError`` while writing (a full disk, a read-only or vanished
    folder) leaves nothing behind and becomes an :class:`~gaitlab.errors.OutputError`.
    """

    def __init__(self, out: str | os.PathLike, *, overwrite: bool = False, protect=()):
        self.shown = Path(os.path.abspath(out))  # as the user named it, for messages
        self.overwrite = overwrite
        self.protect = [Path(p) for p in protect]
        self.tmp: Path | None = None
        self.committed = False
        self._manifest: dict | None = None

    @property
    def out(self) -> Path:
        """The folder written, links and ``..`` resolved (so a link to a folder writes into the
        folder it points at and stays a link)."""
        return self.shown.resolve()

    def check(self) -> None:
        """Raise :class:`OutputError` if the results cannot or must not be written to ``out``."""
        try:
            self._check()
        except OSError as exc:
            raise OutputError(f"cannot write to {short(self.shown)}: {describe(exc)}") from None

    def _check(self) -> None:
        shown = self.shown
        st = stat_path(shown, OutputError, "--out")
        out = self.out
        if st is not None:
            for p in self.protect:
                resolved = Path(os.path.abspath(p)).resolve()
                if contains(out, resolved):
                    where = "is" if contains(resolved, out) else "is inside"
                    raise OutputError(f"the input {p.name} {where} the output folder {shown}; choose another --out")
            if contains(out, Path.cwd()):
                raise OutputError(f"--out {shown} is the folder this command runs in (or holds it); "
                                  "gaitlab never replaces it", "choose a new folder for the results")
            if not stat.S_ISDIR(st.st_mode):
                raise OutputError(f"--out {shown} is a {kind_of(st)}, not a folder")
            self._manifest = None
            if any(out.iterdir()):
                if not self.overwrite:
                    raise OutputError(f"output folder {shown} already exists", "use --overwrite to replace it")
                manifest = read_manifest(out)
                if manifest is None:
                    raise OutputError(f"output folder {shown} exists and was not written by gaitlab; not replacing it")
                foreign = foreign_file(out, manifest)
                if foreign is not None:
                    raise OutputError(f"output folder {shown} holds {foreign[0]}, {foreign[1]}; not replacing it",
                                      "move that file out of the folder, or choose another --out")
                self._manifest = manifest
        parent = out.parent
        if not parent.is_dir():
            kind = "is a file" if parent.exists() else "does not exist"
            raise OutputError(f"cannot write to {shown}: the folder {shown.parent} {kind}")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to {shown}: permission denied")

    def __enter__(self) -> Path:
        self.check()
        out = self.out
        remove_stale_partials(out.parent, glob_escape(out.name))
        tmp = out.parent / f".{out.name[:100]}.partial-{os.getpid()}-{secrets.token_hex(3)}"
        try:
            tmp.mkdir()
            (tmp / PARTIAL_MARK).write_text(f"{socket.gethostname()} {os.getpid()}\n")
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError(f"cannot write to {short(self.shown)}: {describe(exc)}") from None
        self.tmp = tmp
        return tmp

    def commit(self) -> Path:
        """Move the finished results into place (replacing an earlier gaitlab run if allowed)."""
        assert self.tmp is not None
        self.check()
        out, old = self.out, None
        (self.tmp / PARTIAL_MARK).unlink()
        write_manifest(self.tmp)
        try:
            if self._manifest is not None:  # gaitlab's earlier results, checked just now: moved aside
                old = out.parent / f".{out.name[:100]}.old-{os.getpid()}-{secrets.token_hex(3)}"
                os.replace(out, old)
            # Onto nothing or an empty folder; a folder another run filled meanwhile makes this fail.
            os.replace(self.tmp, out)
        except OSError as exc:
            if old is not None and not out.exists():
                os.replace(old, out)
            elif old is not None:  # another run put its results there meanwhile: the old ones were replaced anyway
                _remove_listed(old, self._manifest or {}, out)
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise OutputError(f"cannot write to {short(self.shown)}: another gaitlab run wrote it at the same time",
                                  "run again with --overwrite to replace its results") from None
            raise OutputError(f"cannot write to {short(self.shown)}: {describe(exc)}") from None
        self.committed = True
        if old is not None:
            _remove_listed(old, self._manifest or {}, out)
        return out

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed and self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write the results to {short(self.shown)}: {describe(exc)}") from None


def describe(exc: OSError) -> str:
    return exc.strerror.lower() if getattr(exc, "strerror", None) else str(exc)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def _remove_listed(old: Path, manifest: dict[str, dict], out: Path) -> None:
    """Delete the files of a replaced results folder that its manifest lists, then its emptied
    folders. Anything else (it can only have appeared after the check) is kept, beside ``out``."""
    for rel in list(manifest) + [MANIFEST]:
        p = old / rel
        try:
            if stat.S_ISREG(os.lstat(p).st_mode):
                p.unlink()
        except OSError:
            pass
    for root, dirs, _ in sorted(os.walk(old, topdown=False), key=lambda r: -len(r[0])):
        try:
            os.rmdir(root)
        except OSError:
            pass
    if old.exists():
        kept = out.parent / f"{out.name[:100]}.kept-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            os.replace(old, kept)
        except OSError:
            pass
