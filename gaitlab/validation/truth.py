"""Ground truth of a clip, from any of the formats gaitlab is validated against, in one shape.

Three formats are read:

* ``gaitlab-synth-truth`` files written by ``gaitlab synth`` (:mod:`gaitlab.synth.truth`);
* the independent renderer's ``*.truth.json`` (``generator: independent-synth-*``, as in
  ``../shared/validation``): exact event times and per-step values under their own names;
* hand-marked contacts of a real clip (``*.contacts.json``: frame, side and event per mark, no
  model involved), with the clip's measured cadence from a ``*.groundtruth.json`` beside it.

:class:`ClipTruth` holds what every comparison needs: the view, which leg is nearer the camera in a
side view, the exact event times and one row per true stance with the per-step values under
gaitlab's column names (:data:`STEP_METRICS`; NaN where the format does not know a value).
Definitions are matched to what gaitlab measures: values at the exact event time, frontal angles
in the image with the camera roll removed, the hip-joint centres for the pelvis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Per-step truth columns, named as gaitlab's steps table names the measured values.
STEP_METRICS = ("overstride_cm", "overstride_leg", "shank_angle_deg", "knee_flexion_ic_deg", "peak_knee_flexion_deg",
                "contact_time_s", "duty_factor", "foot_angle_ic_deg", "trunk_lean_deg", "vertical_oscillation_cm",
                "pelvic_drop_deg", "pelvic_drop_peak_deg", "knee_fppa_deg", "hip_adduction_deg")
EVENTS = ("initial_contact", "midstance", "toe_off")


@dataclass
class ClipTruth:
    name: str
    video: Path
    source: str                 # gaitlab-synth | independent | hand-marked
    fps: float
    n_frames: int
    view: str                   # side | rear | front
    near_side: str | None       # side views: the runner's side nearer the camera
    height_m: float | None      # stature, as a clinician would enter it
    cadence_spm: float | None
    events: pd.DataFrame        # side, event, time_s (exact)
    steps: pd.DataFrame         # side, ic_time_s, midstance_time_s, to_time_s, STEP_METRICS...
    conditions: dict = field(default_factory=dict)  # how the clip was made (resolution, roll, body...)
    #: Events marked completely (every one in the clip); others were marked only here and there.
    complete_events: tuple = EVENTS

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    def role(self, side: str) -> str:
        """'near' / 'far' for a side view, the side itself from behind or in front."""
        if self.view == "side" and self.near_side:
            return "near" if side == self.near_side else "far"
        return side


def _steps_frame(rows: list[dict], leg_m: float | None = None, cadence_spm: float | None = None) -> pd.DataFrame:
    """Truth steps in gaitlab's columns; ``overstride_leg`` in gaitlab's leg length (hip to ankle
    along thigh and shank, ``leg_m``), whatever leg length the format itself divides by; the duty
    factor is the contact time over the stride time of the runner's steady ``cadence_spm``."""
    cols = ["side", "ic_time_s", "midstance_time_s", "to_time_s", *STEP_METRICS]
    df = pd.DataFrame(rows, columns=cols)
    if leg_m:
        df["overstride_leg"] = pd.to_numeric(df.overstride_cm, errors="coerce") / 100.0 / leg_m
    for c in cols[1:]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if cadence_spm:
        df["duty_factor"] = df.contact_time_s / (120.0 / cadence_spm)
    return df.sort_values("ic_time_s").reset_index(drop=True)


def _events_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["side", "event", "time_s"]).sort_values(["time_s", "side"]).reset_index(drop=True)


