"""Gait events and sagittal metrics against exact truth: rendered runners through the real pose model
(cadence is in tests/test_cadence.py)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SAMPLES
from gaitlab.analysis import analyze_landmarks
from gaitlab.config import RunnerInfo
from gaitlab.references import constant, data
from gaitlab.synth import load_truth
from gaitlab.validation import match_steps


def analysed(lm, truth):
    result = analyze_landmarks(lm, RunnerInfo(height_m=truth["params"]["height_m"]))
    return result, match_steps(result.valid_steps, truth)


@pytest.fixture(scope="module")
def sixty_fps_side_clips(synthetic, pose_cache):
    clips = []
    for name in ("side_left_normal", "side_right_overstride"):
        truth = load_truth(SAMPLES / f"{name}.truth.json")
        clips.append((name, truth, pose_cache(SAMPLES / f"{name}.mp4")))
    for os_cm in (0, 10, 20):
        _, truth, lm = synthetic(f"overstride{os_cm}", overstride_cm=os_cm, view="side_right", seed=os_cm + 7,
                                 duration_s=4.0)
        clips.append((f"overstride{os_cm}", truth, lm))
    return clips


@pytest.fixture(scope="module")
def straight_forefoot(synthetic):
    """A runner unlike the ladder's: landing on the forefoot (5 deg toes down) with the knee almost
    straight (10 deg), so a constant or a value copied from another runner cannot pass."""
    _, truth, lm = synthetic("straight_forefoot", overstride_cm=10, view="side_right", seed=31, duration_s=4.0,
                             knee_flexion_ic_deg=10.0, foot_angle_ic_deg=-5.0)
    return truth, lm


def test_initial_contacts_within_one_frame_at_60fps(sixty_fps_side_clips):
    """Every contact gaitlab found (also those of steps later left out for an implausible toe-off)."""
    errors = []
    for name, truth, lm in sixty_fps_side_clips:
        result = analyze_landmarks(lm, RunnerInfo(height_m=truth["params"]["height_m"]))
        matched = match_steps(result.steps, truth)
        errors.append(matched.ic_error_frames.to_numpy())
        assert len(matched) >= 0.8 * len(truth["steps"]), name  # contacts are found, not skipped
    errors = np.concatenate(errors)
    share = np.mean(np.abs(errors) <= 1)
    print(f"IC within 1 frame at 60 fps: {share:.3f} of {errors.size} steps; bias {errors.mean():+.2f} frames")
    assert share >= 0.90


def test_toe_offs_within_one_frame_at_60fps(sixty_fps_side_clips):
    errors = []
    for _, truth, lm in sixty_fps_side_clips:
        _, matched = analysed(lm, truth)
        errors.append(matched.to_error_frames.dropna().to_numpy())
    errors = np.concatenate(errors)
    print(f"TO within 1 frame at 60 fps: {np.mean(np.abs(errors) <= 1):.3f} of {errors.size}")
    assert np.mean(np.abs(errors) <= 1) >= 0.85


def test_toe_off_is_the_last_belt_riding_frame_before_the_toe_lifts():
    """BlazePose's toe keypoint stalls for a few frames mid-stance as the other foot passes it: the
    toe stays on the ground but stops riding the belt. The toe-off is still the last riding frame
    before the lift, not the end of the longer run before the stall."""
    from gaitlab.events import toe_off_frame

    # Stance frames 0-15 (the toe lifts at 16); riding 0-8, stalled 9-11, riding 12-14.
    on_ground = np.r_[np.ones(16, bool), np.zeros(6, bool)]
    riding = np.r_[np.ones(9, bool), np.zeros(3, bool), np.ones(3, bool), np.zeros(7, bool)]
    assert toe_off_frame(on_ground, riding) == 14
    # A stall just after contact with the toe still coming down changes nothing.
    on_ground[:3] = False
    assert toe_off_frame(on_ground, riding) == 14
    # No lift within the window, or never riding after the contact frame: no toe-off.
    assert toe_off_frame(np.ones(22, bool), riding) is None
    assert toe_off_frame(on_ground, np.r_[True, np.zeros(21, bool)]) is None


def _leg_landmarks(flexion_deg, fps=60.0, shank_axis=None):
    """Landmarks whose left and right legs bend by ``flexion_deg`` (one value per frame): thigh
    straight down, shank turned back; ``shank_axis`` ((T, 2) unit vectors, or None) is the shank's
    measured axis for the left leg, through the knee, with its centre half-way down the shank."""
    from gaitlab.landmarks import Landmarks
    from gaitlab.schema import KEYPOINT_INDEX, KEYPOINTS

    n, k = flexion_deg.size, len(KEYPOINTS)
    r = np.radians(flexion_deg)
    hip, knee = np.array([300.0, 200.0]), np.array([300.0, 300.0])
    ankle = knee + 100.0 * np.stack([-np.sin(r), np.cos(r)], -1)
    image = np.zeros((n, k, 3), np.float32)
    for side, dx in (("left", 0.0), ("right", 100.0)):  # the right leg 100 px further along
        image[:, KEYPOINT_INDEX[f"{side}_hip"], 0] = hip[0] + dx
        image[:, KEYPOINT_INDEX[f"{side}_knee"], 0] = knee[0] + dx
        image[:, KEYPOINT_INDEX[f"{side}_ankle"], 0] = ankle[:, 0] + dx
        image[:, KEYPOINT_INDEX[f"{side}_hip"], 1] = hip[1]
        image[:, KEYPOINT_INDEX[f"{side}_knee"], 1] = knee[1]
        image[:, KEYPOINT_INDEX[f"{side}_ankle"], 1] = ankle[:, 1]
    signals = {}
    if shank_axis is not None:
        centre = knee + 50.0 * shank_axis
        signals = {"left_shank_axis_x": shank_axis[:, 0], "left_shank_axis_y": shank_axis[:, 1],
                   "left_shank_centre_x": centre[:, 0], "left_shank_centre_y": centre[:, 1],
                   "left_shank_quality": np.ones(n), "left_shank_width_quality": np.ones(n)}
    return Landmarks(frame=np.arange(n), time=np.arange(n) / fps, image=image, world=np.zeros((n, k, 3), np.float32),
                     visibility=np.ones((n, k), np.float32), presence=np.ones((n, k), np.float32),
                     frame_signals=signals)


def test_peak_knee_flexion_follows_the_measured_shank_and_ignores_one_stray_frame():
    """The knee in stance bends to 40 deg and back. One frame's keypoints read 70 deg (a keypoint
    thrown off for a frame): the running median keeps the peak at 40. Where the shank's own axis was
    measured, the knee angle follows it (the keypoint shank is 8 deg too bent)."""
    from gaitlab.metrics.sagittal import knee_flexion_series

    t = np.arange(60)
    true = 10.0 + 30.0 * np.sin(np.pi * t / 59.0)
    keypoints = true.copy()
    keypoints[30] = 70.0
    flex = knee_flexion_series(_leg_landmarks(keypoints))
    assert np.nanmax(flex["left"]) == pytest.approx(40.0, abs=0.1)
    r = np.radians(true)
    axis = np.stack([-np.sin(r), np.cos(r)], -1)  # the true shank, measured
    flex = knee_flexion_series(_leg_landmarks(true + 8.0, shank_axis=axis))
    assert np.nanmax(flex["left"]) == pytest.approx(40.0, abs=0.1)  # from the measured axis
    assert np.nanmax(flex["right"]) == pytest.approx(48.0, abs=0.1)  # keypoints only


def test_overstride_within_3cm_after_the_documented_offset_and_ordered(sixty_fps_side_clips):
    offset = constant("heel_keypoint_offset_cm")  # BlazePose's heel sits ahead of the back of the shoe
    medians = {}
    for name, truth, lm in sixty_fps_side_clips:
        _, matched = analysed(lm, truth)
        for side in ("left", "right"):
            m = matched[matched.side == side]
            err = m.overstride_cm.median() - offset - m.true_overstride_cm.median()
            print(f"{name} {side}: overstride {m.overstride_cm.median():.1f} cm, truth {m.true_overstride_cm.median():.1f}, error {err:+.1f}")
            assert abs(err) <= 3.0
        medians[name] = matched.overstride_cm.median()
    assert medians["overstride0"] < medians["overstride10"] < medians["overstride20"]


def test_hinge_recovers_the_angle_at_the_break_despite_one_stray_sample():
    from gaitlab.fitting import hinge_fit

    rng = np.random.default_rng(1)
    x = np.tile(np.arange(10.0, 17.0), (3, 1))
    breaks = np.array([12.3, 13.0, 13.8])
    value = np.array([8.0, -2.0, 12.0])
    y = value[:, None] + 1.0 * (x - breaks[:, None]) - 8.0 * np.maximum(x - breaks[:, None], 0)
    y += rng.normal(0, 0.3, y.shape)
    y[0, 5] = 30.0  # a stray measurement (the other leg's axis)
    y[2, 0] = np.nan
    grid = np.round(x[:, 3:4]) + np.arange(-1.5, 1.5001, 0.05)[None, :]
    got, at = hinge_fit(x, y, grid)
    assert np.all(np.abs(got - value) < 0.8), got
    assert np.all(np.abs(at - breaks) < 0.25), at
    # A line that does not turn down has no contact in it.
    flat, _ = hinge_fit(x[:1], 2.0 * x[:1], grid[:1])
    assert np.isnan(flat).all()


def test_shank_angle_within_3_degrees_and_ordered(sixty_fps_side_clips):
    """Per side, within 3 deg of the true shank angle at the exact contact time.

    The rendered shanks turn 6-9 deg per frame (60 fps) once the foot is down, so the angle at
    the nearest frame (the truth's ``shank_angle_deg``) itself moves by up to half of that from
    the angle at contact; gaitlab reads the angle off a hinge fitted around the contact."""
    medians = {}
    for name, truth, lm in sixty_fps_side_clips:
        _, matched = analysed(lm, truth)
        for side in ("left", "right"):
            m = matched[matched.side == side]
            err = m.shank_angle_deg.median() - m.true_shank_angle_deg_exact.median()
            frame_err = m.shank_angle_deg.median() - m.true_shank_angle_deg.median()
            print(f"{name} {side}: shank {m.shank_angle_deg.median():.1f}, truth at contact "
                  f"{m.true_shank_angle_deg_exact.median():.1f}, error {err:+.1f} (against the nearest frame's "
                  f"{m.true_shank_angle_deg.median():.1f}: {frame_err:+.1f}), "
                  f"axis from the image in {m.shank_axis_measured.mean():.0%} of steps")
            assert abs(err) <= 3.0
        medians[name] = matched.shank_angle_deg.median()
    assert medians["overstride0"] < medians["overstride10"] < medians["overstride20"]


def test_knee_flexion_at_contact_within_need_on_the_near_leg(sixty_fps_side_clips, straight_forefoot):
    """The near leg's knee flexion at contact within what the measure needs (accuracy_needed) on
    runners landing with 14 deg and with 10 deg. (On these runners it hardly follows the 4 deg
    between them; whether it is printed is decided by the published figures, which measure that.)"""
    need = data()["metrics"]["knee_flexion_ic_deg"]["accuracy_needed"]["value"]
    for name, truth, lm in [*sixty_fps_side_clips, ("straight_forefoot", *straight_forefoot)]:
        result, matched = analysed(lm, truth)
        m = matched[matched.side == result.view["near_side"]]
        err = m.knee_flexion_ic_deg.median() - m.true_knee_flexion_ic_deg_exact.median()
        print(f"{name} near leg: knee flexion at contact {m.knee_flexion_ic_deg.median():.1f}, "
              f"truth {m.true_knee_flexion_ic_deg_exact.median():.1f}, error {err:+.1f}")
        assert abs(err) <= need


def test_foot_strike_and_signs_follow_the_runner(sixty_fps_side_clips, straight_forefoot):
    """Rearfoot strikers read as rearfoot, the forefoot striker's foot angle reads lower than every
    rearfoot striker's (gaitlab's foot angle reads high on forefoot landings: the published figures
    decide whether it is printed), trunk lean is forward and contacts are shorter than half a stride."""
    from gaitlab.references import classification

    angles = {}
    for name, truth, lm in sixty_fps_side_clips:
        result, matched = analysed(lm, truth)
        angles[name] = matched.foot_angle_ic_deg.median()
        assert classification("foot_strike").classify([angles[name]])[0] == "rearfoot", name  # 10-12 deg toes up
        assert matched.trunk_lean_deg.median() > 0  # leaning forward
        assert np.all(matched.contact_time_s > 0) and np.all(matched.duty_factor.dropna() < 0.5)
    result, matched = analysed(straight_forefoot[1], straight_forefoot[0])
    near = matched[matched.side == result.view["near_side"]]
    print(f"foot angle at contact: rearfoot strikers {angles}, forefoot striker {near.foot_angle_ic_deg.median():.1f}")
    assert near.foot_angle_ic_deg.median() < min(angles.values()) - 3
