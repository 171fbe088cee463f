"""Key frames: for each side, the frames of the most typical step where something is measured, from
the real video, with the skeleton and the measured angle or distance drawn where it was measured:
from the side the initial contact (overstride, shank angle) and midstance (knee flexion); from
behind or in front the midstance (pelvis line) and the deepest knee bend (knee angle).

The skeleton drawn is the cleaned landmarks the metrics were computed from, so what the clinician
sees is what was measured. When the video is not at hand (results re-analysed from landmarks on
another machine), the skeleton is drawn on a plain background and the caption says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..references import data as reference_data
from ..schema import SKELETON_EDGES
from .content import SIDES_MAY_BE_SWAPPED, value_text

#: Key frames are cropped around the runner and scaled to this height (pixels).
KEYFRAME_HEIGHT = 360
#: Colours (BGR) of the runner's left and right side, and of measurements.
LEFT_BGR, RIGHT_BGR, MEASURE_BGR, CENTRE_BGR = (235, 140, 30), (40, 120, 250), (60, 220, 60), (230, 230, 230)

#: Joints marked with a dot on the skeleton.
JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")

#: The metrics that decide which step is typical, per view.
TYPICAL_METRICS = {"side": ("overstride_leg", "shank_angle_deg", "knee_flexion_ic_deg", "peak_knee_flexion_deg"),
                   "rear": ("pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg"),
                   "front": ("pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg")}


#: The events shown per view: the ones with a measurement drawn.
KEY_EVENTS = {"side": ("initial_contact", "midstance"), "rear": ("midstance", "deepest_knee"),
              "front": ("midstance", "deepest_knee")}


@dataclass
class KeyFrame:
    side: str
    event: str          # initial_contact, midstance, toe_off
    frame: int          # position on the landmarks' time axis
    time_s: float
    step: int
    image_jpeg: bytes
    caption: str
    from_video: bool


def typical_step(steps: pd.DataFrame, side: str, view: str) -> dict | None:
    """The valid step of ``side`` whose metrics are jointly closest to the side's medians (sum of
    absolute deviations in units of each metric's interquartile range)."""
    mine = steps[steps.valid & (steps.side == side) & (steps.to_frame >= 0) & (steps.midstance_frame >= 0)]
    if mine.empty:
        return None
    score = np.zeros(len(mine))
    for metric in TYPICAL_METRICS.get(view, ()):
        if metric not in mine.columns:
            continue
        v = mine[metric].astype(float).to_numpy()
        if not np.isfinite(v).any():
            continue
        med = np.nanmedian(v)
        iqr = np.subtract(*np.nanpercentile(v, [75, 25])) or 1.0
        score += np.where(np.isfinite(v), np.abs(v - med) / max(iqr, 1e-6), 3.0)
    return mine.iloc[int(np.argmin(score))].to_dict()


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _label(img, text, org, colour=MEASURE_BGR, scale=0.55):
    """Outlined text at ``org`` (bottom-left), moved inside the image where it would spill over."""
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    x, y = _pt(org)
    x = int(np.clip(x, 3, max(img.shape[1] - tw - 3, 3)))
    y = int(np.clip(y, th + 3, img.shape[0] - 4))
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_skeleton(img: np.ndarray, xy: np.ndarray, index: dict, thickness: int = 2) -> None:
    """Skeleton of one frame (keypoints (33, 2) in image pixels) onto a BGR image, in place;
    left side blue, right side orange."""
    for a, b in SKELETON_EDGES:
        pa, pb = xy[index[a]], xy[index[b]]
        if not (np.isfinite(pa).all() and np.isfinite(pb).all()):
            continue
        colour = LEFT_BGR if a.startswith("left") and b.startswith("left") else \
            RIGHT_BGR if a.startswith("right") and b.startswith("right") else CENTRE_BGR
        cv2.line(img, _pt(pa), _pt(pb), colour, thickness, cv2.LINE_AA)
    for part in JOINTS:
        for side, colour in (("left", LEFT_BGR), ("right", RIGHT_BGR)):
            p = xy[index[f"{side}_{part}"]]
            if np.isfinite(p).all():
                cv2.circle(img, _pt(p), thickness + 1, colour, -1, cv2.LINE_AA)


