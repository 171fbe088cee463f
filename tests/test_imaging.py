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


def _runner_waist(tilt_deg: float, size: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """A frame of a runner's back: top and shorts of one colour with a white band between them, the
    band tilted by ``tilt_deg`` (+ = image-right end lower), and keypoints placing the hips under it."""
    from gaitlab.schema import KEYPOINT_INDEX as K

    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    across = (yy - 240.0) * np.cos(np.radians(tilt_deg)) - (xx - 200.0) * np.sin(np.radians(tilt_deg))
    white = np.clip(10.5 - np.abs(across), 0.0, 1.0)[..., None]  # 20 px band, anti-aliased edges
    rgb = (1 - white) * np.array([120.0, 50.0, 40.0]) + white * np.array([235.0, 235.0, 240.0])
    rgb = np.clip(rgb + np.random.default_rng(0).normal(0, 2.0, rgb.shape), 0, 255).astype(np.uint8)  # sensor noise
    kp = np.full((33, 2), np.nan)
    kp[K["left_hip"]], kp[K["right_hip"]] = (170.0, 300.0), (230.0, 300.0)
    kp[K["left_shoulder"]], kp[K["right_shoulder"]] = (160.0, 100.0), (240.0, 100.0)
    return rgb, kp


def test_waistband_tracker_follows_a_fast_tilt_on_one_edge_of_the_band():
    """Top and shorts of one colour make the band's two edges equally strong and opposite; the line
    must stay on one of them, frame after frame, while the pelvis tips by several degrees a frame
    (a 10 deg drop filmed at 30 fps), instead of cutting across the band from one edge to the other."""
    from gaitlab.image.pelvis import WaistbandTracker, waistband_tilt

    tracker = WaistbandTracker()
    heights = []
    for tilt in (0.0, 0.5, -6.0, -9.0, -3.0, 2.0, 7.0, 0.0):
        rgb, kp = _runner_waist(tilt)
        found, quality, height, contrast = tracker.update(rgb, kp)
        single = waistband_tilt(rgb, kp)[0]
        assert found == pytest.approx(tilt, abs=0.5) and single == pytest.approx(tilt, abs=0.5)
        assert quality > 0.6
        assert 60 < contrast < 80  # the band against the top: delta E 73
        heights.append(height)
    # The same edge throughout (the band's edges are 20 px apart at the window's middle).
    assert np.ptp(heights) < 5


def test_a_line_through_noise_where_no_waistband_shows_has_little_contrast():
    """Top, band and shorts of one colour: whatever line the noise gives, its contrast says there is
    no colour change at the waist (the band of the test above reads about 73)."""
    from gaitlab.image.pelvis import waistband_tilt

    rgb, kp = _runner_waist(3.0)
    plain = np.clip(np.array([120.0, 50.0, 40.0]) + np.random.default_rng(1).normal(0, 2.0, rgb.shape), 0, 255)
    assert waistband_tilt(plain.astype(np.uint8), kp)[3] < 3.0
