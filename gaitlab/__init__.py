"""gaitlab: running gait analysis from one phone video.

Stages, each usable on its own (see :mod:`gaitlab.api`): video -> pose (landmarks) -> gait events ->
steps -> per-step metrics -> per-side summary -> clinician report.
"""

__version__ = "0.1.0"
