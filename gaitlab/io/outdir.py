"""Results folders that are written completely or not at all.

Everything goes into a hidden sibling ``.NAME.partial-PID`` first and is renamed to ``NAME`` only when
the run succeeds, so an interrupted or failed run never leaves half-written results that look
complete, and never touches what was there before. ``--overwrite`` replaces only a folder that
gaitlab itself wrote (it holds ``run.json``), never an unrelated folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import OutputError

RUN_RECORD = "run.json"


def is_results_dir(path: Path) -> bool:
    try:
        record = json.loads((path / RUN_RECORD).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and "gaitlab_version" in record


class ResultsDir:
    """Context manager: ``with ResultsDir(out, overwrite) as tmp: write into tmp; then commit()``."""

    def __init__(self, out: str | os.PathLike, *, overwrite: bool = False, protect=()):
        self.out = Path(out).absolute()
        self.overwrite = overwrite
        self.protect = [Path(p).absolute() for p in protect]
        self.tmp: Path | None = None
        self.committed = False

    def check(self) -> None:
        """Raise :class:`OutputError` if the results cannot or must not be written to ``out``."""
        out = self.out
        for p in self.protect:
            if p == out or out in p.parents:
                raise OutputError(f"the input {p.name} is inside the output folder {out}; choose another --out")
        if out.exists() and not out.is_dir():
            raise OutputError(f"--out {out} is a file, not a folder")
        if out.is_dir() and any(out.iterdir()):
            if not self.overwrite:
                raise OutputError(f"output folder {out} already exists", "use --overwrite to replace it")
            if not is_results_dir(out):
                raise OutputError(f"output folder {out} exists and was not written by gaitlab; not replacing it")
        parent = out.parent
        if not parent.is_dir():
            raise OutputError(f"cannot write to {out}: the folder {parent} does not exist")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to {out}: permission denied")

    def __enter__(self) -> Path:
        self.check()
        tmp = self.out.parent / f".{self.out.name}.partial-{os.getpid()}"
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
        except OSError as exc:
            raise OutputError(f"cannot write to {self.out}: {exc.strerror or exc}") from None
        self.tmp = tmp
        return tmp

    def commit(self) -> Path:
        """Move the finished results into place (replacing an earlier gaitlab run if allowed)."""
        assert self.tmp is not None
        self.check()
        old = None
        try:
            if self.out.exists():
                old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
                os.replace(self.out, old)
            os.replace(self.tmp, self.out)
        except OSError as exc:
            if old is not None and not self.out.exists():
                os.replace(old, self.out)
            raise OutputError(f"cannot write to {self.out}: {exc.strerror or exc}") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.committed = True
        return self.out

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.committed and self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
