"""Ground truth of a synthetic clip, computed from the kinematics (no rendering needed).

The truth file (``<clip>.truth.json``, format ``gaitlab-synth-truth`` version 1) holds:

``params``
    Every :class:`~gaitlab.synth.params.SynthParams` field.
``video``
    ``width``, ``height``, ``fps``, ``n_frames``, ``duration_s``; frame k is at ``k / fps`` seconds.
``camera``
    ``view``, ``position_m``, ``target_m``, ``vertical_fov_deg``, ``focal_px``, ``roll_deg``.
``body``
    ``height_m``, ``leg_length_m`` (hip joint centre to floor standing), segment lengths.
``frames``
    ``joints_2d``: for each of ``<side>_<shoulder|elbow|wrist|hip|knee|ankle|heel|toe>`` a list of
    ``[x, y]`` pixels per frame, as rendered (y down; hip = hip joint centre; heel = back of the
    shoe; toe = tip of the shoe). ``stance_left`` / ``stance_right``: 0/1 per frame.
``events``
    One row per event: ``side``, ``event`` (``initial_contact``, ``midstance``, ``toe_off``),
    ``time_s`` (exact) and ``frame`` (nearest frame). Midstance is the middle of the contact.
``steps``
    One row per complete stance inside the clip (see :data:`STEP_FIELDS`): event times and frames,
    and the true value of each metric for that step.
``summary``
    ``cadence_spm``, ``step_time_s``, ``contact_time_s`` and ``duty_factor`` per side.

Metric values "at a frame" are taken at the event's nearest frame, as a video can only show; the
``*_exact`` fields are at the exact event time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..geometry import (flexion_deg, fppa_deg, frontal_inclination_deg, rotate_points, tilt_deg)
from ..io.files import atomic_write
from .kinematics import SIDES, RunnerModel
from .params import SynthParams
from .scene import make_camera

FORMAT = "gaitlab-synth-truth"
VERSION = 1
POINTS_2D = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "toe")

STEP_FIELDS = {
    "side": "stance side",
    "ic_time_s": "initial contact, exact time",
    "ic_frame": "initial contact, nearest frame",
    "midstance_time_s": "middle of the contact", "midstance_frame": "",
    "to_time_s": "toe-off, exact time", "to_frame": "",
    "contact_time_s": "exact contact time",
    "overstride_cm": "heel (back of shoe) ahead of the hip joint centre at the IC frame, horizontal",
    "overstride_leg": "the same in leg lengths",
    "overstride_cm_exact": "at the exact IC time",
    "shank_angle_deg": "knee->ankle from vertical at the IC frame, + = ankle ahead of knee",
    "shank_angle_deg_exact": "the same at the exact IC time (the shank turns several degrees per frame "
                             "once the foot is down)",
    "knee_flexion_ic_deg": "3D knee flexion at the IC frame",
    "knee_flexion_ic_deg_exact": "the same at the exact IC time",
    "peak_knee_flexion_deg": "3D knee flexion, maximum over the stance frames",
    "peak_knee_flexion_frame": "",
    "foot_angle_ic_deg": "sole angle to the belt at the IC frame, + = toes up",
    "pelvic_drop_deg": "3D pelvic obliquity at the midstance frame, + = swing side lower",
    "pelvic_drop_peak_deg": "3D obliquity, maximum over the stance frames",
    "pelvic_drop_2d_deg": "tilt of the projected hip joint centres at the midstance frame, camera roll removed",
    "pelvic_drop_2d_peak_deg": "the same, maximum over the stance frames",
    "knee_fppa_deg": "frontal plane projection angle of the projected joint centres at the peak knee "
                     "flexion frame (rear/front views; orthographic rear projection for side views), + = valgus",
    "hip_adduction_deg": "femur from vertical in the same projection, + = knee medial of hip",
    "vertical_oscillation_cm": "pelvis height range from this IC to the next contralateral IC",
}


def _frontal_2d(points3d: dict, camera, view: str):
    """2D points for frontal metrics: the clip's projection (roll removed) in rear/front views, an
    orthographic projection from behind otherwise."""
    if view in ("rear", "front"):
        centre = np.array([camera.width / 2, camera.height / 2])
        return {k: rotate_points(camera.project(v), -camera.roll_deg, centre) for k, v in points3d.items()}
    return {k: np.stack([v[..., 2], -v[..., 1]], -1) for k, v in points3d.items()}


def _shank_angle_deg(leg: dict) -> float:
    """Knee->ankle from vertical at the leg's first sample (sagittal x forward, y up), + = ankle ahead."""
    return round(float(np.degrees(np.arctan2(leg["ankle"][0, 0] - leg["knee"][0, 0],
                                             leg["knee"][0, 1] - leg["ankle"][0, 1]))), 3)