def _annotate_side(img, xy: np.ndarray, step: dict, event: str, facing: int, index: dict) -> str:
    side = step['side']
    hip, knee, ankle, heel = (xy[index[f"{side}_{k}"]] for k in ("hip", "knee", "ankle", "heel"))
    if event == "initial_contact":
        parts = []
        over = next((m for m in ("overstride_cm", "overstride_leg") if np.isfinite(step.get(m, np.nan))), None)
        if over:
            # Overstride: vertical through the hip, horizontal to the heel.
            top = (hip[0], hip[1] - 0.2 * abs(ankle[1] - hip[1]))
            cv2.line(img, _pt(top), _pt((hip[0], heel[1])), MEASURE_BGR, 1, cv2.LINE_AA)
            cv2.arrowedLine(img, _pt((hip[0], heel[1] + 6)), _pt((heel[0], heel[1] + 6)), MEASURE_BGR, 2,
                            cv2.LINE_AA, tipLength=0.25)
            parts.append(f"overstride {value_text(over, step[over])}")
            _label(img, parts[-1], (min(hip[0], heel[0]) - 10, heel[1] + 24))
        if np.isfinite(step.get("shank_angle_deg", np.nan)):
            # Shank: the line it was measured along, and a vertical reference at the knee.
            length = np.linalg.norm(ankle - knee)
            cv2.line(img, _pt(knee), _pt((knee[0], knee[1] + length)), CENTRE_BGR, 1, cv2.LINE_AA)
            a = np.radians(step['shank_angle_deg'])
            end = knee + length * np.array([facing * np.sin(a), np.cos(a)])
            cv2.line(img, _pt(knee), _pt(end), MEASURE_BGR, 2, cv2.LINE_AA)
            parts.append(f"shank {value_text('shank_angle_deg', step['shank_angle_deg'])}")
            _label(img, parts[-1], (knee[0] + 12 * facing - (110 if facing < 0 else 0), knee[1]))
        if np.isfinite(step.get("knee_flexion_ic_deg", np.nan)):
            parts.append(f"knee flexion {value_text('knee_flexion_ic_deg', step['knee_flexion_ic_deg'])}")
        return f"{side} initial contact" + (": " + ", ".join(parts) if parts else "")
    if event == "midstance":
        if not np.isfinite(step.get("peak_knee_flexion_deg", np.nan)):
            return f"{side} midstance"
        peak = value_text('peak_knee_flexion_deg', step['peak_knee_flexion_deg'])
        _label(img, f"peak knee flexion {peak}", (knee[0] - 60, knee[1] - 14))
        return f"{side} midstance (peak knee flexion in this stance {peak})"
    return f"{side} toe-off"


