"""Sagittal-plane metrics per step, from a side view, computed for all steps at once.

Every metric is taken from the (repaired, smoothed) landmarks at the step's event frames, or over
its stance frames through a padded index matrix, so there is no loop over frames or steps.

Columns (signs and units in the names; "leg" = leg lengths, hip to ankle along thigh and shank):

==========================  ======================================================================
overstride_leg, _cm         horizontal distance of the heel ahead of the same-side hip at IC,
                            along the running direction (Souza 2016; Wille et al. 2014)
shank_angle_deg             shank axis from vertical at IC, + = ankle ahead of the knee; from
                            50 fps read off a hinge fitted to the shank's angle around IC
                            (:func:`gaitlab.fitting.hinge_fit`), at the IC frame below
knee_flexion_ic_deg         knee flexion at IC: hip->knee against the shank, with the knee moved
                            onto the measured shank axis
shank_axis_measured         True when the IC's shank axis was measured from the image
                            (:mod:`gaitlab.image.limbs`), False when it comes from the keypoints
peak_knee_flexion_deg       the most knee flexion between IC and TO (:func:`knee_flexion_series`)
foot_angle_ic_deg           heel->toe above the belt line at IC, relative to the same foot at
                            midstance (flat), + = toes up (Altman & Davis 2012)
foot_strike                 rearfoot / midfoot / forefoot from foot_angle_ic_deg (thresholds in
                            ``data/references.json``)
trunk_lean_deg              hip-midpoint->shoulder-midpoint from vertical, mean over stance,
                            + = leaning forward
vertical_oscillation_leg,   range of the hip midpoint's height from this IC to the next contact
_cm                         of the other foot
leg_length_ratio            the stance leg's hip-knee-ankle length in the image at IC over the
                            runner's leg length (a check: a misplaced keypoint changes it)
==========================  ======================================================================

Lengths in cm need the runner's height (``height_m``): the pixel scale is the measured leg length
in pixels over the leg length expected from stature (thigh + shank = 0.491 x height, Winter 2009).
Angles to the vertical use the image vertical, turned by ``roll_deg`` when the camera's roll is
known; a camera rolled by r degrees shifts shank angle and trunk lean by up to r.

Limb axes: BlazePose places the knee keypoint ahead of the knee joint when the leg is nearly
straight (on rendered runners with exact truth, up to 12 px at 640x480), so a shank angle from the
knee and ankle keypoints read up to 9 deg too vertical at long-legged landings, and knee flexion at
contact too high. The shank direction at IC is therefore taken from the shank's own edges in the
image (:mod:`gaitlab.image.limbs`, measured during the pose pass) where found, and from the keypoints
otherwise (``shank_axis_measured`` says which); the knee is moved onto that axis. Foot angle and overstride use the keypoints.

Shank angle at contact: once the foot is down, the belt turns the shank several degrees per frame
at 60 fps (6-9 deg on rendered runners), so the angle at the contact frame depends on where in
that frame the contact fell. The angle is therefore read where two lines fitted to the shank's
angle over the frames around the contact meet (the end of the swing, and the stance): the
hinge's breakpoint, searched near the contact the events stage found, and the angle there. This
needs two frames each side of the contact within 50 ms, so it applies from 50 fps; at 30 fps the
angle is read at the contact frame (two lines through so few frames of a real runner's rounded
curve met above every angle measured).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..geometry import (angle_to_vertical_deg, flexion_deg, project_onto_line,
                        segment_angle_from_horizontal_deg)
from ..landmarks import Landmarks
from ..fitting import hinge_fit
from ..image.limbs import segment_directions
from ..preprocess import leg_length_px
from ..references import classification, constant

SAGITTAL_COLUMNS = ["overstride_leg", "overstride_cm", "shank_angle_deg", "knee_flexion_ic_deg",
                    "shank_axis_measured", "peak_knee_flexion_deg", "foot_angle_ic_deg", "foot_strike", "trunk_lean_deg",
                    "vertical_oscillation_leg", "vertical_oscillation_cm", "leg_length_ratio"]


def window_index(start: np.ndarray, stop: np.ndarray, n_frames: int):
    """(S, W) frame indices covering start..stop (inclusive) for each step, and a validity mask."""
    start = np.asarray(start, int)
    stop = np.asarray(stop, int)
    width = int(np.max(stop - start, initial=0)) + 1
    idx = start[:, None] + np.arange(max(width, 1))[None, :]
    mask = (idx <= stop[:, None]) & (idx >= 0) & (idx < n_frames) & (stop >= start)[:, None]
    return np.clip(idx, 0, n_frames - 1), mask


#: The shank angle at contact is read off a hinge (two lines meeting at a breakpoint) fitted to the
#: shank's angle over this many seconds either side of the contact found by the events stage.
SHANK_HINGE_HALF_WINDOW_S = 0.05
#: The hinge's breakpoint is searched within this many seconds of that contact (at least one
#: frame either way), in steps of :data:`SHANK_HINGE_GRID_FRAMES`.
SHANK_HINGE_SEARCH_S = 0.02
SHANK_HINGE_GRID_FRAMES = 0.05


def _shank_hinge(lm: Landmarks, steps: pd.DataFrame, kp, forward, down) -> np.ndarray:
    """Shank angle at each step's contact from a hinge fitted to the shank's angle around it (NaN
    where the frames do not allow one): the free swing and the stance, where the planted foot
    turns the shank at the body's pace, meet at the contact."""
    n = lm.n_frames
    position = np.interp(steps.ic_time_s.to_numpy(float), lm.time, np.arange(n))  # fractional frame
    half = SHANK_HINGE_HALF_WINDOW_S * lm.fps
    reach = int(np.ceil(half))
    known = np.isfinite(position)
    frames = np.round(np.where(known, position, 0.0)).astype(int)[:, None] + np.arange(-reach, reach + 1)[None, :]
    inside = known[:, None] & (frames >= 0) & (frames < n) & (np.abs(frames - position[:, None]) <= half)
    frames = np.clip(frames, 0, n - 1)
    knee, ankle = kp("knee", frames), kp("ankle", frames)
    direction, _, _ = segment_directions(lm.frame_signals, "shank", frames, knee, ankle)
    angle = np.where(inside, angle_to_vertical_deg(0.0 * direction, direction, forward, down), np.nan)
    search = max(SHANK_HINGE_SEARCH_S * lm.fps, 1.0)
    grid = np.arange(-search, search + 1e-9, SHANK_HINGE_GRID_FRAMES)
    value, _ = hinge_fit(frames.astype(float), angle, position[:, None] + grid[None, :])
    return value