def _from_gaitlab(doc: dict, path: Path) -> ClipTruth:
    p = doc["params"]
    view = {"side_left": "side", "side_right": "side"}.get(p["view"], p["view"])
    near = {"side_left": "left", "side_right": "right"}.get(p["view"])
    frontal = view in ("rear", "front")
    rows = []
    for s in doc["steps"]:
        rows.append({
            "side": s["side"], "ic_time_s": s["ic_time_s"], "midstance_time_s": s["midstance_time_s"],
            "to_time_s": s["to_time_s"], "overstride_cm": s.get("overstride_cm_exact", s["overstride_cm"]),
            "shank_angle_deg": s.get("shank_angle_deg_exact", s["shank_angle_deg"]),
            "knee_flexion_ic_deg": s.get("knee_flexion_ic_deg_exact", s["knee_flexion_ic_deg"]),
            "peak_knee_flexion_deg": s["peak_knee_flexion_deg"], "contact_time_s": s["contact_time_s"],
            "foot_angle_ic_deg": s["foot_angle_ic_deg"], "trunk_lean_deg": p["trunk_lean_deg"],
            "vertical_oscillation_cm": s["vertical_oscillation_cm"],
            "pelvic_drop_deg": s["pelvic_drop_2d_deg"] if frontal else np.nan,
            "pelvic_drop_peak_deg": s.get("pelvic_drop_2d_peak_deg", np.nan) if frontal else np.nan,
            "knee_fppa_deg": s["knee_fppa_deg"] if frontal else np.nan,
            "hip_adduction_deg": s["hip_adduction_deg"] if frontal else np.nan,
        })
    events = [{"side": e["side"], "event": e["event"], "time_s": e["time_s"]} for e in doc["events"]]
    body = doc.get("body", {})
    conditions = {"resolution": f"{p['width']}x{p['height']}", "roll_deg": p.get("camera_roll_deg", 0.0),
                  "yaw_deg": p.get("camera_yaw_deg", 0.0), "seed": p.get("seed"),
                  "leg_length_m": body.get("thigh_m", 0) + body.get("shank_m", 0),
                  "appearance": p.get("appearance", {}), "girth": p.get("girth", 1.0)}
    return ClipTruth(name=path.name.removesuffix(".truth.json"), video=path.with_name(path.name.removesuffix(".truth.json") + ".mp4"),
                     source="gaitlab-synth", fps=float(doc["video"]["fps"]), n_frames=int(doc["video"]["n_frames"]),
                     view=view, near_side=near, height_m=float(p["height_m"]), cadence_spm=float(p["cadence_spm"]),
                     events=_events_frame(events), steps=_steps_frame(rows, conditions["leg_length_m"], float(p["cadence_spm"])),
                     conditions=conditions)


def _from_independent(doc: dict, path: Path) -> ClipTruth:
    view = doc["view"]
    near = doc.get("camera_sees_runner_side") if view == "side" else None
    frontal = view in ("rear", "front")
    gp = doc.get("gait_params", {})
    vo = gp.get("pelvis_vertical_range_m")
    rows, events = [], []
    for s in doc["steps"]:
        ic, ms, to = s["initial_contact"], s["midstance"], s["toe_off"]
        roll_offset = (s.get("pelvic_drop_image_deg_midstance", np.nan)
                       - s.get("pelvic_drop_image_levelled_deg_midstance", np.nan))
        rows.append({
            "side": s["side"], "ic_time_s": ic["t_s"], "midstance_time_s": ms["t_s"], "to_time_s": to["t_s"],
            "overstride_cm": s.get("overstride_cm"), "shank_angle_deg": s.get("shank_angle_deg"),
            "knee_flexion_ic_deg": s.get("knee_flex_deg"),
            "peak_knee_flexion_deg": (s.get("peak_stance_knee_flex") or {}).get("knee_flex_deg"),
            "contact_time_s": s.get("stance_time_s"), "foot_angle_ic_deg": np.nan,
            "trunk_lean_deg": gp.get("trunk_lean_deg"),
            "vertical_oscillation_cm": 100 * vo if vo is not None else np.nan,
            "pelvic_drop_deg": s.get("pelvic_drop_image_levelled_deg_midstance") if frontal else np.nan,
            "pelvic_drop_peak_deg": (s.get("pelvic_drop_image_deg_peak_in_stance", np.nan) - roll_offset) if frontal else np.nan,
            "knee_fppa_deg": s.get("knee_fppa_image_deg_at_peak_flex") if frontal else np.nan,
            "hip_adduction_deg": np.nan,
        })
    for side, evs in doc["events"].items():
        for ev in evs:
            for name in EVENTS:
                if name in ev:
                    events.append({"side": side, "event": name, "time_s": ev[name]["t_s"]})
    subject = doc.get("subject", {})
    conditions = {"resolution": f"{doc['width']}x{doc['height']}", "roll_deg": doc.get("camera", {}).get("roll_deg", 0.0),
                  "body": subject.get("name"), "leg_length_m": subject.get("leg_length_m")}
    video = path.with_name(doc.get("video", {}).get("file") or path.name.removesuffix(".truth.json") + ".mp4")
    cadence = float(doc.get("summary", {}).get("cadence_spm") or gp.get("cadence_spm"))
    return ClipTruth(name=doc.get("name") or path.name.removesuffix(".truth.json"), video=video, source="independent",
                     fps=float(doc["fps"]), n_frames=int(doc["n_frames"]), view=view, near_side=near,
                     height_m=subject.get("approx_standing_height_m"), cadence_spm=cadence,
                     events=_events_frame(events), steps=_steps_frame(rows, conditions["leg_length_m"], cadence),
                     conditions=conditions)