def _annotate_frontal(img, xy: np.ndarray, step: dict, event: str, tilt: float, index: dict, kind: str,
                      follows_pelvis: bool = True) -> str:
    side = step['side']
    other = "right" if side == "left" else "left"
    hip, knee, ankle = (xy[index[f"{side}_{k}"]] for k in ("hip", "knee", "ankle"))
    other_hip = xy[index[f"{other}_hip"]]
    if event == "midstance" and kind == "front":
        # gaitlab.analysis.FRONT_PELVIS_REASON: from the front the line at the waist is the top's hem.
        return (f"{side} midstance: from the front no pelvis line is drawn (the line at the waist is the "
                f"top's hem); judge the drop by eye")
    if event == "midstance":
        centre = 0.5 * (hip + other_hip)
        half = 0.9 * np.linalg.norm(hip - other_hip)
        text = []
        if np.isfinite(tilt):
            # The pelvis line as measured (waistband tilt, image orientation), through the hip centre.
            t_img = np.radians(tilt)
            d = np.array([np.cos(t_img), np.sin(t_img)])
            cv2.line(img, _pt(centre - half * d), _pt(centre + half * d), MEASURE_BGR, 2, cv2.LINE_AA)
            cv2.line(img, _pt(centre - half * np.array([1, 0])), _pt(centre + half * np.array([1, 0])),
                     CENTRE_BGR, 1, cv2.LINE_AA)
            if np.isfinite(step.get("pelvic_drop_deg", np.nan)):
                text.append(f"pelvic drop {value_text('pelvic_drop_deg', step['pelvic_drop_deg'])}")
        if text:
            _label(img, text[0], (centre[0] - 70, centre[1] - 16))
            return f"{side} midstance: pelvis line as measured (grey: level), {text[0]}"
        if np.isfinite(tilt) and not follows_pelvis:
            return (f"{side} midstance: the line gaitlab traced at the waist, which did not keep level between "
                    f"steps and may not follow the pelvis (grey: level); judge the drop by eye")
        if np.isfinite(tilt):
            return f"{side} midstance: the pelvis line gaitlab traced (grey: level); judge the drop by eye"
        return f"{side} midstance: no waistband line could be traced in this clip; judge the drop by eye"
    if event == "initial_contact" or event == "toe_off":
        return f"{side} {'initial contact' if event == 'initial_contact' else 'toe-off'}"
    return ""


def _annotate_fppa(img, xy: np.ndarray, step: dict, index: dict) -> str:
    side = step['side']
    if not np.isfinite(step.get("knee_fppa_deg", np.nan)):
        # Nothing measured to draw: the keypoints alone do not give the knee's angle (see
        # gaitlab.metrics.frontal), so no line is drawn as if they did.
        return f"{side} deepest knee bend in stance: no knee angle given; judge the knee by eye"
    hip, knee, ankle = (xy[index[f"{side}_{k}"]] for k in ("hip", "knee", "ankle"))
    cv2.line(img, _pt(hip), _pt(knee), MEASURE_BGR, 2, cv2.LINE_AA)
    cv2.line(img, _pt(knee), _pt(ankle), MEASURE_BGR, 2, cv2.LINE_AA)
    cv2.line(img, _pt(hip), _pt(ankle), CENTRE_BGR, 1, cv2.LINE_AA)
    parts = []
    if np.isfinite(step.get("knee_fppa_deg", np.nan)):
        _label(img, f"FPPA {value_text('knee_fppa_deg', step['knee_fppa_deg'])}", (knee[0] + 10, knee[1]))
        parts.append(f"knee frontal plane projection angle {value_text('knee_fppa_deg', step['knee_fppa_deg'])} "
                     f"(+ = valgus)")
    if np.isfinite(step.get("hip_adduction_deg", np.nan)):
        parts.append(f"hip adduction {value_text('hip_adduction_deg', step['hip_adduction_deg'])}")
    return f"{side} deepest knee bend in stance" + (": " + ", ".join(parts) if parts else "")


def _crop_box(xy: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) around the runner's keypoints, with room for the labels."""
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return 0, 0, width, height
    x0, y0 = np.min(xy[ok], axis=0)
    x1, y1 = np.max(xy[ok], axis=0)
    h = y1 - y0
    pad_x, pad_y = 0.45 * h, 0.12 * h
    box = int(max(x0 - pad_x, 0)), int(max(y0 - pad_y, 0)), int(min(x1 + pad_x, width)), int(min(y1 + pad_y, height))
    return box if box[2] - box[0] >= 20 and box[3] - box[1] >= 20 else (0, 0, width, height)


