"""Which way the camera looks at the runner: side (facing image-left or image-right), rear or front.

Rules, each a median over the frames where the person is found:

* **Side or frontal.** In a frontal view the shoulders and hips span a large part of the torso's
  height; from the side they nearly overlap. ``width_ratio`` = (horizontal shoulder span + hip
  span) / (2 * torso length); below :data:`SIDE_MAX_WIDTH_RATIO` it is a side view, above
  :data:`FRONTAL_MIN_WIDTH_RATIO` frontal, in between oblique (refused for metrics that need a
  clean view).
* **Rear or front.** From behind, the runner's left shoulder and hip appear on the image's left.
  BlazePose labels sides from the whole body (face included), so the image order of its left and
  right labels tells rear from front.
* **Facing direction (side views).** The toes point, and the nose lies, ahead of the body: the
  sign of (toe - heel) and (nose - shoulder centre) along the image x axis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .landmarks import Landmarks

SIDE_MAX_WIDTH_RATIO = 0.25
FRONTAL_MIN_WIDTH_RATIO = 0.40


@dataclass(frozen=True)
class View:
    """``kind``: 'side', 'rear', 'front' or 'oblique'. ``facing``: +1 runner faces image-right,
    -1 image-left (side views; 0 otherwise). ``near_side``: the side nearer the camera in a side view
    (the runner's left when facing image-left)."""

    kind: str
    facing: int
    width_ratio: float
    confidence: float

    @property
    def near_side(self) -> str | None:
        if self.kind != "side":
            return None
        return "left" if self.facing < 0 else "right"

    @property
    def forward(self) -> np.ndarray:
        """Unit image vector of the running direction (side views)."""
        return np.array([float(self.facing), 0.0])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["near_side"] = self.near_side
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "View":
        return cls(d["kind"], int(d["facing"]), float(d["width_ratio"]), float(d["confidence"]))


def _median(x) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def label_order(lm: Landmarks) -> np.ndarray:
    """Per frame, +1 where the runner's left shoulder and hip labels lie on the image's left of
    their right twins (as seen from behind), -1 the other way round (as seen in front), 0 where the
    runner is not found or the two disagree evenly."""
    d = ((lm.xy("right_shoulder")[:, 0] - lm.xy("left_shoulder")[:, 0])
         + (lm.xy("right_hip")[:, 0] - lm.xy("left_hip")[:, 0]))
    return np.where(lm.detected & np.isfinite(d), np.sign(np.nan_to_num(d)), 0.0)


def detect_view(lm: Landmarks) -> View:
    det = lm.detected
    if not det.any():
        return View("oblique", 0, float("nan"), 0.0)
    ls, rs = lm.xy("left_shoulder")[det], lm.xy("right_shoulder")[det]
    lh, rh = lm.xy("left_hip")[det], lm.xy("right_hip")[det]
    torso = np.linalg.norm(0.5 * (ls + rs) - 0.5 * (lh + rh), axis=1)
    span = np.abs(ls[:, 0] - rs[:, 0]) + np.abs(lh[:, 0] - rh[:, 0])
    ratio = _median(span / np.maximum(2 * torso, 1e-6))
    if ratio >= FRONTAL_MIN_WIDTH_RATIO:
        agree = float(np.mean(label_order(lm)[det] > 0))
        kind = "rear" if agree >= 0.5 else "front"
        return View(kind, 0, ratio, max(agree, 1 - agree))
    if ratio <= SIDE_MAX_WIDTH_RATIO:
        toe = 0.5 * (lm.xy("left_foot_index") + lm.xy("right_foot_index"))[det, 0]
        heel = 0.5 * (lm.xy("left_heel") + lm.xy("right_heel"))[det, 0]
        nose = lm.xy("nose")[det, 0]
        centre = 0.5 * (ls + rs)[:, 0]
        vote = np.sign(toe - heel) + np.sign(nose - centre)
        right = float(np.mean(vote > 0))
        left = float(np.mean(vote < 0))
        facing = 1 if right >= left else -1
        return View("side", facing, ratio, max(right, left))
    return View("oblique", 0, ratio, 0.0)
