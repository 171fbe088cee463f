"""From landmarks to results: view, cleaning, events, steps, per-step metrics, checks of the gait.

:func:`analyze_landmarks` is the library entry point after pose estimation; it needs no video and
no MediaPipe, so saved landmarks can be re-analysed anywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import AnalysisConfig, RunnerInfo
from .errors import AnalysisError
from .events import detect_events_frontal, detect_events_side, spectral_cadence_spm
from .landmarks import Landmarks
from .metrics.sagittal import sagittal_metrics
from .preprocess import fill_and_smooth, repair_leg_swaps
from .references import constant
from .result import AnalysisResult
from .steps import build_steps
from .views import View, detect_view


def apply_capture_fps(lm: Landmarks, capture_fps: float | None) -> Landmarks:
    """Rescale time for a slow-motion clip: the file plays at its container rate, the phone filmed at
    ``capture_fps``. Frame times are multiplied by container fps / capture fps."""
    if not capture_fps:
        return lm
    container = lm.fps
    factor = container / capture_fps
    attrs = dict(lm.attrs)
    attrs["time_scale"] = {"capture_fps": capture_fps, "container_fps": container, "factor": factor}
    return lm.replace(time=lm.time * factor, attrs=attrs)


def cadence_from_steps(steps: pd.DataFrame) -> dict:
    """Cadence (steps/min), overall and per stance side.

    Overall: the slope of contact time against step number, fitted by least squares over every
    valid contact, where each contact's step number is its time over the step period, rounded
    (starting from the mean step time, refined three times).
    With no contact missed this equals (last IC - first IC) / (number of steps); a missed contact
    leaves a gap in the numbering instead of a doubled step time. Per side: 60 / the mean step time
    of that side's valid steps (the step ending with that foot's contact).
    """
    out = {"both": float("nan"), "left": float("nan"), "right": float("nan")}
    ok = steps.valid & np.isfinite(steps.step_time_s)
    if not ok.any():
        return out
    period = float(steps.step_time_s[ok].mean())
    t = steps.ic_time_s[steps.valid].to_numpy(float)
    if t.size >= 3:
        for _ in range(3):  # number the steps, refit the period, renumber
            k = np.round((t - t[0]) / period)
            period = float(np.polyfit(k, t, 1)[0])
    out["both"] = 60.0 / period
    for side in ("left", "right"):
        sel = ok & (steps.side == side)
        if sel.any():
            out[side] = 60.0 / float(steps.step_time_s[sel].mean())
    return out


def check_gait(steps: pd.DataFrame, cadence: float, view: View, config: AnalysisConfig, fps: float) -> None:
    """Refuse clips that are not steady running: too few steps, walking, or unexplained slow motion."""
    valid = steps[steps.valid]
    n_side = valid.side.value_counts()
    if len(valid) < 4 or min(n_side.get("left", 0), n_side.get("right", 0)) < 2:
        raise AnalysisError(
            f"too few steps to analyse: {len(valid)} usable foot contacts found",
            "film at least 10 seconds of steady running with the whole body in view",
        )
    flight = valid.flight_time_s.dropna()
    if flight.size and np.mean(flight <= 0) >= constant("walking_min_double_support"):
        raise AnalysisError(
            f"this looks like walking, not running: both feet are on the ground together in "
            f"{np.mean(flight <= 0):.0%} of steps (cadence {cadence:.0f} steps/min)",
            "gaitlab analyses running, which has a flight phase",
        )
    if cadence < constant("running_min_cadence_spm") and not config.capture_fps:
        raise AnalysisError(
            f"cadence {cadence:.0f} steps/min is too low for running: the clip looks like slow motion "
            f"(the file plays at {fps:.0f} fps)",
            "give the frame rate the phone filmed at, e.g. --capture-fps 240",
        )


def analyze_landmarks(lm: Landmarks, runner: RunnerInfo = RunnerInfo(),
                      config: AnalysisConfig = AnalysisConfig()) -> AnalysisResult:
    """Run every stage after pose estimation and return an :class:`AnalysisResult`.

    Raises :class:`~gaitlab.errors.AnalysisError` when the clip cannot give trustworthy numbers
    (frame rate too low, no runner, an oblique camera, too few steps, walking, slow motion).
    """
    lm = apply_capture_fps(lm, config.capture_fps)
    fps = lm.fps
    if not np.isfinite(fps) or fps < constant("min_fps"):
        raise AnalysisError(f"the frame rate ({fps:.0f} fps) is too low for running analysis",
                            f"film at {constant('timing_min_fps'):.0f} fps, or at least 30 fps")
    if lm.detected.sum() < 10:
        raise AnalysisError("the runner is visible in too few frames to analyse")
    view = detect_view(lm)
    if view.kind == "oblique":
        raise AnalysisError("the camera films the runner at an angle (neither side-on nor from behind or in front)",
                            "film side-on for sagittal metrics, or from directly behind for pelvic drop and knee valgus")
    clean = fill_and_smooth(repair_leg_swaps(lm, view))
    if view.kind == "side":
        events = detect_events_side(clean, view.facing)
    else:
        events = detect_events_frontal(clean)
    if events.empty:
        raise AnalysisError("no running steps found in the clip",
                            "film at least 10 seconds of steady running with the feet in view")
    steps = build_steps(events)
    cadence = cadence_from_steps(steps)
    check_gait(steps, cadence["both"], view, config, fps)

    quality = {"fps": fps, "view": view.to_dict(), "detected_fraction": float(lm.detected.mean())}
    if view.kind == "side":
        metrics = sagittal_metrics(clean, steps, view.facing, height_m=runner.height_m)
    else:
        from .metrics.frontal import frontal_metrics
        metrics, frontal_quality = frontal_metrics(clean, steps, view)
        quality.update(frontal_quality)
    quality["cadence_spectral_spm"] = spectral_cadence_spm(clean, view)
    table = pd.concat([steps, metrics], axis=1)
    return AnalysisResult(landmarks=lm, view=view.to_dict(), events=events, steps=table,
                          cadence=cadence, quality=quality, runner=runner.to_dict(), config=config.to_dict())
