"""Which way the camera looks at the runner: side (facing image-left or image-right), rear or front.

Rules, each a median over the frames where the person is found:

* **Side or frontal.** In a frontal view the shoulders and hips span a large part of the torso's
  height; from the side they nearly overlap. ``width_ratio`` = (horizontal shoulder span + hip
  span) / (2 * torso length); below :data:`SIDE_MAX_WIDTH_RATIO` it is a side view.
* **Frontal or oblique.** How wide a body looks depends on the body as much as on the camera: a
  slim runner seen from straight behind is as narrow as a broad one seen 40 deg off. The feet tell
  the camera's angle whatever the build: seen from behind or in front, the legs swing toward and
  away from the camera, so the ankles hardly move across the image relative to each other; seen
  off-axis, their fore-aft swing shows as an image-x separation that grows with the angle.
  ``fore_aft`` = the spread (5th to 95th percentile) of the ankles' image-x separation, in leg
  lengths. Frontal needs ``width_ratio`` at least :data:`FRONTAL_MIN_WIDTH_RATIO` and ``fore_aft`` at
  most :data:`FRONTAL_MAX_FORE_AFT`; everything else is oblique (refused for metrics that need a
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
#: A frontal view's shoulders and hips span at least this share of twice the torso's length. Over
#: 93 development runners seen from behind within 8 deg of straight (``gaitlab synth --random``,
#: girth 0.8-1.35) the ratio was 0.39-0.67, the slimmest lowest; side views read up to 0.10, and
#: 0.13-0.27 filmed 15-25 deg off the side.
FRONTAL_MIN_WIDTH_RATIO = 0.30
#: ... and the ankles' image-x separation spreads over at most this many leg lengths. On the same
#: 93 runners it spread 0.03-0.26; runners rendered from behind with the camera turned 15, 25, 35
#: and 45 deg off spread 0.31-0.36, 0.58-0.60, 0.80-0.81 and 0.96-0.97 (girth 0.82 and 1.2 alike).
#: The limit lies midway between 0.26 and 0.59: up to about 20 deg off is frontal.
FRONTAL_MAX_FORE_AFT = 0.43


@dataclass(frozen=True)
class View:
    """``kind``: 'side', 'rear', 'front' or 'oblique'. ``facing``: +1 runner faces image-right,
    -1 image-left (side views; 0 otherwise). ``near_side``: the side nearer the camera in a side view
    (the runner's left when facing image-left)."""

    kind: str
    facing: int
    width_ratio: float
    confidence: float
    fore_aft: float = float("nan")

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
        fore_aft = d.get("fore_aft")
        return cls(d["kind"], int(d["facing"]), float(d["width_ratio"]), float(d["confidence"]),
                   float("nan") if fore_aft is None else float(fore_aft))


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
    fore_aft = ankle_fore_aft(lm)
    if ratio >= FRONTAL_MIN_WIDTH_RATIO and fore_aft <= FRONTAL_MAX_FORE_AFT:
        agree = float(np.mean(label_order(lm)[det] > 0))
        kind = "rear" if agree >= 0.5 else "front"
        return View(kind, 0, ratio, max(agree, 1 - agree), fore_aft)
    if ratio <= SIDE_MAX_WIDTH_RATIO:
        toe = 0.5 * (lm.xy("left_foot_index") + lm.xy("right_foot_index"))[det, 0]
        heel = 0.5 * (lm.xy("left_heel") + lm.xy("right_heel"))[det, 0]
        nose = lm.xy("nose")[det, 0]
        centre = 0.5 * (ls + rs)[:, 0]
        vote = np.sign(toe - heel) + np.sign(nose - centre)
        right = float(np.mean(vote > 0))
        left = float(np.mean(vote < 0))
        facing = 1 if right >= left else -1
        return View("side", facing, ratio, max(right, left), fore_aft)
    return View("oblique", 0, ratio, 0.0, fore_aft)


def ankle_fore_aft(lm: Landmarks) -> float:
    """The spread (5th to 95th percentile over the frames where the runner is found) of the ankles'
    image-x separation, in leg lengths (:func:`gaitlab.preprocess.leg_length_px`): near 0 seen from
    straight behind or in front, about 1 or more from the side (NaN where unknown)."""
    from .preprocess import leg_length_px

    det = lm.detected
    if not det.any():
        return float("nan")
    leg = leg_length_px(lm)[det]
    sep = (lm.xy("left_ankle")[det, 0] - lm.xy("right_ankle")[det, 0]) / np.where(leg > 0, leg, np.nan)
    # A frame whose labels the pose model mirrored (shoulders and hips in the other order) has its
    # ankles' labels mirrored too: its separation is turned back.
    sep = np.where(label_order(lm)[det] < 0, -sep, sep)
    sep = sep[np.isfinite(sep)]
    if sep.size < 2:
        return float("nan")
    lo, hi = np.percentile(sep, [5, 95])
    return float(hi - lo)
