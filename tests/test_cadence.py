"""Cadence against exact truth: rendered runners at every frame rate (30-120 fps) and cadence
(150-190 steps/min), runners whose steps differ, and the measured cadence of a real treadmill clip."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import shared_video
from gaitlab.analysis import analyze_landmarks
from test_sagittal import analysed

#: Each frame rate at least once, the slowest and fastest cadences at the lowest and highest rates
#: (cadence on many more runners and rates is in the published figures, tests/test_validate.py).
CADENCE_MATRIX = [(150, 30), (150, 120), (170, 60), (190, 30), (190, 120)]
SPEED = {150: 2.7, 170: 3.0, 190: 3.6}
# 10-18 steps per clip: the shortest clips a clinic would film, kept short for the suite's time.
DURATION = {30: 6.0, 60: 5.0, 120: 4.0}


@pytest.mark.parametrize("cadence, fps", CADENCE_MATRIX)
def test_cadence_within_one_step_per_minute(synthetic, cadence, fps):
    _, truth, lm = synthetic(f"cad{cadence}_fps{fps}", cadence_spm=cadence, speed_mps=SPEED[cadence], fps=fps,
                             duration_s=DURATION[fps], seed=cadence + fps, width=480, height=360)
    result, matched = analysed(lm, truth)
    print(f"cadence {cadence} @ {fps} fps: measured {result.cadence['both']:.2f}, "
          f"IC within 1 frame {np.mean(np.abs(matched.ic_error_frames) <= 1):.2f}")
    assert abs(result.cadence["both"] - cadence) <= 1.0


def test_the_rhythm_is_the_cadence_shown_and_the_counted_contacts_check_it(synthetic, monkeypatch):
    """The cadence shown is the step rhythm of the whole clip (this one holds 14 steps); where the
    counted contacts disagree with it by more than CADENCE_AGREEMENT_SPM, the summary says so in
    one sentence."""
    import gaitlab.analysis as analysis
    from gaitlab.config import RunnerInfo

    _, truth, lm = synthetic("cad170_fps60", cadence_spm=170, speed_mps=SPEED[170], fps=60,
                             duration_s=DURATION[60], seed=230, width=480, height=360)
    result = analyze_landmarks(lm, RunnerInfo(height_m=truth["params"]["height_m"]))
    check = result.quality["cadence_check"]
    assert result.cadence["both"] == check["rhythm_spm"] and check["agree"]
    both = result.summary[(result.summary.metric == "cadence_spm") & (result.summary.side == "both")].iloc[0]
    assert not isinstance(both.warning, str) or both.warning == ""
    counted = analysis.cadence_from_steps

    def off_by_three(steps, frontal=False):
        out = counted(steps, frontal)
        return dict(out, both=out["both"] + 3.0)

    monkeypatch.setattr(analysis, "cadence_from_steps", off_by_three)
    result = analyze_landmarks(lm, RunnerInfo(height_m=truth["params"]["height_m"]))
    assert result.cadence["both"] == pytest.approx(check["rhythm_spm"])
    both = result.summary[(result.summary.metric == "cadence_spm") & (result.summary.side == "both")].iloc[0]
    assert both.warning.startswith(f"the counted contacts give {check['counted_spm'] + 3:.1f} steps/min")
    assert both.warning.endswith(": some contacts were missed or mistimed, so the rhythm is shown")


def test_runner_who_overstrides_on_one_side_only_is_analysed(synthetic):
    """One leg lands 22 cm ahead of the hip, the other 2 cm: every second step is the longer one, so
    the feet's separation repeats most strongly once per stride. That read as half the cadence and
    refused the runner as slow motion; the step is now half the stride of the signed separation."""
    _, truth, lm = synthetic("overstride_one_side", overstride_cm=(22, 2), cadence_spm=176, speed_mps=3.2,
                             seed=13, duration_s=5.0, width=480, height=360)
    result, _ = analysed(lm, truth)
    print(f"one-sided overstrider: cadence {result.cadence['both']:.2f} (truth 176)")
    assert abs(result.cadence["both"] - 176) <= 1.0
    valid = result.valid_steps
    assert min((valid.side == side).sum() for side in ("left", "right")) >= 2


def test_rhythm_takes_the_step_where_the_feet_separation_repeats_once_per_stride():
    from gaitlab.events import _unlock_from_stride, dominant_period_s

    fps, step = 60.0, 0.34
    t = np.arange(int(8 * fps)) / fps
    phase = np.pi * t / step  # one half-turn per step
    # Left ahead by 0.6 leg lengths at its contacts, right ahead by only 0.25: unequal steps.
    signed = np.where(np.sin(phase) > 0, 0.6, 0.25) * np.sin(phase)
    unsigned = dominant_period_s(np.abs(signed), fps, 0.17, 10.0)
    assert unsigned == pytest.approx(2 * step, rel=0.05)  # the stride, as before
    assert _unlock_from_stride(signed, fps, unsigned) == pytest.approx(step, rel=0.03)
    # Equal steps: the unsigned period is already the step and stays.
    even = np.sin(phase)
    assert _unlock_from_stride(even, fps, dominant_period_s(np.abs(even), fps, 0.17, 10.0)) == pytest.approx(step, rel=0.03)
    # A tracker that calls the front foot "left": the signed separation never changes sign and
    # says nothing about the stride, so the period is left as found.
    front_is_left = np.abs(signed)
    assert _unlock_from_stride(front_is_left, fps, 2 * step) == 2 * step
    # A clip in slow motion (half speed): the period found is the (slow) step and stays.
    slow = np.sin(phase / 2)
    found = dominant_period_s(np.abs(slow), fps, 0.17, 10.0)
    assert _unlock_from_stride(slow, fps, found) == pytest.approx(found)


def test_real_treadmill_cadence_matches_its_measured_truth(pose_cache):
    import json

    from conftest import SHARED
    truth = json.loads((SHARED / "ground_truth" / "zzzhushi_male_side.groundtruth.json").read_text())["cadence_spm"]
    result = analyze_landmarks(pose_cache(shared_video("zzzhushi_male_side.mp4")))
    print(f"zzzhushi: measured {result.cadence['both']:.2f}, truth {truth['value']} +/- {truth['uncertainty']}")
    assert abs(result.cadence["both"] - truth["value"]) <= 1.0
    assert result.view["kind"] == "side" and result.view["near_side"] == "left"


def _rear_runner(step_s: float, fps: float, seconds: float, dips=(12.0, 3.0)):
    """Landmarks of a runner seen from behind whose pelvis dips ``dips`` px over the left and right
    stance (an uneven bob: every second step the larger one), the swinging ankle lifted 60 px."""
    from gaitlab.landmarks import Landmarks
    from gaitlab.schema import KEYPOINT_INDEX, KEYPOINTS

    t = np.arange(int(seconds * fps)) / fps
    phase = np.pi * t / step_s
    left_stance = np.sin(phase) > 0
    dip = np.where(left_stance, dips[0], dips[1]) * np.abs(np.sin(phase))
    image = np.zeros((t.size, len(KEYPOINTS), 3), np.float32)

    def put(name, x, y):
        image[:, KEYPOINT_INDEX[name], 0], image[:, KEYPOINT_INDEX[name], 1] = x, y

    for side, x, lift in (("left", 300.0, ~left_stance), ("right", 340.0, left_stance)):
        ankle = 400.0 - 60.0 * lift * np.abs(np.sin(phase))
        put(f"{side}_shoulder", x - 10, 60.0 + dip)
        put(f"{side}_hip", x, 200.0 + dip)
        put(f"{side}_knee", x, 300.0 + dip / 2)
        put(f"{side}_ankle", x, ankle)
        put(f"{side}_heel", x, ankle + 10)
        put(f"{side}_foot_index", x, ankle + 8)
    ones = np.ones(image.shape[:2], np.float32)
    return Landmarks(frame=np.arange(t.size), time=t, image=image, world=np.zeros_like(image),
                     visibility=ones, presence=ones)


def test_rear_rhythm_takes_the_step_where_the_pelvis_bob_repeats_once_per_stride():
    """From behind the rhythm is the pelvis's bob; a pelvis that dips more over one leg repeats most
    strongly once per stride (a rendered rear-view runner at 30 fps read 83 for 166 steps/min and was
    refused as slow motion). Which ankle is higher changes at every step, so its period is the stride
    and the step is half of it; an even bob, and a slow-motion clip, keep the period found."""
    from gaitlab.events import dominant_period_s, rhythm
    from gaitlab.views import View

    rear = View("rear", 0, 0.5, 1.0)
    fps, step = 30.0, 60 / 166
    uneven = _rear_runner(step, fps, 8.0)
    pelvis = uneven.xy("left_hip")[:, 1]
    assert dominant_period_s(pelvis - pelvis.mean(), fps, 0.17, 10.0) == pytest.approx(2 * step, rel=0.05)
    assert rhythm(uneven, rear)["cadence_spm"] == pytest.approx(166, abs=1.5)
    assert rhythm(_rear_runner(step, fps, 8.0, dips=(8.0, 8.0)), rear)["cadence_spm"] == pytest.approx(166, abs=1.5)
    # Half speed (slow motion): the slow rhythm is kept, for the slow-motion check to refuse it.
    assert rhythm(_rear_runner(2 * step, fps, 12.0), rear)["cadence_spm"] == pytest.approx(83, abs=1.0)


def test_counted_cadence_is_not_tilted_by_one_foot_found_consistently_later():
    """Six contacts 0.35 s apart (171.4 steps/min), one leg's found 30 ms late each time: a single
    line through them reads 1.3 steps/min slow, one line per foot (parallel) reads it exactly, and
    a missed contact does not move it by more than 0.5."""
    import pandas as pd

    from gaitlab.analysis import cadence_from_steps

    def steps(times, sides):
        times = np.asarray(times, float)
        other_foot = np.concatenate([[False], sides[1:] != sides[:-1]])  # as build_steps: a step follows the other foot
        return pd.DataFrame({"side": sides, "valid": True, "ic_time_s": times,
                             "step_time_s": np.where(other_foot, np.diff(times, prepend=np.nan), np.nan)})

    true = 0.35 * np.arange(6)
    sides = np.array(["left", "right"] * 3)
    late = true + np.where(sides == "right", 0.030, 0.0)
    single = 60.0 / np.polyfit(np.arange(6), late, 1)[0]
    assert abs(single - 60 / 0.35) > 1.0  # what one line reads
    assert cadence_from_steps(steps(late, sides))["both"] == pytest.approx(60 / 0.35, abs=1e-6)
    missed = np.arange(6) != 3
    assert abs(cadence_from_steps(steps(late[missed], sides[missed]))["both"] - 60 / 0.35) < 0.5


def test_a_short_clip_shows_the_rhythm_from_the_side_and_the_mean_of_both_estimates_from_behind(synthetic):
    """Under 10 steps: from the side the rhythm of the feet's separation is shown, from behind the
    mean of the pelvis's rhythm and the counted midstances (short_clip_cadence); both within the
    1.5 steps/min cadence needs on a rendered runner cut to 7 steps, and the summary judges it by
    the figure for clips that short."""
    from gaitlab.analysis import short_clip_cadence
    from gaitlab.config import RunnerInfo

    assert short_clip_cadence(170.0, 174.0, "side") == 170.0
    assert short_clip_cadence(170.0, 174.0, "rear") == 172.0
    assert short_clip_cadence(170.0, float("nan"), "front") == 170.0
    assert short_clip_cadence(float("nan"), 174.0, "rear") == 174.0
    for view, seed in (("side_right", 231), ("rear", 232)):
        _, truth, lm = synthetic(f"short_{view}", cadence_spm=170, speed_mps=SPEED[170], fps=60, view=view,
                                 duration_s=DURATION[60], seed=seed, width=480, height=360)
        cut = lm.select(slice(0, int(7 * 60 / 170 * 60)))  # 7 steps
        result = analyze_landmarks(cut, RunnerInfo(height_m=truth["params"]["height_m"]))
        check = result.quality["cadence_check"]
        assert not check["rhythm_shown"]
        expected = short_clip_cadence(check["rhythm_spm"], check["counted_spm"], result.view["kind"])
        print(view, check, result.cadence["both"], truth["params"]["cadence_spm"])
        assert result.cadence["both"] == pytest.approx(expected)
        assert abs(result.cadence["both"] - truth["params"]["cadence_spm"]) <= 1.5
        both = result.summary[(result.summary.metric == "cadence_spm") & (result.summary.side == "both")].iloc[0]
        assert "cut to 6-9 steps" in both.uncertainty_text