def _from_contacts(doc: dict, path: Path) -> ClipTruth:
    fps = float(doc["fps"])
    video = path.parent.parent / doc["clip"] if not (path.parent / doc["clip"]).exists() else path.parent / doc["clip"]
    stem = Path(doc["clip"]).stem
    measured = path.with_name(f"{stem}.groundtruth.json")
    cadence = None
    if measured.is_file():
        cadence = _measured_cadence(json.loads(measured.read_text()))
    events = [{"side": e["side"], "event": e["event"], "time_s": e["frame"] / fps} for e in doc["events"]]
    ics = sorted((e for e in events if e["event"] == "initial_contact"), key=lambda e: e["time_s"])
    rows = [{"side": e["side"], "ic_time_s": e["time_s"]} for e in ics]
    near = _near_side(doc.get("annotator_method", ""))
    return ClipTruth(name=stem, video=video, source="hand-marked", fps=fps, n_frames=int(doc["n_frames"]),
                     view="side", near_side=near, height_m=None, cadence_spm=cadence,
                     events=_events_frame(events), steps=_steps_frame(rows),
                     conditions={"marks": len(events), "real": True}, complete_events=("initial_contact",))


def _measured_cadence(doc: dict) -> float | None:
    for key in ("cadence_spm", "cadence_steps_per_min"):
        value = doc.get(key)
        if isinstance(value, dict):
            value = value.get("value") or value.get("mean")
        if isinstance(value, (int, float)):
            return float(value)
    for value in doc.values():
        if isinstance(value, dict):
            found = _measured_cadence(value)
            if found:
                return found
    return None


def _near_side(method: str) -> str | None:
    text = method.lower()
    for side in ("left", "right"):
        if f"near foot is the {side}" in text or f"camera sees {side}" in text:
            return side
    return None


def load_clip_truth(path: str | Path) -> ClipTruth:
    """The truth of one clip from a truth file of any supported format."""
    path = Path(path)
    doc = json.loads(path.read_text())
    if doc.get("format") == "gaitlab-synth-truth":
        return _from_gaitlab(doc, path)
    if str(doc.get("generator", "")).startswith("independent"):
        return _from_independent(doc, path)
    if "annotator_method" in doc and "events" in doc:
        return _from_contacts(doc, path)
    raise ValueError(f"{path.name} is not a truth file gaitlab reads")


def find_truths(paths) -> list[Path]:
    """Truth files under the given folders (or the files themselves), in name order."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.glob("*.truth.json")) + sorted(p.glob("*.contacts.json"))
            sub = p / "ground_truth"
            if sub.is_dir():
                found += sorted(sub.glob("*.contacts.json"))
        elif p.is_file():
            found.append(p)
        else:
            raise FileNotFoundError(f"no truth set at {p}")
    return found
