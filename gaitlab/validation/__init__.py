"""Comparing gaitlab's output with ground truth: synthetic truth files (gaitlab's own renderer and an
independent one) and hand-marked real clips.

* :mod:`.truth`: truth files of every supported format, read into one shape (:class:`ClipTruth`);
* :mod:`.compare`: one clip's events, steps and printed values against its truth;
* :mod:`.run`: ``gaitlab validate`` over whole truth sets, with the error tables;
* :mod:`.agreement`: landmark-level agreement and per-step matching for the test suite and notebooks.

Every function returns numbers (error figures), not pass/fail.
"""

from .agreement import (EXACT_TRUTH, VALIDATED_METRICS, landmark_agreement, leg_length_px, match_steps,
                        metric_errors, truth_points)
from .truth import ClipTruth, find_truths, load_clip_truth

__all__ = ["ClipTruth", "find_truths", "load_clip_truth", "landmark_agreement", "leg_length_px", "match_steps",
           "metric_errors", "truth_points", "VALIDATED_METRICS", "EXACT_TRUTH", "validate"]


def validate(truth_sets, out, **kwargs):
    """Run the whole pipeline on every clip of the truth sets; see :func:`gaitlab.validation.run.validate`."""
    from .run import validate as run

    return run(truth_sets, out, **kwargs)
