"""Small least-squares fits shared by the event and metric stages, vectorised over many windows."""

from __future__ import annotations

import numpy as np

#: Samples a hinge needs on each side of its breakpoint.
HINGE_MIN_SIDE = 2


def hinge_fit(x: np.ndarray, y: np.ndarray, breakpoints: np.ndarray, turn: int = -1):
    """Least-squares hinge ``y = a + b (x - x0) + c max(x - x0, 0)`` for each row of ``x``, ``y``
    ((S, W); NaN in ``y`` = no sample), the breakpoint ``x0`` chosen from ``breakpoints`` ((S, B))
    among those where the line turns the way ``turn`` says (-1: down, ``c < 0``; +1: up) with
    :data:`HINGE_MIN_SIDE` samples on each side. One sample is left out, the one whose leaving out
    fits best, so that a single stray measurement (a limb axis taken from the other leg, a keypoint
    thrown off for a frame) cannot bend the hinge. Returns (value at the breakpoint a, breakpoint
    x0), NaN for rows without a hinge."""
    s, w = y.shape
    left_out = np.where(np.eye(w, dtype=bool)[None, :, :], np.nan, y[:, None, :]).reshape(s * w, w)
    a, x0, sse = _hinge_once(np.repeat(x, w, axis=0), left_out, np.repeat(breakpoints, w, axis=0), turn)
    best = np.argmin(sse.reshape(s, w), axis=1)
    pick = np.arange(s) * w + best
    return a[pick], x0[pick]


def _hinge_once(x, y, breakpoints, turn):
    """The best hinge of each row: (a, x0, sum of squared residuals), inf/NaN where none fits."""
    ok = np.isfinite(y)
    w = ok.astype(float)[:, None, :]
    y0 = np.where(ok, y, 0.0)
    d = x[:, None, :] - breakpoints[:, :, None]                       # (S, B, W)
    design = np.stack([np.ones_like(d), d, np.maximum(d, 0.0)], -1)    # (S, B, W, 3)
    weighted = design * w[..., None]
    normal = np.einsum("sbwi,sbwj->sbij", weighted, design) + 1e-9 * np.eye(3)
    coef = np.linalg.solve(normal, np.einsum("sbwi,sw->sbi", weighted, y0)[..., None])[..., 0]
    sse = np.sum(w * (np.einsum("sbwi,sbi->sbw", design, coef) - y0[:, None, :]) ** 2, -1)
    enough = (np.sum(w * (d < 0), -1) >= HINGE_MIN_SIDE) & (np.sum(w * (d >= 0), -1) >= HINGE_MIN_SIDE)
    sse = np.where(enough & (turn * coef[..., 2] > 0), sse, np.inf)
    best = np.argmin(sse, axis=1)
    rows = np.arange(len(best))
    found = np.isfinite(sse[rows, best])
    return (np.where(found, coef[rows, best, 0], np.nan), np.where(found, breakpoints[rows, best], np.nan),
            sse[rows, best])
