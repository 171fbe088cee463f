"""Limb axes measured from the image, because BlazePose's joint keypoints drift off the joint centres.

On rendered runners with exact truth, BlazePose puts the knee keypoint up to 12 px (at 640x480)
ahead of the knee joint when the leg is nearly straight, so a shank angle from the knee and ankle
keypoints read up to 9 deg too vertical at a long-legged landing. The limb itself is in the image:
a shank or thigh is a long region of one colour (skin, tights, socks) with two near-parallel edges,
and its axis is the midline between them.

:func:`limb_axis` takes the keypoints only as a first guess. It resamples a band along part of
the keypoint segment (:data:`BANDS`; :data:`HALF_WIDTH` segment lengths either side) so that the
segment runs down the middle, and in each row takes as the limb's edges the sharp colour changes
(Lab) nearest the centre line on either side.
A straight line fitted to the runs' midpoints, by least squares with outliers dropped, is the limb
axis; the fraction of rows that gave a plausible run (width :data:`WIDTH_RANGE` of the segment
length) on the axis is its quality, and the fraction whose width also agrees with the limb's width
line (:data:`WIDTH_TOLERANCE`) its width quality.

Assumptions and limits: the limb differs in colour from what lies beside it; where the other leg
crosses it in the same colour, or a hand, the run widens or breaks and the row is dropped
(quality falls). The keypoints must land on the limb: when both are off it the band misses the
limb and quality is near zero. A tapered limb (the calf bulges at the back) tilts the midline a
little toward the bulge.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .ops import colour_gradient, lab_blurred, line_fit, median

#: Part of each limb used, as fractions of its length from the proximal joint: the joints are
#: left out (the knee is wider than the shank below it, and from behind, with the knee bent and
#: turned in, the thigh's end reaches a quarter of the way down the shank), and the top of the
#: thigh, which shorts cover in another colour. Starting the shank at 0.25 instead of 0.15 took
#: the largest FPPA error over the rendered rear-view ladder from 3.4 to 2.4 deg.
BANDS = {"thigh": (0.4, 0.85), "shank": (0.25, 0.85)}
#: Half-width of the band, in segment lengths.
HALF_WIDTH = 0.4
#: The band is resampled so the segment is this many pixels long (resolution independence).
SEGMENT_PX = 100
#: A row's run is plausible when its width is within this range, in segment lengths.
WIDTH_RANGE = (0.06, 0.5)
#: An edge candidate is a colour step across the limb (CIE Lab gradient, OpenCV's 8-bit scaling,
#: units per band pixel) at least this strong...
MIN_EDGE = 6.0
#: ... and the strongest within this many band pixels along its row (about a twentieth of
#: the segment, a third of a shank's width). A shaded side darkens toward the silhouette in a ramp
#: whose steps are weaker than the silhouette's own step close beyond them; the other leg's white
#: shoe, a treadmill rail or any brighter edge farther out does not hide a nearer, fainter edge.
#: (Measuring the strength against the row's strongest edge instead let the other foot's white
#: shoe hide a dark-skinned shank's edge: the axis read 9-10 deg off on independently rendered
#: runners.)
EDGE_SPACING = 5
#: Rows with an edge candidate within this many band pixels of the centre line give no run (the
#: keypoint segment lies on the limb's edge or off the limb there).
CENTRE_CLEAR = 2
#: The limb's axis turns at most this far from the keypoint segment it is searched along: on
#: rendered runners the keypoint shank was at most 10 deg off the true shank, and a line turned
#: further is the edge of something crossing the band (a belt's stripes, the other leg).
MAX_TURN_DEG = 20.0
#: ``width_quality`` counts only the rows whose run's width is within this fraction of the limb's
#: width line (fitted over the rows on the axis): a run whose width jumps has an edge on the other
#: leg, the belt or the shorts. Seen from behind or in front the shank is straight-sided and the
#: frontal angles use it; from the side the calf bulges and the shank angle keeps ``quality``.
#: On 24 dev rendered runners seen from behind (every other stance frame), the shank axes passing
#: :data:`MIN_QUALITY` went from 82 % of frames, 95 % within 9.3 deg of the true shank, to 55 %,
#: 95 % within 5.9 deg.
WIDTH_TOLERANCE = 0.1
#: ... and never less than this many band pixels (each edge is placed to about a pixel).
WIDTH_TOLERANCE_PX = 2.0
#: A limb axis is used when at least this fraction of rows gave a run that agrees with the axis
#: (``quality``; from behind or in front, and with the limb's width line: ``width_quality``).
MIN_QUALITY = 0.5

#: The limb segments measured in every frame: name -> (limb, proximal keypoint, distal keypoint).
SEGMENTS = {f"{side}_shank": ("shank", f"{side}_knee", f"{side}_ankle") for side in ("left", "right")}
#: The numbers kept per limb and frame (frame signals ``<limb>_<field>``).
FIELDS = ("axis_x", "axis_y", "centre_x", "centre_y", "quality", "width_quality")
#: The fields that read 0, not NaN, where nothing was found.
QUALITY_FIELDS = ("quality", "width_quality")


def sample_band(rgb: np.ndarray, a, b, band=BANDS["shank"]):
    """The image resampled along the segment ``a``->``b`` (image pixels): rows run along the segment
    over the fractions ``band`` of its length, columns across it, :data:`SEGMENT_PX` band pixels per
    segment length, the segment down the middle column.

    Returns (RGB band, 2x3 affine map from band pixel (x, y) to image point), or None when the
    segment is too short or not finite.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = float(np.linalg.norm(b - a))
    if not (np.isfinite(length) and length >= 8):
        return None
    u = (b - a) / length
    n = np.array([-u[1], u[0]])
    s = length / SEGMENT_PX  # image pixels per band pixel
    w, h = int(2 * HALF_WIDTH * SEGMENT_PX), int((band[1] - band[0]) * SEGMENT_PX)
    origin = a + u * band[0] * length - n * (w / 2) * s
    # Band pixel (x, y) -> image point origin + n * x * s + u * y * s.
    m = np.array([[n[0] * s, u[0] * s, origin[0]], [n[1] * s, u[1] * s, origin[1]]])
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    return out, m


