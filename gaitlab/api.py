"""gaitlab from Python: the same stages as the command line, one function each.

>>> import gaitlab.api as gl
>>> lm = gl.estimate_pose("run.mp4")                   # BlazePose on every frame (needs mediapipe)
>>> gl.save_landmarks(lm, "run.landmarks.parquet")     # ... and later, anywhere, without mediapipe:
>>> lm = gl.load_landmarks("run.landmarks.parquet")
>>> view = gl.detect_view(lm)
>>> clean = gl.clean_landmarks(lm, view)
>>> events = gl.detect_events(clean, view)             # one row per event
>>> steps = gl.build_steps(events, view)               # one row per step, invalid ones flagged
>>> metrics = gl.compute_metrics(clean, steps, view, height_m=1.78)
>>> result = gl.analyze("run.mp4", height_m=1.78)      # all of the above, with checks and summary
>>> result.summary                                     # per metric and side
>>> result.save("results/"); gl.AnalysisResult.load("results/")
>>> gl.write_report([result], ["run.mp4"], "results/")

Every table is a pandas DataFrame with units in its column names (see :mod:`gaitlab.steps`,
:mod:`gaitlab.metrics.sagittal`, :mod:`gaitlab.metrics.frontal`, :mod:`gaitlab.summary`).
:func:`tidy_tables` turns many results into one long table for a whole study.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .analysis import analyze_landmarks, clean_landmarks
from .config import AnalysisConfig, RunnerInfo
from .landmarks import Landmarks
from .result import AnalysisResult
from .steps import build_steps as _build_steps
from .summary import summarize
from .views import View, detect_view

__all__ = ["validate", "estimate_pose", "load_landmarks", "save_landmarks", "detect_view", "clean_landmarks", "detect_events",
           "build_steps", "compute_metrics", "summarize", "analyze", "analyze_landmarks", "write_report",
           "tidy_tables", "AnalysisResult", "AnalysisConfig", "RunnerInfo", "Landmarks", "View"]


def estimate_pose(video: str | Path, model: str | None = None, progress=None) -> Landmarks:
    """BlazePose on every frame of ``video`` (see :func:`gaitlab.pose.estimate.estimate_pose`)."""
    from .pose.estimate import PoseConfig, estimate_pose as run

    return run(str(video), PoseConfig(model=model), progress=progress)


def load_landmarks(path: str | Path, fps: float | None = None) -> Landmarks:
    """Landmarks saved by gaitlab (Parquet), a movement NetCDF file, or keypoints of OpenPose (a
    folder) or AlphaPose (a .json file), which need the clip's ``fps``; needs no mediapipe."""
    return Landmarks.load(path, fps=fps)


def save_landmarks(lm: Landmarks, path: str | Path) -> Path:
    return lm.save(path)


def detect_events(clean: Landmarks, view: View) -> pd.DataFrame:
    """Initial contacts, toe-offs and midstances (see :mod:`gaitlab.events`) of cleaned landmarks."""
    from .events import detect_events_frontal, detect_events_side, rhythm

    stride_s = 120.0 / rhythm(clean, view)["cadence_spm"]
    if view.kind == "side":
        return detect_events_side(clean, view.facing, stride_s)
    return detect_events_frontal(clean, stride_s)


def build_steps(events: pd.DataFrame, view: View) -> pd.DataFrame:
    """The steps table: timed by initial contacts from the side, by midstances from behind or in front."""
    return _build_steps(events, "initial_contact" if view.kind == "side" else "midstance")


def compute_metrics(clean: Landmarks, steps: pd.DataFrame, view: View, *, height_m: float | None = None) -> pd.DataFrame:
    """Per-step metrics for the view: sagittal from the side, frontal from behind or in front
    (with the pelvis measurement recorded during pose estimation)."""
    from .analysis import frontal_stage
    from .metrics.sagittal import sagittal_metrics

    if view.kind == "side":
        return sagittal_metrics(clean, steps, view.facing, height_m=height_m)
    return frontal_stage(clean, steps, view)[0]


def analyze(video: str | Path | None = None, *, landmarks: str | Path | None = None, height_m: float | None = None,
            speed_kmh: float | None = None, name: str | None = None, capture_fps: float | None = None,
            model: str | None = None) -> AnalysisResult:
    """Pose (unless ``landmarks`` are given) and every analysis stage of one clip, in memory."""
    from .pipeline import analyze_clip
    from .pose.estimate import PoseConfig

    result, _ = analyze_clip(str(video) if video else None, landmarks=str(landmarks) if landmarks else None,
                             pose_config=PoseConfig(model=model),
                             runner=RunnerInfo(name=name, height_m=height_m, speed_kmh=speed_kmh),
                             config=AnalysisConfig(capture_fps=capture_fps))
    return result


def write_report(results: list[AnalysisResult], names: list[str], folder: str | Path, **kwargs):
    """The clinician report (HTML, PDF; overlay video with ``overlay=True``) of one session."""
    from .report import write_report as run

    Path(folder).mkdir(parents=True, exist_ok=True)
    return run(results, names, folder, **kwargs)


def tidy_tables(results: dict[str, AnalysisResult]) -> dict[str, pd.DataFrame]:
    """One long table per kind over many clips: ``steps`` and ``summary``, each with a ``clip``
    column first, from ``{clip name: result}``."""
    steps = [r.steps.assign(clip=name, view=r.view.get("kind")) for name, r in results.items()]
    summary = [r.summary.assign(clip=name, view=r.view.get("kind")) for name, r in results.items()]

    def first(df):
        return df[["clip", "view"] + [c for c in df.columns if c not in ("clip", "view")]]

    return {"steps": first(pd.concat(steps, ignore_index=True)) if steps else pd.DataFrame(),
            "summary": first(pd.concat(summary, ignore_index=True)) if summary else pd.DataFrame()}


def validate(truth_sets, out: str | Path, **kwargs) -> dict:
    """Run every clip of truth sets (folders or truth files of gaitlab's, the independent renderer's
    or hand-marked formats) through the whole pipeline and write the error tables into ``out``;
    returns them as DataFrames (see :func:`gaitlab.validation.run.validate`)."""
    from .validation import validate as run

    return run(truth_sets, out, **kwargs)