def compute_truth(params: SynthParams, model: RunnerModel | None = None) -> dict:
    model = model or RunnerModel(params)
    p, body = params, model.body
    camera = make_camera(p, body.height)
    n = p.n_frames
    t = np.arange(n) / p.fps
    j = model.joints(t)
    leg = body.leg_length

    joints_2d = {}
    for side in SIDES:
        for part in POINTS_2D:
            joints_2d[f"{side}_{part}"] = np.round(camera.project(j[f"{side}_{part}"]), 3).tolist()

    def frame_of(time_s):
        return int(np.clip(np.round(time_s * p.fps), 0, n - 1))

    events, steps = [], []
    for side in SIDES:
        other = "right" if side == "left" else "left"
        tc = model.tc[side]
        k0 = int(np.ceil(-model.ic_offset[side] / model.stride_time))
        k = k0
        while True:
            t_ic = model.ic_offset[side] + k * model.stride_time
            k += 1
            if t_ic >= p.duration_s:
                break
            if t_ic < 0:
                continue
            t_to, t_ms = t_ic + tc, t_ic + tc / 2
            for name, tt in (("initial_contact", t_ic), ("midstance", t_ms), ("toe_off", t_to)):
                if tt < p.duration_s:
                    events.append({"side": side, "event": name, "time_s": round(tt, 6), "frame": frame_of(tt)})
            if t_to >= (n - 1) / p.fps:
                continue
            f_ic, f_ms, f_to = frame_of(t_ic), frame_of(t_ms), frame_of(t_to)
            stance_frames = np.arange(f_ic, f_to + 1)
            ts = stance_frames / p.fps
            L = model.leg(ts, side)
            flex = flexion_deg(L["hip"], L["knee"], L["ankle"])
            i_pk = int(np.argmax(flex))
            exact = model.leg(np.array([t_ic]), side)
            obl = np.degrees(model.obliquity(ts)) * (1 if side == "left" else -1)
            obl_ms = float(np.degrees(model.obliquity(np.array([f_ms / p.fps])))[0]) * (1 if side == "left" else -1)
            # Frontal 2D quantities.
            pts3 = {"hip": model.hip_joint(ts, side), "other_hip": model.hip_joint(ts, other),
                    "knee": L["knee"], "ankle": L["ankle"]}
            f2 = _frontal_2d(pts3, camera, p.view)
            fppa = fppa_deg(f2["hip"], f2["knee"], f2["ankle"], f2["other_hip"])
            hadd = frontal_inclination_deg(f2["hip"], f2["knee"], f2["other_hip"])
            ms = f_ms - f_ic
            drop2d_all = tilt_deg(f2["hip"], f2["other_hip"])
            drop2d = float(drop2d_all[ms])
            # Vertical oscillation over the step.
            tt = np.linspace(t_ic, t_ic + model.step_time, 200)
            py = model.pelvis_height(tt)
            steps.append({
                "side": side,
                "ic_time_s": round(t_ic, 6), "ic_frame": f_ic,
                "midstance_time_s": round(t_ms, 6), "midstance_frame": f_ms,
                "to_time_s": round(t_to, 6), "to_frame": f_to,
                "contact_time_s": round(tc, 6),
                "overstride_cm": round(100 * float(L["heel"][0, 0] - L["hip"][0, 0]), 3),
                "overstride_leg": round(float(L["heel"][0, 0] - L["hip"][0, 0]) / leg, 5),
                "overstride_cm_exact": round(100 * float(exact["heel"][0, 0] - exact["hip"][0, 0]), 3),
                "shank_angle_deg": _shank_angle_deg(L),
                "shank_angle_deg_exact": _shank_angle_deg(exact),
                "knee_flexion_ic_deg": round(float(flex[0]), 3),
                "knee_flexion_ic_deg_exact": round(float(flexion_deg(exact["hip"], exact["knee"], exact["ankle"])[0]), 3),
                "peak_knee_flexion_deg": round(float(flex[i_pk]), 3),
                "peak_knee_flexion_frame": int(stance_frames[i_pk]),
                "foot_angle_ic_deg": round(float(np.degrees(L["foot_angle"][0])), 3),
                "pelvic_drop_deg": round(obl_ms, 3),
                "pelvic_drop_peak_deg": round(float(obl.max()), 3),
                "pelvic_drop_2d_deg": round(drop2d, 3),
                "pelvic_drop_2d_peak_deg": round(float(np.max(drop2d_all)), 3),
                "knee_fppa_deg": round(float(fppa[i_pk]), 3),
                "hip_adduction_deg": round(float(hadd[i_pk]), 3),
                "vertical_oscillation_cm": round(100 * float(py.max() - py.min()), 3),
            })
    events.sort(key=lambda e: (e["time_s"], e["side"]))
    steps.sort(key=lambda s: s["ic_time_s"])
    r, u, f = camera.basis()
    return {
        "format": FORMAT,
        "version": VERSION,
        "params": p.to_dict(),
        "video": {"width": p.width, "height": p.height, "fps": p.fps, "n_frames": n,
                  "duration_s": round(n / p.fps, 6)},
        "camera": {"view": p.view, "position_m": np.round(camera.position, 4).tolist(),
                   "target_m": np.round(camera.target, 4).tolist(),
                   "vertical_fov_deg": p.vertical_fov_deg, "focal_px": round(camera.focal_px, 4),
                   "roll_deg": p.camera_roll_deg},
        "body": {"height_m": body.height, "leg_length_m": round(leg, 5), "thigh_m": round(body.thigh, 5),
                 "shank_m": round(body.shank, 5), "foot_length_m": round(body.foot_length, 5),
                 "hip_width_m": round(body.hip_width, 5), "trunk_m": round(body.trunk, 5)},
        "frames": {"joints_2d": joints_2d,
                   **{f"stance_{s}": j[f"{s}_stance"].astype(int).tolist() for s in SIDES}},
        "events": events,
        "steps": steps,
        "summary": {
            "cadence_spm": p.cadence_spm,
            "step_time_s": round(model.step_time, 6),
            **{f"contact_time_{s}_s": round(model.tc[s], 6) for s in SIDES},
            **{f"duty_factor_{s}": round(model.tc[s] / model.stride_time, 5) for s in SIDES},
        },
    }


def write_truth(truth: dict, path: str | Path) -> Path:
    return atomic_write(path, json.dumps(truth, separators=(",", ":")))


def load_truth(path: str | Path) -> dict:
    truth = json.loads(Path(path).read_text())
    if truth.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gaitlab synthetic truth file")
    return truth
