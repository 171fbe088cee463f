"""Errors that reach the user as one line and an exit code.

Every failure a user can cause (a bad video, no runner in view, an output folder that exists) raises
a :class:`GaitlabError` subclass. The command-line interface prints ``gaitlab: error: <message>`` and
exits with the class's code; library users catch the exception. Anything else is a bug.
"""

from __future__ import annotations


class GaitlabError(Exception):
    """Base class: a problem the user can act on, described in one line."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = self.message if not self.hint else f"{self.message} ({self.hint})"
        return " ".join(text.split())


class UsageError(GaitlabError):
    """Arguments that do not fit together."""

    exit_code = 2


class VideoError(GaitlabError):
    """The file cannot be read as a usable video: missing, empty, not a video, corrupt, truncated."""

    exit_code = 3


class AnalysisError(GaitlabError):
    """The video plays but cannot be analysed: no runner, a crowd, walking, too few steps, wrong view."""

    exit_code = 4


class OutputError(GaitlabError):
    """Results cannot be written where asked, or would replace something that is not gaitlab's."""

    exit_code = 5


class LandmarksFileError(GaitlabError):
    """A saved landmarks file is missing, unreadable or not gaitlab's format."""

    exit_code = 6


#: Exit code after Ctrl-C (128 + SIGINT), the shell convention.
INTERRUPTED_EXIT_CODE = 130


class Interrupted(KeyboardInterrupt):
    """A stop asked for from outside: Ctrl-C, or SIGTERM / SIGHUP, which the command turns into the
    same clean stop (whatever was half-written is removed). Exit code 128 + the signal's number
    (130, 143, 129); ``message`` is the line the user sees."""

    def __init__(self, signum: int = 2, message: str | None = None):
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
        self.message = message
