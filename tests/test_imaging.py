"""The small image helpers behind the pixel measurements agree with their numpy/OpenCV definitions."""

import cv2
import numpy as np
import pytest

from gaitlab.image.ops import colour_gradient, lab_blurred, line_fit, median, quantile


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 500])
def test_quantile_and_median_match_numpy(n):
    x = np.random.default_rng(n).normal(size=n).astype(np.float32)
    for q in (0.0, 0.3, 0.5, 0.9, 1.0):
        assert quantile(x, q) == pytest.approx(float(np.quantile(x, q)), abs=1e-6)
    assert median(x) == pytest.approx(float(np.median(x)), abs=1e-6)


def test_weighted_line_fit_matches_polyfit():
    rng = np.random.default_rng(1)
    x = np.arange(40, dtype=float)
    y = 0.3 * x - 2 + rng.normal(scale=0.5, size=x.size)
    w = rng.uniform(0.1, 3.0, size=x.size)
    # np.polyfit weights the residuals, so its weights are the square roots of line_fit's.
    assert np.allclose(line_fit(x, y, w), np.polyfit(x, y, 1, w=np.sqrt(w)))
    assert np.allclose(line_fit(x, y), np.polyfit(x, y, 1))
    assert line_fit(np.full(5, 2.0), np.arange(5.0)) == (0.0, 2.0)  # vertical data: flat line through the mean


def test_colour_gradient_is_the_lab_sobel_magnitude():
    rgb = np.random.default_rng(2).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    lab = lab_blurred(rgb, 3)
    assert np.allclose(lab, cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32), (3, 3), 0))
    for across, (dx, dy) in ((True, (1, 0)), (False, (0, 1))):
        expected = np.sqrt(np.sum(cv2.Sobel(lab, cv2.CV_32F, dx, dy, ksize=3) ** 2, axis=2))
        assert np.allclose(colour_gradient(lab, across), expected, rtol=1e-5, atol=1e-3)
