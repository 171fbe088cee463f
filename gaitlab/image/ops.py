"""Small image operations shared by the pixel measurements (:mod:`gaitlab.image.pelvis`, :mod:`gaitlab.image.limbs`).

They run on every frame beside the pose model, so they are written as few OpenCV/numpy calls on
small crops: per-call overhead, not pixels, is what they cost.
"""

from __future__ import annotations

import cv2
import numpy as np

_CHANNEL_SUM = np.ones((1, 3), np.float32)


def lab_blurred(rgb: np.ndarray, ksize: int) -> np.ndarray:
    """An RGB uint8 crop in CIE Lab (float32, OpenCV's 8-bit scaling), Gaussian-blurred."""
    return cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32), (ksize, ksize), 0)


def colour_change(lab: np.ndarray, across: bool) -> np.ndarray:
    """The colour change per pixel (Lab vector per pixel, 3x3 Sobel), along x (``across``) or y."""
    return cv2.Sobel(lab, cv2.CV_32F, 1 if across else 0, 0 if across else 1, ksize=3)


def colour_gradient(lab: np.ndarray, across: bool) -> np.ndarray:
    """Magnitude of the colour change per pixel (Lab units, 3x3 Sobel), along x (``across``) or y."""
    d = colour_change(lab, across)
    return cv2.sqrt(cv2.transform(d * d, _CHANNEL_SUM))


def line_fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Least-squares line y = a x + b (closed form), minimising sum(weights * residual**2)."""
    w = np.ones_like(x, float) if weights is None else np.asarray(weights, float)
    sw = float(w.sum())
    xm, ym = float(np.dot(w, x)) / sw, float(np.dot(w, y)) / sw
    dx = x - xm
    den = float(np.dot(w * dx, dx))
    a = float(np.dot(w * dx, y - ym)) / den if den > 0 else 0.0
    return a, ym - a * xm


def quantile(a: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1, linear between order statistics, as ``np.quantile``) of a non-empty
    1-D array, by one partition: ``np.quantile`` costs several times more on the few hundred values
    of a crop."""
    pos = q * (a.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, a.size - 1)
    part = np.partition(a, (lo, hi))
    return float(part[lo] + (pos - lo) * (part[hi] - part[lo]))


def median(a: np.ndarray) -> float:
    """Median of a non-empty 1-D array (see :func:`quantile`)."""
    return quantile(a, 0.5)