def _knee_flexion(hip, knee_kp, shank_dir, shank_centre, measured):
    """Knee flexion from the hip keypoint, the knee joint and the shank's direction. Where the shank
    axis was measured the knee joint lies on it: the knee keypoint is moved onto the axis."""
    unit = shank_dir / np.linalg.norm(shank_dir, axis=-1, keepdims=True)
    knee = np.where(measured[..., None], project_onto_line(knee_kp, shank_centre, unit), knee_kp)
    return flexion_deg(hip, knee, knee + shank_dir)


#: Knee flexion through stance is a running median over this many seconds either side of each frame.
KNEE_MEDIAN_HALF_WINDOW_S = 1 / 30


def knee_flexion_series(lm: Landmarks) -> dict[str, np.ndarray]:
    """{side: (T,) knee flexion in every frame}, with the knee moved onto the measured shank axis
    (:func:`_knee_flexion`) and a running median over :data:`KNEE_MEDIAN_HALF_WINDOW_S` either side
    (at least one frame), so that one frame's misplaced keypoint or shank edge does not set a peak.

    Why: from the side, BlazePose places the near knee's keypoint off the joint as the knee bends
    under load. Over 67 side clips no constant was tuned on (``gaitlab validate``), the peak in
    stance from the keypoints alone read the near leg 7.0 deg too flexed (95 % within 14.8 deg);
    with the knee on the shank axis and the running median, bias -1.2, 95 % within 8.2 (far leg:
    10.7 before, 11.0 after, median error 4.9 to 3.6).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    n = lm.n_frames
    frames = np.arange(n)
    half = max(int(round(KNEE_MEDIAN_HALF_WINDOW_S * lm.fps)), 1)
    out = {}
    for side in ("left", "right"):
        hip, knee, ankle = (lm.xy(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        shank_dir, centre, measured = segment_directions(lm.frame_signals, "shank", frames, knee, ankle)
        flex = _knee_flexion(hip, knee, shank_dir, centre, measured)
        padded = np.concatenate([np.full(half, np.nan), flex, np.full(half, np.nan)])
        windows = sliding_window_view(padded, 2 * half + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window with no finite value stays NaN
            out[side] = np.nanmedian(windows, axis=1)
    return out


def sagittal_metrics(lm: Landmarks, steps: pd.DataFrame, facing: int, *, roll_deg: float = 0.0,
                     height_m: float | None = None) -> pd.DataFrame:
    """Per-step sagittal metrics (columns :data:`SAGITTAL_COLUMNS`), one row per row of ``steps``."""
    n = lm.n_frames
    r = np.radians(roll_deg if np.isfinite(roll_deg) else 0.0)
    down = np.array([-np.sin(r), np.cos(r)])
    forward = facing * np.array([np.cos(r), np.sin(r)])
    up = -down
    leg = leg_length_px(lm)
    px_per_m = (leg / (constant("leg_length_fraction_of_height") * height_m)) if height_m else None

    sides = steps.side.to_numpy()
    ic = steps.ic_frame.to_numpy(int)
    to = steps.to_frame.to_numpy(int)
    ms = steps.midstance_frame.to_numpy(int)
    has_to = to >= 0

    is_left = sides == "left"

    def kp(name: str, frames: np.ndarray) -> np.ndarray:
        """The stance side's keypoint at per-step frames (S,) or windows (S, W) -> (..., 2)."""
        frames = np.clip(frames, 0, n - 1)
        left, right = lm.xy(f"left_{name}")[frames], lm.xy(f"right_{name}")[frames]
        sel = is_left.reshape((-1,) + (1,) * (frames.ndim - 1) + (1,))
        return np.where(sel, left, right)

    overstride_px = np.sum((kp("heel", ic) - kp("hip", ic)) * forward, axis=-1)
    overstride_leg = overstride_px / leg[ic]
    overstride_cm = overstride_px / px_per_m[ic] * 100 if px_per_m is not None else np.full(len(steps), np.nan)

    hip_ic, knee_kp, ankle_ic = kp("hip", ic), kp("knee", ic), kp("ankle", ic)
    leg_ratio = (np.linalg.norm(knee_kp - hip_ic, axis=-1) + np.linalg.norm(ankle_ic - knee_kp, axis=-1)) / leg[ic]
    shank_dir, shank_centre, shank_measured = segment_directions(lm.frame_signals, "shank", ic, knee_kp, ankle_ic)
    shank_at_frame = angle_to_vertical_deg(0.0 * shank_dir, shank_dir, forward, down)
    shank_hinge = _shank_hinge(lm, steps, kp, forward, down)
    shank = np.where(np.isfinite(shank_hinge), shank_hinge, shank_at_frame)
    knee_ic = _knee_flexion(hip_ic, knee_kp, shank_dir, shank_centre, shank_measured)

    idx, mask = window_index(ic, np.where(has_to, to, ic), n)
    flex = knee_flexion_series(lm)
    flex_win = np.where(is_left[:, None], flex["left"][idx], flex["right"][idx])
    peak_flex = np.where(has_to, np.nanmax(np.where(mask, flex_win, -np.inf), axis=1), np.nan)

    foot_ic = segment_angle_from_horizontal_deg(kp("heel", ic), kp("foot_index", ic), forward, down)
    foot_ms = segment_angle_from_horizontal_deg(kp("heel", ms), kp("foot_index", ms), forward, down)
    foot_rel = np.where(ms >= 0, foot_ic - foot_ms, np.nan)
    strike = classification("foot_strike").classify(foot_rel)

    shoulders = 0.5 * (lm.xy("left_shoulder") + lm.xy("right_shoulder"))
    pelvis = 0.5 * (lm.xy("left_hip") + lm.xy("right_hip"))
    lean_frames = angle_to_vertical_deg(pelvis, shoulders, forward, up)
    lean = np.where(has_to, np.nanmean(np.where(mask, lean_frames[idx], np.nan), axis=1), np.nan)

    # Vertical oscillation: from this IC to the next IC of the other foot.
    next_ic = np.concatenate([ic[1:], [-1]])
    next_ok = np.concatenate([sides[1:] != sides[:-1], [False]])
    stop = np.where(next_ok, next_ic, ic)
    vidx, vmask = window_index(ic, stop, n)
    height = -np.sum(pelvis * down, axis=-1)  # up is positive
    hwin = np.where(vmask, height[vidx], np.nan)
    vo_px = np.where(next_ok, np.nanmax(hwin, axis=1) - np.nanmin(hwin, axis=1), np.nan)
    vo_leg = vo_px / leg[ic]
    vo_cm = vo_px / px_per_m[ic] * 100 if px_per_m is not None else np.full(len(steps), np.nan)

    out = pd.DataFrame({
        "overstride_leg": overstride_leg,
        "overstride_cm": overstride_cm,
        "shank_angle_deg": shank,
        "knee_flexion_ic_deg": knee_ic,
        "shank_axis_measured": shank_measured,
        "peak_knee_flexion_deg": peak_flex,
        "foot_angle_ic_deg": foot_rel,
        "foot_strike": strike,
        "trunk_lean_deg": lean,
        "vertical_oscillation_leg": vo_leg,
        "vertical_oscillation_cm": vo_cm,
        "leg_length_ratio": leg_ratio,
    }, index=steps.index)
    return out[SAGITTAL_COLUMNS]
