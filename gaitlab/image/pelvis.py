"""The pelvis's frontal tilt measured from the image, because BlazePose's hip landmarks do not follow it.

Seen from behind or in front, the waistband (the boundary between the top and the shorts or tights,
or the shorts' elastic band) is the one long, near-horizontal edge that is fixed to the pelvis. For
each frame, in a window above the hip landmarks, every image column's strongest vertical colour
change (Lab colour space, sub-pixel) of one kind is taken as a point of that boundary, and a
straight line is fitted to them by iteratively reweighted least squares. "Of one kind": the change
is measured along the window's main colour change (say shirt to band), so that the band's other
edge, which changes colour the opposite way, cannot pull the line across the band. Its tilt is the
pelvis's tilt in the image; the fraction of columns that agree with the line is its quality.

The hip landmarks serve only to place the window: centred between the hips, from 0.55 to 0.05
trunk lengths above them, as wide as 1.2 times the distance between the hip landmarks.

Assumptions and limits (say them to the user): the waistband must be visible and differ from the
top in colour or brightness; a loose top hanging over the shorts moves with the trunk, not the
pelvis, and a hand crossing the window corrupts that frame (such frames get low quality). On
rendered runners with exact truth the method followed the true drop with a gain near 0.9; the hip
landmark line followed 0.2-0.3 of it (see the validation notebook for the current figures).
"""

from __future__ import annotations

import cv2
import numpy as np

from .ops import colour_change, lab_blurred, line_fit, median, quantile
from ..schema import KEYPOINT_INDEX

LH, RH = KEYPOINT_INDEX["left_hip"], KEYPOINT_INDEX["right_hip"]
LS, RS = KEYPOINT_INDEX["left_shoulder"], KEYPOINT_INDEX["right_shoulder"]

#: Window above the hips, in trunk lengths (top, bottom) and in hip-landmark spans (half-width).
WINDOW_TOP, WINDOW_BOTTOM, WINDOW_HALF_WIDTH = 0.55, 0.05, 1.2
#: A column agrees with the fitted line when within this many pixels (at the analysis scale).
INLIER_PX = 1.5
#: Windows are resampled so the trunk is this many pixels long (resolution independence).
TRUNK_PX = 120.0
#: Tracking: search within this many trunk lengths of the previous frame's line.
TRACK_BAND = 0.05
#: Frames whose line fits fewer columns than this are unreliable (and reset the tracking).
MIN_QUALITY = 0.3
#: A line is taken for the waistband only where the colours either side of it differ by at least
#: this much (CIE76 delta E, :func:`line_contrast`): where top, waistband and shorts are of one
#: colour, or a loose top covers the band, the line is fitted through shading and compression
#: texture, which fits as many columns as a waistband does but differs by only a few delta E (a
#: just-noticeable difference is about 2). On 24 rendered runners seen from behind such lines read
#: 2-6, waistbands 18-99.
MIN_CONTRAST = 8.0
#: Tracking: a line in the band that fits less than this share of the columns the previous good
#: frame's line fitted is checked against a search of the whole window.
RETRY_SHARE = 0.8

#: The frame signals kept per frame: the line's tilt (deg, + = image-right end lower), its quality
#: (the fraction of the window's columns on it), its height (image y, pixels, at the window's
#: middle column: the pelvis's own height, free of the pose model's landmark smoothing, which
#: lags the true motion by one or two frames at 60 fps) and its contrast (the median colour
#: difference, CIE76 delta E, between :data:`CONTRAST_OFFSET_PX` above and below the line: a line
#: through faint texture, where the waistband does not show, fits well but has little; 0 where the
#: line runs along the window's top or bottom, so that one side of it is not seen).
WAISTBAND_SIGNALS = ("pelvis_tilt_deg", "pelvis_tilt_quality", "pelvis_line_y", "pelvis_line_contrast")
#: Their values in a frame without a line.
EMPTY_WAISTBAND = (float("nan"), 0.0, float("nan"), 0.0)
#: Where the colours either side of the line are read, in pixels at the analysis scale (about
#: 0.025 trunk lengths: beyond the blur, within a waistband's height).
CONTRAST_OFFSET_PX = 3