def limb_edges(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The limb's edges in each row of a band (:func:`sample_band`): columns (left, right), -1 and
    the band width where that side's edge was not found.

    An edge candidate is a colour step across the limb: a local maximum of the CIE Lab gradient
    along the row, at least :data:`MIN_EDGE` strong, that stands on its own: going outward from it,
    the gradient falls below half its strength before any stronger step within
    :data:`EDGE_SPACING` band pixels. The limb's edges are the candidates nearest the centre line on
    either side; rows with a candidate within :data:`CENTRE_CLEAR` of the centre line give none.
    """
    grad = colour_gradient(lab_blurred(band, 3), across=True)
    w = band.shape[1]
    c = w // 2
    cols = np.arange(w)
    edge = np.zeros_like(grad, bool)
    edge[:, 1:-1] = (grad[:, 1:-1] >= grad[:, :-2]) & (grad[:, 1:-1] > grad[:, 2:]) & (grad[:, 1:-1] >= MIN_EDGE)
    # For each candidate, the gradient 1..EDGE_SPACING pixels outward (toward column 0 left of the
    # centre line, toward the last column right of it) and inward: (candidates, EDGE_SPACING).
    rr, cc = np.nonzero(edge)
    padded = np.pad(grad, ((0, 0), (EDGE_SPACING, EDGE_SPACING)))
    step = np.arange(1, EDGE_SPACING + 1)[None, :] * np.where(cc < c, -1, 1)[:, None]
    beyond = padded[rr[:, None], EDGE_SPACING + cc[:, None] + step]
    within = padded[rr[:, None], EDGE_SPACING + cc[:, None] - step]
    g = grad[rr, cc][:, None]
    # Outward, a stronger step reached before the gradient fell below half: this one is its shoulder.
    below = beyond < 0.5 * g
    fell_before = (np.cumsum(below, axis=1) - below) > 0
    edge[rr, cc] = ~((beyond > g) & ~fell_before).any(axis=1) & (within <= g).all(axis=1)
    left = np.where(edge & (cols < c), cols, -1).max(axis=1)
    right = np.where(edge & (cols > c), cols, w).min(axis=1)
    # The segment must run inside the limb: a row with an edge on the centre line gives none.
    inside = ~edge[:, c - CENTRE_CLEAR:c + CENTRE_CLEAR + 1].any(axis=1)
    return np.where(inside, left, -1), np.where(inside, right, w)


@lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def limb_axis(rgb: np.ndarray, a, b, band=BANDS["shank"]) -> np.ndarray:
    """The limb's axis near the segment from keypoint ``a`` to ``b`` (image pixels, x right, y down),
    searched over the fractions ``band`` of the segment.

    Returns ``[axis_x, axis_y, centre_x, centre_y, quality, width_quality]``: a unit vector along
    the limb pointing from ``a``'s end to ``b``'s, a point on the axis at mid-band, the fraction of
    rows that gave a plausible run on the axis, and the fraction of those whose width agrees with
    the limb's width line (0 when nothing was found; the other values are then NaN).
    """
    nan = np.array([np.nan, np.nan, np.nan, np.nan, 0.0, 0.0])
    sampled = sample_band(rgb, a, b, band)
    if sampled is None:
        return nan
    img, m = sampled
    h, w = img.shape[:2]
    left, right = limb_edges(img)
    width = right - left
    ok = (left >= 0) & (right < w) \
        & (width >= WIDTH_RANGE[0] * SEGMENT_PX) & (width <= WIDTH_RANGE[1] * SEGMENT_PX)
    rows = np.arange(h, dtype=float)
    if ok.sum() < max(6, 0.2 * h):
        return nan
    y, mid = rows[ok], 0.5 * (left[ok] + right[ok])
    # A robust start (Theil-Sen: the median slope over pairs of rows), so a run of rows where an
    # edge jumped to something else beside the limb does not tilt the line, then least squares
    # over the rows that agree with it.
    i, j = _pairs(y.size)
    far = (y[j] - y[i]) >= 0.25 * h
    slope = median((mid[j] - mid[i])[far] / (y[j] - y[i])[far]) if far.any() else 0.0
    coef = (slope, median(mid - slope * y))
    for _ in range(3):
        res = np.abs(coef[0] * y + coef[1] - mid)
        keep = res <= max(1.0, 2.5 * median(res))
        if keep.sum() < 6:
            return nan
        coef = line_fit(y[keep], mid[keep])
    if abs(coef[0]) > np.tan(np.radians(MAX_TURN_DEG)):
        return nan  # edges of something else that crosses the band (keypoints off the limb)
    # A limb's width changes smoothly along it (the calf tapers to the ankle): a row whose run is
    # much wider or narrower than the width line through the others has an edge on something else.
    width_ok = width[ok].astype(float)
    w_slope, w_offset = line_fit(y[keep], width_ok[keep])
    tolerance = max(WIDTH_TOLERANCE * median(width_ok[keep]), WIDTH_TOLERANCE_PX)
    consistent = keep & (np.abs(width_ok - (w_slope * y + w_offset)) <= tolerance)
    quality, width_quality = float(keep.sum() / h), float(consistent.sum() / h)
    # The fitted midline x = coef[0] * y + coef[1] in band pixels, mapped back to the image.
    direction = m[:, :2] @ np.array([coef[0], 1.0])
    direction /= np.linalg.norm(direction)
    yc = h / 2
    centre = m @ np.array([coef[0] * yc + coef[1], yc, 1.0])
    return np.array([direction[0], direction[1], centre[0], centre[1], quality, width_quality])


def limb_axes(rgb: np.ndarray, keypoints_xy: np.ndarray, index: dict[str, int]) -> dict[str, float]:
    """Every limb of :data:`SEGMENTS` in one frame, as frame-signal values ``<limb>_<field>``."""
    out = {}
    for name, (limb, pa, pb) in SEGMENTS.items():
        values = limb_axis(rgb, keypoints_xy[index[pa]], keypoints_xy[index[pb]], BANDS[limb])
        out.update({f"{name}_{f}": float(v) for f, v in zip(FIELDS, values)})
    return out


def empty_axes() -> dict[str, float]:
    return {f"{limb}_{f}": (0.0 if f in QUALITY_FIELDS else float("nan")) for limb in SEGMENTS for f in FIELDS}


def matched_axis(signals: dict, limb: str, frames: np.ndarray, a: np.ndarray, b: np.ndarray,
                 tolerance: float = 0.25, quality: str = "quality") -> tuple[np.ndarray, np.ndarray]:
    """For each frame in ``frames``, the measured axis of the limb that lies on the segment
    ``a``->``b`` (cleaned keypoints, (N, 2) each): unit vectors (N, 2) oriented like ``a``->``b``
    and points on the axis (N, 2), NaN where none fits.

    Both legs' measurements are candidates, since the raw keypoint labels a measurement was placed
    by can be swapped: the one whose centre lies within ``tolerance`` segment lengths of the
    segment's midpoint and whose ``quality`` field (``quality``, or ``width_quality`` where the limb
    is seen straight-sided, from behind or in front) passes :data:`MIN_QUALITY` is taken, the
    nearer if both; landmarks saved before ``width_quality`` was kept use ``quality``.
    """
    frames = np.asarray(frames, int)
    seg = b - a
    length = np.linalg.norm(seg, axis=-1)
    midpoint = 0.5 * (a + b)
    best = np.full(frames.shape + (2,), np.nan)
    best_centre = np.full(frames.shape + (2,), np.nan)
    best_d = np.full(frames.shape, np.inf)
    for s in ("left", "right"):
        name = f"{s}_{limb}"
        if f"{name}_quality" not in signals:
            continue
        get = lambda f: np.asarray(signals[f"{name}_{f}"], float)[frames]  # noqa: E731
        axis = np.stack([get("axis_x"), get("axis_y")], -1)
        centre = np.stack([get("centre_x"), get("centre_y")], -1)
        d = np.linalg.norm(centre - midpoint, axis=-1) / np.maximum(length, 1e-6)
        field = quality if f"{name}_{quality}" in signals else "quality"
        good = (get(field) >= MIN_QUALITY) & (d <= tolerance) & (d < best_d) & np.isfinite(d)
        sign = np.sign(np.sum(axis * seg, axis=-1))[..., None]
        best = np.where(good[..., None], axis * sign, best)
        best_centre = np.where(good[..., None], centre, best_centre)
        best_d = np.where(good, d, best_d)
    return best, best_centre


def segment_directions(signals: dict, limb: str, frames: np.ndarray, a: np.ndarray, b: np.ndarray,
                       quality: str = "quality"):
    """Directions of a limb at ``frames``: the measured axis (:func:`matched_axis`, with its
    ``quality`` field) where one fits, else the keypoint segment ``b - a``. Returns (directions
    (N, 2), points on the measured axes (N, 2), NaN where none), measured (N,) bool)."""
    axis, centre = matched_axis(signals, limb, frames, a, b, quality=quality)
    measured = np.isfinite(axis).all(axis=-1)
    return np.where(measured[..., None], axis, b - a), centre, measured
