"""Native libraries' log lines kept off the terminal, Python's own messages kept on it."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

_lock = threading.Lock()
_depth = 0
_state: tuple | None = None  # (saved fd 2, Python's stderr before, the stream on the real stderr)


@contextlib.contextmanager
def native_stderr_silenced():
    """Hide what native libraries print on file descriptor 2 (TensorFlow Lite, absl and FFmpeg log lines).

    File descriptor 2 points at /dev/null inside the block, while Python's ``sys.stderr`` is swapped
    for a stream on the real stderr, so progress bars and messages written from Python still show.
    Blocks nest and may overlap across threads: the first to enter silences, the last to leave
    restores.
    """
    global _depth, _state
    with _lock:
        _depth += 1
        if _depth == 1:
            _state = _silence()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _state is not None:
                _restore(*_state)
                _state = None


def _silence() -> tuple | None:
    try:
        saved = os.dup(2)
    except OSError:
        return None
    old_stderr = sys.stderr
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    real = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(old_stderr, "encoding", None) or "utf-8",
                     errors="replace")
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    sys.stderr = real
    return saved, old_stderr, real


def _restore(saved: int, old_stderr, real) -> None:
    sys.stderr = old_stderr
    try:
        real.flush()
    finally:
        real.close()
        os.dup2(saved, 2)
        os.close(saved)