def _window(rgb: np.ndarray, kp: np.ndarray):
    """Crop around the waistband, resampled to :data:`TRUNK_PX` per trunk length, in Lab.
    Returns (lab crop, y of the hip midpoint in crop pixels, (image y of the crop's top, scale)) or
    None."""
    hips = 0.5 * (kp[LH] + kp[RH])
    shoulders = 0.5 * (kp[LS] + kp[RS])
    trunk = float(np.linalg.norm(shoulders - hips))
    span = float(abs(kp[RH, 0] - kp[LH, 0]))
    if not (np.isfinite(trunk) and np.isfinite(span)) or trunk < 10:
        return None
    half_w = max(WINDOW_HALF_WIDTH * span / 2, 0.2 * trunk)
    h, w = rgb.shape[:2]
    ix0, ix1 = int(max(np.floor(hips[0] - half_w), 0)), int(min(np.ceil(hips[0] + half_w), w))
    iy0 = int(max(np.floor(hips[1] - WINDOW_TOP * trunk), 0))
    iy1 = int(min(np.ceil(hips[1] - WINDOW_BOTTOM * trunk), h))
    if ix1 - ix0 < 8 or iy1 - iy0 < 6:
        return None
    scale = TRUNK_PX / trunk
    crop = cv2.resize(rgb[iy0:iy1, ix0:ix1], None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    return lab_blurred(crop, 5), (hips[1] - iy0) * scale, (iy0, scale)


class WaistbandTracker:
    """Follows the waistband line from frame to frame (one instance per clip, frames in order).

    Each frame's boundary points are searched within :data:`TRACK_BAND` trunk lengths of the line
    found in the previous good frame (moved with the hips), and as the same colour change (say
    shirt above, band below, not band above, shorts below), so the line does not jump to another
    edge (a sleeve, a fold, the band's other edge). The first frame, and any frame after a poor one,
    search the whole window for either change. The band is a hint, not a fence: where the line found
    in it fits fewer than :data:`RETRY_SHARE` of the columns the previous good frame's line fitted
    (the pelvis tipped or moved faster than the band allows, as at 30 fps in a large drop), the whole
    window is searched too and the line that fits more columns is kept.
    """

    def __init__(self):
        self.prior: tuple[float, float] | None = None  # (slope, height above the hips in crop px)
        self.prior_quality = 0.0
        self.prior_change: np.ndarray | None = None  # the boundary's colour change (unit Lab vector)

    def update(self, rgb: np.ndarray, keypoints_xy: np.ndarray) -> tuple[float, float, float, float]:
        """The waistband line's :data:`WAISTBAND_SIGNALS`: tilt (degrees, + = image-right end lower),
        quality (0..1), height (image y at the window's middle column) and contrast (delta E)."""
        win = _window(rgb, np.asarray(keypoints_xy, float))
        if win is None:
            self.prior = None
            return EMPTY_WAISTBAND
        lab, hip_row, (top, scale) = win
        change = colour_change(lab, across=False)
        rows, cols = change.shape[:2]
        if rows < 5 or cols < 8:
            return EMPTY_WAISTBAND
        fit = None
        if self.prior is not None:
            slope, above = self.prior
            expected = hip_row - above + slope * (np.arange(cols) - cols / 2)
            near = np.abs(np.arange(rows)[:, None] - expected[None, :]) <= TRACK_BAND * TRUNK_PX
            fit = _boundary_line(np.where(near[..., None], change, 0.0), [self.prior_change])
        if fit is None or fit[2] < RETRY_SHARE * self.prior_quality:
            anywhere = _boundary_line(change, _principal_changes(change))
            if anywhere is not None and (fit is None or anywhere[2] > fit[2]):
                fit = anywhere
        if fit is None:
            self.prior = None
            return EMPTY_WAISTBAND
        slope, centre_row, quality, direction = fit
        good = quality >= MIN_QUALITY
        self.prior = (slope, hip_row - centre_row) if good else None
        self.prior_quality = quality if good else 0.0
        self.prior_change = direction
        return (float(np.degrees(np.arctan(slope))), quality, float(top + centre_row / scale),
                _contrast(lab, slope, centre_row))


def _contrast(lab: np.ndarray, slope: float, centre_row: float) -> float:
    """Median colour difference (CIE76 delta E) across the line, read :data:`CONTRAST_OFFSET_PX`
    above and below it in every column where both lie inside the window."""
    rows, cols = lab.shape[:2]
    c = np.arange(cols)
    line = centre_row + slope * (c - cols / 2)
    above = np.rint(line - CONTRAST_OFFSET_PX).astype(int)
    below = np.rint(line + CONTRAST_OFFSET_PX).astype(int)
    inside = (above >= 0) & (below < rows)
    if not inside.any():
        return 0.0
    d = lab[above[inside], c[inside]] - lab[below[inside], c[inside]]
    d[:, 0] *= 100.0 / 255.0  # OpenCV's 8-bit L is scaled to 0..255
    return median(np.sqrt(np.einsum("ck,ck->c", d, d)))


def _principal_changes(change: np.ndarray) -> list[np.ndarray]:
    """The window's main colour change across a boundary, as the two opposite unit Lab vectors (the
    band's upper and lower edges change colour in opposite directions): the leading direction of
    each column's strongest change."""
    mag = np.sqrt(np.einsum("rck,rck->rc", change, change))
    cols = np.arange(change.shape[1])
    v = change[np.argmax(mag, axis=0), cols]
    _, vectors = np.linalg.eigh(v.T @ v)
    u = vectors[:, -1]
    return [u, -u]


def _boundary_line(change: np.ndarray, directions: list[np.ndarray]) -> tuple | None:
    """The straight line through each column's strongest colour change along one of ``directions``
    (unit Lab vectors; the best-fitting is kept): (slope, row at the middle column, quality =
    fraction of columns within :data:`INLIER_PX`, the direction), or None where too few columns have
    an edge."""
    best = None
    for u in directions:
        fit = _line_along(np.maximum(change @ u.astype(np.float32), 0.0))
        if fit is not None and (best is None or fit[2] > best[2]):
            best = (*fit, u)
    return best


def _line_along(gy: np.ndarray) -> tuple[float, float, float] | None:
    """(slope, row at the middle column, quality) of the line through each column's strongest
    edge in the edge-strength map ``gy``, or None."""
    rows, cols = gy.shape
    c = np.arange(cols)
    r = np.clip(np.argmax(gy[1:-1], axis=0) + 1, 1, rows - 2)
    a, b, d = gy[r - 1, c], gy[r, c], gy[r + 1, c]
    den = a - 2 * b + d
    y = r + np.where(den < 0, 0.5 * (a - d) / np.where(den < 0, den, -1.0), 0.0)
    strong = b > max(quantile(b, 0.3), 1e-6)
    if strong.sum() < 8:
        return None
    # Weighted by the squared edge strength: a strong, clean edge outweighs faint texture.
    x, y, wts = c[strong].astype(float), y[strong], b[strong].astype(float) ** 2
    keep = np.ones(x.size, bool)
    for _ in range(4):
        if keep.sum() < 6:
            return None
        slope, offset = line_fit(x[keep], y[keep], wts[keep])
        res = np.abs(slope * x + offset - y)
        keep = res < max(INLIER_PX, 2.0 * median(res[keep]))
    quality = float(np.sum(np.abs(slope * x + offset - y) < INLIER_PX) / cols)
    return slope, slope * cols / 2 + offset, quality


def line_contrast(frame_signals: dict, n_frames: int) -> np.ndarray:
    """The ``pelvis_line_contrast`` frame signal; landmarks saved before it was kept have none, and
    their lines are taken as contrasting (infinite)."""
    return frame_signals.get("pelvis_line_contrast", np.full(n_frames, np.inf))


def line_found(frame_signals: dict, n_frames: int) -> np.ndarray | None:
    """Per frame, whether a waistband line was found: fitted to at least :data:`MIN_QUALITY` of the
    window's columns, with colours either side differing by at least :data:`MIN_CONTRAST`. None
    where the landmarks carry no waistband signals."""
    tilt = frame_signals.get("pelvis_tilt_deg")
    quality = frame_signals.get("pelvis_tilt_quality")
    if tilt is None or quality is None:
        return None
    return np.isfinite(tilt) & (quality >= MIN_QUALITY) & (line_contrast(frame_signals, n_frames) >= MIN_CONTRAST)


def waistband_tilt(rgb: np.ndarray, keypoints_xy: np.ndarray) -> tuple[float, float, float, float]:
    """:data:`WAISTBAND_SIGNALS` of the waistband line in a single frame, searched in the whole window."""
    return WaistbandTracker().update(rgb, keypoints_xy)
