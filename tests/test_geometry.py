"""Geometry kernels on tiny arrays with answers worked out by hand, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaitlab.geometry import (angle_to_vertical_deg, flexion_deg, fppa_deg, frontal_inclination_deg,
                              rotate_points, segment_angle_from_horizontal_deg, tilt_deg)


def test_straight_leg_has_zero_flexion_and_right_angle_is_90():
    assert flexion_deg([0, 0], [0, 1], [0, 2]) == pytest.approx(0)
    assert flexion_deg([0, 0], [0, 1], [1, 1]) == pytest.approx(90)


def test_fppa_sign_is_valgus_toward_the_midline_in_either_frontal_view():
    # Rear view, runner's left leg on image left; the other hip (midline side) is to the right.
    hip, ankle, other_hip = np.array([100.0, 0]), np.array([100.0, 200]), np.array([150.0, 0])
    knee_medial = np.array([110.0, 100])
    knee_lateral = np.array([90.0, 100])
    assert fppa_deg(hip, knee_medial, ankle, other_hip) == pytest.approx(2 * np.degrees(np.arctan(0.1)))
    assert fppa_deg(hip, knee_lateral, ankle, other_hip) == pytest.approx(-2 * np.degrees(np.arctan(0.1)))
    # Mirror the image (front view): the same anatomy keeps its sign.
    m = lambda p: np.array([-p[0], p[1]])
    assert fppa_deg(m(hip), m(knee_medial), m(ankle), m(other_hip)) == pytest.approx(2 * np.degrees(np.arctan(0.1)))


def test_level_hips_have_zero_tilt_and_lower_end_is_positive():
    assert tilt_deg([0, 0], [10, 0]) == pytest.approx(0)
    assert tilt_deg([0, 0], [10, 10]) == pytest.approx(45)    # p_to lower (y down)
    assert tilt_deg([10, 10], [0, 0]) == pytest.approx(-45)   # direction of the line does not matter
    assert tilt_deg([0, 0], [-10, 10]) == pytest.approx(45)


def test_shank_angle_sign_follows_the_facing_direction():
    knee, ankle_ahead = np.array([0.0, 0]), np.array([-10.0, 100])
    assert angle_to_vertical_deg(knee, ankle_ahead, forward=(-1, 0)) == pytest.approx(np.degrees(np.arctan(0.1)))
    assert angle_to_vertical_deg(knee, ankle_ahead, forward=(1, 0)) == pytest.approx(-np.degrees(np.arctan(0.1)))


def test_foot_angle_positive_when_toes_up():
    heel, toe = np.array([0.0, 100]), np.array([-100.0, 90])  # facing left, toe 10 px higher
    assert segment_angle_from_horizontal_deg(heel, toe, forward=(-1, 0)) == pytest.approx(np.degrees(np.arctan(0.1)))


def test_hip_adduction_positive_when_knee_toward_midline():
    hip, other = np.array([100.0, 0]), np.array([160.0, 0])
    assert frontal_inclination_deg(hip, [110.0, 100], other) == pytest.approx(np.degrees(np.arctan(0.1)))
    assert frontal_inclination_deg(hip, [90.0, 100], other) == pytest.approx(-np.degrees(np.arctan(0.1)))


coords = st.floats(-500, 500, allow_nan=False)
points = st.tuples(coords, coords).map(np.array)


@settings(max_examples=200, deadline=None)
@given(points, points, points, points, coords, coords, st.floats(0.2, 5))
def test_angles_are_invariant_to_translation_and_scale(hip, knee, ankle, ref, dx, dy, k):
    if min(np.linalg.norm(knee - hip), np.linalg.norm(ankle - knee), np.linalg.norm(ankle - hip)) < 1:
        return
    line = ankle - hip
    off = lambda p: abs(line[0] * (p - hip)[1] - line[1] * (p - hip)[0]) / np.linalg.norm(line)
    if off(ref) < 1 or off(knee) < 1e-3:  # medial side or knee side undefined on the line itself
        return
    f = lambda p: p * k + np.array([dx, dy])
    a = fppa_deg(hip, knee, ankle, ref)
    b = fppa_deg(f(hip), f(knee), f(ankle), f(ref))
    assert a == pytest.approx(b, abs=1e-6)
    assert flexion_deg(hip, knee, ankle) == pytest.approx(flexion_deg(f(hip), f(knee), f(ankle)), abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(points, points, st.floats(-20, 20))
def test_rolling_the_image_adds_the_roll_to_a_tilt(a, b, roll):
    if abs(b[0] - a[0]) < 5 or abs(np.degrees(np.arctan2(b[1] - a[1], abs(b[0] - a[0])))) > 60:
        return
    before = float(tilt_deg(a, b))
    ra, rb = rotate_points(np.stack([a, b]), roll if b[0] > a[0] else -roll, centre=(320, 240))
    assert float(tilt_deg(ra, rb)) == pytest.approx(before + roll, abs=1e-6)