def key_frames(result, clean, tilt: np.ndarray | None = None, video: str | Path | None = None) -> list[KeyFrame]:
    """Key frames of one analysed clip (see the module docstring).

    ``clean``: the cleaned landmarks (:func:`gaitlab.analysis.clean_landmarks`); ``tilt``: the
    pelvis tilt per frame for frontal views; ``video``: the clip (default: the path recorded in the
    landmarks' provenance, when it still exists with the same size).
    """
    from ..io.video import read_frames
    from ..schema import KEYPOINT_INDEX

    kind = result.view.get("kind")
    facing = int(result.view.get("facing") or 0)
    swapped_note = f"; {SIDES_MAY_BE_SWAPPED}" if result.quality.get("sides_uncertain") else ""
    follows_pelvis = (result.quality.get("pelvis") or {}).get("follows_pelvis", True)
    steps = result.steps
    plan = []
    for side in ("left", "right"):
        step = typical_step(steps, side, kind)
        if step is None:
            continue
        frames = {"initial_contact": int(step['ic_frame']), "midstance": int(step['midstance_frame']),
                  "toe_off": int(step['to_frame'])}
        if kind in ("rear", "front") and int(step.get("deepest_knee_frame", -1)) >= 0:
            frames["deepest_knee"] = int(step['deepest_knee_frame'])
        plan += [(side, event, pos, step) for event, pos in frames.items() if event in KEY_EVENTS.get(kind, frames)]
    info = clean.attrs.get("video", {})
    path = Path(video) if video else Path(info.get("path", ""))
    images = {}
    from_video = bool(info) and path.is_file() and path.stat().st_size == info.get("size_bytes", path.stat().st_size)
    if from_video:
        try:
            # Container times of the frames (undoing a slow-motion rescaling), to check each seek.
            offset = float(clean.attrs.get("first_frame_time_s", 0.0))
            factor = float((clean.attrs.get("time_scale") or {}).get("factor", 1.0))
            images = read_frames(path, [int(clean.frame[p]) for _, _, p, _ in plan],
                                 [float(clean.time[p]) / factor + offset for _, _, p, _ in plan])
        except Exception:  # a changed or unreadable file: draw on a plain background instead
            images, from_video = {}, False
    w = int(info.get("width") or np.nanmax(clean.image[:, :, 0]) + 50)
    h = int(info.get("height") or np.nanmax(clean.image[:, :, 1]) + 50)
    out = []
    for side, event, pos, step in plan:
        rgb = images.get(int(clean.frame[pos]))
        img = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb is not None else np.full((h, w, 3), 70, np.uint8)
        # Crop around the runner and scale first, then draw, so lines and labels keep their size.
        x0, y0, x1, y1 = _crop_box(clean.image[pos, :, :2], img.shape[1], img.shape[0])
        scale = KEYFRAME_HEIGHT / (y1 - y0)
        img = cv2.resize(img[y0:y1, x0:x1], None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        xy = (clean.image[pos, :, :2] - np.array([x0, y0])) * scale
        draw_skeleton(img, xy, KEYPOINT_INDEX)
        if kind == "side":
            caption = _annotate_side(img, xy, step, event, facing, KEYPOINT_INDEX)
        elif event == "deepest_knee":
            caption = _annotate_fppa(img, xy, step, KEYPOINT_INDEX)
        else:
            caption = _annotate_frontal(img, xy, step, event, float(tilt[pos]) if tilt is not None else np.nan,
                                        KEYPOINT_INDEX, kind, follows_pelvis)
        ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        t = float(clean.time[pos])
        out.append(KeyFrame(side=side, event=event, frame=int(clean.frame[pos]), time_s=t, step=int(step['step']),
                            image_jpeg=jpeg.tobytes(),
                            caption=f"{caption} (frame {int(clean.frame[pos])}, {t:.2f} s)"
                                    + ("" if rgb is not None else "; video not available, skeleton only")
                                    + swapped_note,
                            from_video=rgb is not None))
    return out
