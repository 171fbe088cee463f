"""Versions of everything that shapes a result, for run records and ``gaitlab info``."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from . import __version__

PACKAGES = ("mediapipe", "opencv-contrib-python", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "av")


def versions() -> dict:
    out = {"gaitlab": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
