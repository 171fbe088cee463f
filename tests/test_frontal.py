"""Frontal-plane metrics against exact truth: rendered rear-view runners with known pelvic drop,
knee valgus and camera roll through the real pose model; the pixel measurements on drawn limbs
with known axes; the per-clip checks that decide whether pelvic drop and the knee angles are given;
and what real rear and front clips give.

Whether the report prints a value is decided by the accuracy ``gaitlab validate`` measured on sets
nothing was tuned on (:mod:`gaitlab.accuracy`), not by these tests: the rendered ladder here is a
regression guard (ordering, no sign flip, a floor on the gain), the drawn limbs and the gates are
checked exactly.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import shared_video
from gaitlab.analysis import (FRONT_PELVIS_REASON, PELVIS_MAX_LEVEL_SD_DEG, PELVIS_MIN_RELATIVE_QUALITY,
                              FRONTAL_MIN_STEPS, KNEE_ANGLES, analyze_landmarks, frontal_knee_steps,
                              pelvis_tilt_signal, pelvis_verdict, rhythm_by_shot)
from gaitlab.image.pelvis import MIN_CONTRAST
from gaitlab.metrics.frontal import mid_flight_tilts, pelvis_level_deg
from gaitlab.landmarks import Landmarks
from gaitlab.schema import KEYPOINT_INDEX, KEYPOINTS
from gaitlab.views import View
from gaitlab.image.limbs import limb_axis
from gaitlab.references import data
from gaitlab.validation import metric_errors

#: (pelvic drop, knee valgus, camera roll) of the rendered rear-view runners.
LADDER = [(0, 0, 0.0), (4, 6, 0.0), (8, 12, 0.0), (12, 6, 0.0), (8, 12, 3.0)]


def needed(metric: str) -> float:
    return float(data()["metrics"][metric]["accuracy_needed"]["value"])


def drawn_limb(angle_deg, skin, background, shoe=None, shade=0.0, width=16.0, size=200, ss=4):
    """An anti-aliased RGB image of a straight limb from (100, 40), ``angle_deg`` from the downward
    vertical (+ = lower end toward the image's right), ``shade`` darkening it toward one side, and
    optionally a white block ``shoe`` = (x, y, w, h). Returns (image, knee, ankle)."""
    yy, xx = np.mgrid[0:size * ss, 0:size * ss] / ss
    a = np.radians(angle_deg)
    u = np.array([np.sin(a), np.cos(a)])
    knee = np.array([100.0, 40.0])
    across = (xx - knee[0]) * u[1] - (yy - knee[1]) * u[0]
    along = (xx - knee[0]) * u[0] + (yy - knee[1]) * u[1]
    img = np.empty(xx.shape + (3,))
    img[:] = background
    if shoe is not None:
        x0, y0, w, h = shoe
        img[(xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)] = 235
    limb = (np.abs(across) <= width / 2) & (along >= -10) & (along <= 140)
    light = 1.0 - shade * (across + width / 2) / width
    img[limb] = np.asarray(skin, float)[None, :] * light[limb][:, None]
    img = cv2.GaussianBlur(cv2.resize(img.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA), (3, 3), 0.8)
    return np.clip(img, 0, 255).astype(np.uint8), knee, knee + 130 * u


@pytest.mark.parametrize("case", [
    # A dark-skinned shank against a grey floor, the other foot's white shoe 6 px beside it: the
    # shoe's far stronger edge must not stand in for the shank's own.
    dict(angle_deg=4.0, skin=(150, 105, 80), background=(108, 106, 104), shoe=(122, 110, 30, 45)),
    # A light-skinned shank lit from one side: its shaded side ramps down toward the silhouette.
    dict(angle_deg=-6.0, skin=(235, 190, 160), background=(110, 110, 112), shade=0.45),
    # Very dark skin against a dark background.
    dict(angle_deg=3.0, skin=(96, 62, 44), background=(60, 60, 64)),
], ids=["white-shoe-beside", "shaded", "dark-on-dark"])
def test_shank_axis_follows_the_limb_whatever_lies_beside_it(case):
    img, knee, ankle = drawn_limb(**case)
    # Keypoints off the joint centres, the segment between them turned by 3 deg.
    axis = limb_axis(img, knee + (2, 3), ankle + (-5, 0))
    measured = np.degrees(np.arctan2(axis[0], axis[1]))
    print(f"{case['angle_deg']:+.1f} deg drawn: measured {measured:+.2f}, quality {axis[4]:.2f}")
    assert abs(measured - case["angle_deg"]) <= 1.0  # a third of what the FPPA needs
    assert axis[4] >= 0.8


def _steps(n: int = 16, step: int = 21):
    ms = np.arange(n) * step + 10
    return pd.DataFrame({"side": np.where(np.arange(n) % 2, "right", "left"), "midstance_frame": ms,
                         "valid": True})


def test_a_line_tipped_by_the_pelvis_rotation_is_levelled_between_flights_and_withheld_when_large():
    """Seen from above or below hip height, the waistband's visible arc tips one way in the flight
    after a left stance and the other way after a right one (the pelvis rotates with the stride).
    The level is halfway between the two sets of mid-flights whatever their counts (a median of all
    of them lands in the larger set), and a line that alternates by more than
    PELVIS_MAX_LEVEL_SD_DEG either side of it is withheld with a reason that names the camera height."""
    steps = _steps(8)  # seven flights: four after a left stance, three after a right one
    n = int(steps.midstance_frame.max()) + 20
    frames = np.arange(n)
    stride = 2 * 21
    for swing, measurable in ((0.5, True), (2.0, False)):
        tilt = 1.0 + swing * np.cos(2 * np.pi * (frames - 10 - 21 / 2) / stride)  # +swing after left stances
        flights = mid_flight_tilts(tilt, steps)
        assert flights["left"].size == 4 and flights["right"].size == 3
        assert pelvis_level_deg(tilt, steps) == pytest.approx(1.0, abs=1e-6)
        assert np.median(np.concatenate(list(flights.values()))) > 1.0 + 0.9 * swing  # the median of all
        metrics = pd.DataFrame({"pelvic_drop_peak_deg": np.full(len(steps), 6.0)})
        verdict = pelvis_verdict({"measurable": True, "reason": ""}, tilt, steps, metrics)
        assert verdict["measurable"] == measurable, verdict
        if not measurable:
            assert verdict["reason"].startswith("the line at the waist read alternately 2.0 deg above and below")
            assert ". " not in verdict["reason"] and "hip height" in verdict["reason"]


def test_pelvis_is_reported_only_when_the_line_follows_the_pelvis():
    steps = _steps()
    n = int(steps.midstance_frame.max()) + 20
    frames = np.arange(n)
    rng = np.random.default_rng(0)
    # A pelvis dropping 6 deg at each midstance and level in between, read with 0.2 deg of noise.
    bump = sum(6.0 * np.exp(-0.5 * ((frames - m) / 3.0) ** 2) * (1 if s == "left" else -1)
               for m, s in zip(steps.midstance_frame, steps.side))
    tilt = bump + rng.normal(0, 0.2, n)
    metrics = pd.DataFrame({"pelvic_drop_peak_deg": np.full(len(steps), 6.0)})
    ok = pelvis_verdict({"measurable": True, "reason": ""}, tilt, steps, metrics)
    assert ok["measurable"] and ok["level_sd_deg"] < 0.5 and ok["steps_tracked"] == {"left": 8, "right": 8}
    assert ok["follows_pelvis"]
    # A line that does not come back to level at mid-flight (a hem hanging over the waistband, hands
    # crossing it): withheld, in one sentence that says what to change.
    wander = tilt + rng.normal(0, 2.5, n)
    bad = pelvis_verdict({"measurable": True, "reason": ""}, wander, steps, metrics)
    assert not bad["measurable"] and bad["level_sd_deg"] > PELVIS_MAX_LEVEL_SD_DEG
    assert ". " not in bad["reason"] and "film from behind" in bad["reason"]  # one sentence
    assert bad["follows_pelvis"] is False  # the report does not draw it as the pelvis
    # Tracked through too few right steps.
    few = metrics.assign(pelvic_drop_peak_deg=np.where(steps.side == "right", np.nan, 6.0))
    few.loc[few.index[1], "pelvic_drop_peak_deg"] = 6.0
    short = pelvis_verdict({"measurable": True, "reason": ""}, tilt, steps, few)
    assert not short["measurable"] and short["steps_tracked"]["right"] < FRONTAL_MIN_STEPS
    assert "1 right steps" in short["reason"] and short["follows_pelvis"]  # the line is fine, the steps few
    # From the front the line at the waist is the top's hem: never given, whatever the checks say.
    front = pelvis_verdict({"measurable": True, "reason": ""}, tilt, steps, metrics, "front")
    assert not front["measurable"] and front["reason"] == FRONT_PELVIS_REASON and front["follows_pelvis"] is False


def _waistband_landmarks(tilt, quality, fps=60.0, contrast=None):
    """Landmarks of a runner in view in every frame, carrying only the waistband frame signals
    (without the line's contrast unless given, as landmarks saved before it was kept)."""
    n, k = tilt.size, len(KEYPOINTS)
    image = np.full((n, k, 3), 300.0, np.float32)
    for name in ("left_shoulder", "right_shoulder"):
        image[:, KEYPOINT_INDEX[name], 1] = 150.0  # a trunk 150 px long
    return Landmarks(frame=np.arange(n), time=np.arange(n) / fps, image=image, world=np.zeros((n, k, 3), np.float32),
                     visibility=np.ones((n, k), np.float32), presence=np.ones((n, k), np.float32),
                     frame_signals={"pelvis_tilt_deg": tilt, "pelvis_tilt_quality": quality,
                                    "pelvis_line_y": np.full(n, 200.0),
                                    **({} if contrast is None else {"pelvis_line_contrast": contrast})})


def test_a_line_without_contrast_is_not_read_as_the_waistband():
    # A line that fits the columns as well as a waistband does, but with colours either side that
    # differ by 4 delta E (top, band and shorts of one colour: shading and compression texture).
    n = 240
    tilt = np.where((np.arange(n) % 40) < 10, 5.0, 0.0)
    rear = View("rear", 0, 0.5, 1.0)
    read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, np.full(n, 0.69), contrast=np.full(n, 4.0)), rear)
    assert read is None and not info["measurable"] and info["median_contrast"] == 4.0
    assert info["reason"].startswith("no waistband shows") and "(4 delta E" in info["reason"]
    assert ". " not in info["reason"]
    # The same line with a waistband's contrast is read; so is one from landmarks without the signal.
    for contrast in (np.full(n, 2 * MIN_CONTRAST), None):
        read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, np.full(n, 0.69), contrast=contrast), rear)
        assert info["measurable"] and np.nanmax(read) == pytest.approx(5.0)


def test_frames_where_the_line_fits_far_fewer_columns_than_usual_are_not_read():
    # Flight frames fit 0.69 of the window's columns; the stance frames of one leg only 0.48, and
    # there the line is off by 10 deg (it fits something else over part of the waistband's width).
    n = 240
    frames = np.arange(n)
    stance = (frames % 40) < 10
    quality = np.where(stance, 0.48, 0.69)
    tilt = np.where(stance, 10.0, 0.0)
    assert 0.48 < PELVIS_MIN_RELATIVE_QUALITY * 0.69  # the case is below the rule
    rear = View("rear", 0, 0.5, 1.0)
    read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, quality), rear)
    assert read is None and not info["measurable"]  # 75 % of frames tracked: too few
    assert info["tracked_fraction"] == pytest.approx(0.75) and "only 75% of frames" in info["reason"]
    # The same clip with the quality steady: every frame is read, the 10 deg included.
    read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, np.full(n, 0.69)), rear)
    assert info["measurable"] and np.nanmax(read) == pytest.approx(10.0)
    # Small dips in quality (hands brushing the edge of the window) do not drop frames.
    read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, np.where(stance, 0.62, 0.69)), rear)
    assert info["measurable"] and info["tracked_fraction"] == 1.0


def test_a_sharp_drop_peak_at_30_fps_is_kept_while_a_one_frame_spike_at_60_fps_is_removed():
    # At 30 frames/s a 12 deg drop rises and falls within three frames (1.1, -5.0, -6.8, -1.3 deg,
    # level 3): the running median over 3 frames would put its deepest frame at -5.0.
    rear = View("rear", 0, 0.5, 1.0)
    stride = np.array([3.3, 3.1, 1.1, -5.0, -6.8, -1.3, 0.6, 3.2, 3.4, 4.0, 5.0, 6.1, 5.7, 4.4, 3.3, 3.3, 3.3, 3.3, 3.3, 3.3])
    tilt = np.tile(stride, 12)
    read, info = pelvis_tilt_signal(_waistband_landmarks(tilt, np.full(tilt.size, 0.69), fps=30.0), rear)
    assert info["measurable"] and np.nanmin(read) == pytest.approx(-6.8, abs=1e-5)
    # At 60 frames/s a drop of that size spans twice the frames, and a line that jumps to another
    # edge for one frame in flight (8 deg off) is put back to its neighbours.
    frames = np.arange(480)
    phase = (frames % 40) / 8.0  # a stance of 8 frames in every 40
    tilt = 3.0 - 10.0 * np.where(phase < 1.0, np.sin(np.pi * phase) ** 2, 0.0)
    glitch = tilt.copy()
    glitch[25] += 8.0
    read, info = pelvis_tilt_signal(_waistband_landmarks(glitch, np.full(tilt.size, 0.69), fps=60.0), rear)
    assert info["measurable"] and read[25] == pytest.approx(3.0, abs=1e-5)
    assert np.nanmin(read) == pytest.approx(tilt.min(), abs=1e-5)


def test_knee_angles_from_too_few_steps_on_a_side_are_left_out_and_say_why():
    """A side's knee FPPA and hip adduction need FRONTAL_MIN_STEPS steps with the shank's edges
    found: from one or two the value is left out, with the reason, and the other side keeps its."""
    steps = _steps(8)
    left = (steps.side == "left").to_numpy()
    table = steps.assign(knee_fppa_deg=np.where(left, 6.0, np.nan), hip_adduction_deg=np.where(left, 4.0, np.nan))
    table.loc[[1, 3], ["knee_fppa_deg", "hip_adduction_deg"]] = [9.0, 5.0]  # two right steps
    out, reason = frontal_knee_steps(table)
    assert reason.startswith("the shank's edges were found in the image on only 2 of 4 right steps, and a side needs 3")
    assert out.loc[left, "knee_fppa_deg"].eq(6.0).all() and out.loc[~left, KNEE_ANGLES].isna().all().all()
    table.loc[5, ["knee_fppa_deg", "hip_adduction_deg"]] = [9.0, 5.0]  # a third right step
    out, reason = frontal_knee_steps(table)
    assert reason == "" and out.knee_fppa_deg.notna().sum() == 7


def _rear_legs(turn_deg: float, n: int = 40):
    """Landmarks of a runner seen from behind standing on the left leg (knee over the ankle, 12 deg
    of valgus) whose left shank's measured axis is turned ``turn_deg`` from the knee-ankle keypoints."""
    k = len(KEYPOINTS)
    image = np.zeros((n, k, 3), np.float32)
    points = {"left_hip": (280, 200), "right_hip": (360, 200), "left_knee": (300, 300), "right_knee": (380, 300),
              "left_ankle": (300, 400), "right_ankle": (420, 380), "left_heel": (300, 410),
              "right_heel": (425, 390), "left_foot_index": (300, 420), "right_foot_index": (430, 400)}
    for name, xy in points.items():
        image[:, KEYPOINT_INDEX[name], :2] = xy
    r = np.radians(turn_deg)
    signals = {"left_shank_axis_x": np.full(n, np.sin(r)), "left_shank_axis_y": np.full(n, np.cos(r)),
               "left_shank_centre_x": np.full(n, 300.0), "left_shank_centre_y": np.full(n, 350.0),
               "left_shank_quality": np.ones(n), "left_shank_width_quality": np.ones(n)}
    lm = Landmarks(frame=np.arange(n), time=np.arange(n) / 60.0, image=image, world=np.zeros((n, k, 3), np.float32),
                   visibility=np.ones((n, k), np.float32), presence=np.ones((n, k), np.float32), frame_signals=signals)
    steps = pd.DataFrame({"side": ["left"], "ic_frame": [5], "midstance_frame": [20], "to_frame": [35], "valid": [True]})
    return lm, steps


def test_a_shank_axis_turned_far_from_the_keypoints_is_not_used():
    """From behind, an axis turned more than MAX_SHANK_TURN_DEG from the knee-ankle keypoints is
    the edge of something beside the shank (the swinging foot, the other leg): the step gets no
    knee angles rather than a wrong one. A smaller turn is the shank's own and is used."""
    from gaitlab.metrics.frontal import MAX_SHANK_TURN_DEG, frontal_metrics

    near = frontal_metrics(*_rear_legs(MAX_SHANK_TURN_DEG - 2), None)
    assert near.shank_axis_measured.iloc[0] and np.isfinite(near.knee_fppa_deg.iloc[0])
    far = frontal_metrics(*_rear_legs(MAX_SHANK_TURN_DEG + 2), None)
    assert not far.shank_axis_measured.iloc[0] and np.isnan(far.knee_fppa_deg.iloc[0])


@pytest.fixture(scope="module")
def ladder(synthetic):
    out = {}
    for drop, valgus, roll in LADDER:
        _, truth, lm = synthetic(f"rear_d{drop}_v{valgus}_r{roll:g}", view="rear", pelvic_drop_deg=drop,
                                 knee_valgus_deg=valgus, camera_roll_deg=roll, duration_s=5.0,
                                 seed=drop + valgus + 100)
        result = analyze_landmarks(lm)
        out[(drop, valgus, roll)] = (result, metric_errors(result, truth).set_index(["metric", "side"]))
    return out


def _gain(errors, metric):
    measured = np.array([e.loc[(metric, s)].measured for e in errors for s in ("left", "right")])
    truth = np.array([e.loc[(metric, s)].truth for e in errors for s in ("left", "right")])
    return float(np.polyfit(truth, measured, 1)[0]), float(np.max(np.abs(measured - truth))), measured, truth


@pytest.mark.parametrize("metric", ["pelvic_drop_peak_deg", "pelvic_drop_deg"])
def test_pelvic_drop_follows_the_pelvis(ladder, metric):
    """Regression guard on gaitlab's own renderer (waistband a band of colour fixed to the pelvis):
    the levels given are ordered, within 1.5 deg, with no sign flip; a clip whose line did not pass
    the pelvis checks says why in one sentence. The level runner (drop 0), filmed from below hip
    height, is withheld: the pelvis's rotation tips the waistband's visible arc, and the line read
    alternately 1.4 deg above and below level at successive mid-flights."""
    given = {}
    for (drop, valgus, roll), (result, errors) in ladder.items():
        pelvis = result.quality["pelvis"]
        if not pelvis["measurable"]:  # withheld: one sentence why, and no per-step values
            assert pelvis["reason"] and ". " not in pelvis["reason"], pelvis
            assert result.steps[metric].isna().all()
            print(f"drop {drop:2d} roll {roll:g}: withheld ({pelvis['reason']})")
            continue
        for side in ("left", "right"):
            row = errors.loc[(metric, side)]
            print(f"{metric} drop {drop:2d} roll {roll:g} {side}: measured {row.measured:5.1f}, truth {row.truth:5.1f}")
            if not roll:
                given.setdefault(drop, []).append((row.measured, row.truth))
    level = ladder[(0, 0, 0.0)][0].quality["pelvis"]
    assert not level["measurable"] and level["reason"].startswith("the line at the waist read alternately")
    assert len(given) >= 2  # given on the two steepest levels, for the order
    values = np.array([v for drop in sorted(given) for v in given[drop]])
    gain = float(np.polyfit(values[:, 1], values[:, 0], 1)[0])
    print(f"{metric}: gain {gain:.2f}, largest error {np.max(np.abs(values[:, 0] - values[:, 1])):.1f} deg "
          f"(needed {needed(metric)})")
    assert 0.6 <= gain <= 1.15  # 0.95 (peak) and 0.84 (midstance) over two levels when written
    means = [np.mean([m for m, _ in given[drop]]) for drop in sorted(given)]
    assert np.all(np.diff(means) > 0)  # ordered across the levels
    assert np.all(values[values[:, 1] > 3, 0] > 1.5)  # no sign flip
    assert np.max(np.abs(values[:, 0] - values[:, 1])) <= 1.5  # 1.1 deg (midstance, drop 12) when written


def test_camera_roll_is_estimated_and_does_not_move_the_drop(ladder):
    level, rolled = ladder[(8, 12, 0.0)], ladder[(8, 12, 3.0)]
    roll = rolled[0].quality["camera_roll"]["roll_deg"]
    print(f"roll estimated {roll:+.1f} deg (truth +3), level camera {level[0].quality['camera_roll']['roll_deg']:+.1f}")
    assert abs(roll - 3.0) <= 2.0
    assert abs(level[0].quality["camera_roll"]["roll_deg"]) <= 1.0
    for side in ("left", "right"):
        a = level[1].loc[("pelvic_drop_peak_deg", side)].measured
        b = rolled[1].loc[("pelvic_drop_peak_deg", side)].measured
        print(f"{side}: drop {a:.1f} level, {b:.1f} with 3 deg roll")
        assert abs(a - b) <= 2.5


@pytest.mark.parametrize("metric", ["knee_fppa_deg", "hip_adduction_deg"])
def test_knee_angles_follow_valgus(ladder, metric):
    """Regression guard on gaitlab's own renderer (its knees nearly meet at 12 deg of valgus, where
    the FPPA read 2-4 deg low): ordered across valgus, no sign flip, the typical error well within
    what the measure needs; its validated accuracy comes from gaitlab validate."""
    by_valgus, errors_seen = {}, []
    for (drop, valgus, roll), (result, errors) in ladder.items():
        valid = result.steps[result.steps.valid]
        assert (valid.groupby("side").shank_axis_measured.sum() >= 2).all()
        for side in ("left", "right"):
            row = errors.loc[(metric, side)]
            print(f"{metric} valgus {valgus:2d} roll {roll:g} {side}: {row.measured:5.1f}, truth {row.truth:5.1f}")
            errors_seen.append(row.error)
            if not roll:
                by_valgus.setdefault((valgus, side), []).append(row.measured)
    errors_seen = np.abs(errors_seen)
    print(f"{metric}: median error {np.median(errors_seen):.1f}, largest {errors_seen.max():.1f} deg "
          f"(needed {needed(metric)})")
    assert np.median(errors_seen) <= needed(metric) / 2
    if metric == "knee_fppa_deg":
        gain, _, _, _ = _gain([e for (_, _, r), (_, e) in ladder.items() if not r], metric)
        assert 0.7 <= gain <= 1.2  # 0.78 when written
        for side in ("left", "right"):
            levels = [np.mean(by_valgus[(v, side)]) for v in (0, 6, 12)]
            assert levels[0] < levels[1] < levels[2], (side, levels)


def test_real_rear_and_front_clips_give_plausible_values(pose_cache):
    rear = analyze_landmarks(pose_cache(shared_video("radluy_posterior_overground_openpose_overlay.mp4")))
    front = analyze_landmarks(pose_cache(shared_video("jacky1107_jog_in_place_anterior_A.mp4")))
    assert rear.view["kind"] == "rear" and front.view["kind"] == "front"
    for res in (rear, front):
        steps = res.steps[res.steps.valid]
        for side in ("left", "right"):
            s = steps[steps.side == side]
            for metric, lo, hi in (("knee_fppa_deg", -15, 20), ("hip_adduction_deg", -10, 20)):
                values = s[metric].dropna()
                assert values.empty or lo < values.median() < hi
        assert 150 < res.cadence["both"] < 200
        # Where the knee angles are missing on a side, the summary says why in one sentence.
        rows = res.summary[(res.summary.metric == "knee_fppa_deg") & (res.summary.side != "both")]
        assert (rows.measurable | (rows.warning.str.len() > 0)).all()


def test_pace_ladder_cadence_rises_with_pace(pose_cache):
    """Five shots at 5:30 to 3:30 min/km (front view, road): the montage is refused for clinical
    metrics, and the per-shot rhythm rises with pace."""
    import json

    from conftest import SHARED
    from gaitlab.errors import AnalysisError

    lm = pose_cache(shared_video("bellamyceleman_pace_ladder_anterior_road.mp4"))
    with pytest.raises(AnalysisError, match="montage of 5 separate shots"):
        analyze_landmarks(lm)
    shots = rhythm_by_shot(lm)
    labels = json.loads((SHARED / "ground_truth" / "bellamyceleman_pace_ladder.labels.json").read_text())["segments"]
    assert len(shots) == len(labels)
    assert np.allclose(shots.first_frame, [s["first_frame"] for s in labels], atol=2)
    speed = np.array([s["implied_speed_m_s"] for s in labels])
    cadence = shots.cadence_spm.to_numpy()
    print("pace ladder cadence by shot:", np.round(cadence, 1), "speed", speed)
    from scipy.stats import spearmanr

    assert spearmanr(speed, cadence).statistic >= 0.85
    assert cadence[-1] - cadence[0] > 8


def test_front_view_stance_whose_toe_off_is_not_seen_keeps_its_midstance(synthetic):
    """A randomised development runner (seed 1009, filmed from the front, landing 19 cm ahead of the
    hip): the right foot is already rising at every right midstance, so no toe-off was found there,
    every right step was dropped and the clip refused as "too few steps". Its midstances are found
    and kept; the toe-off is placed the clip's typical half-stance after them, and says so."""
    import dataclasses

    from gaitlab.config import RunnerInfo
    from gaitlab.synth.randomize import random_params

    runner = random_params(1009)
    params = {f.name: getattr(runner, f.name) for f in dataclasses.fields(runner)}
    params.update(duration_s=4.0, supersample=1)
    _, truth, lm = synthetic("random1009_front_4s", **params)
    result = analyze_landmarks(lm, RunnerInfo(height_m=runner.height_m))
    true_cadence = truth["params"]["cadence_spm"]
    print(f"seed 1009 from the front: cadence {result.cadence['both']:.2f} (truth {true_cadence}), "
          f"valid steps {result.valid_steps.side.value_counts().to_dict()}")
    assert result.view["kind"] == "front"
    assert abs(result.cadence["both"] - true_cadence) <= 1.0
    assert min((result.valid_steps.side == side).sum() for side in ("left", "right")) >= 2
    placed = result.events.method.str.startswith("frontal: the clip's typical half-stance")
    assert placed.any() and (result.events[placed].event == "toe_off").all()


def test_stance_sides_alternate_whatever_the_pose_model_labels_for_a_stance_or_two():
    from gaitlab.events import alternating_sides

    step = 20.0
    # Eight stances, left first, one missed between the 6th and the 7th (a gap of two steps); the
    # pose model gave the legs each other's labels at the 4th and the 8th.
    frames = np.array([10, 30, 50, 70, 90, 110, 150, 170])
    truth = np.array(["left", "right", "left", "right", "left", "right", "right", "left"])
    labels = (truth == "left") ^ np.isin(np.arange(8), [3, 7])
    assert (alternating_sides(frames, labels, step) == truth).all()
    # A run whose labels split evenly, after a long gap, keeps its labels as they are.
    sides = alternating_sides(np.array([10, 30, 300, 320]), np.array([True, True, False, False]), step)
    assert list(sides) == ["left", "left", "right", "right"]


def _rear_body(n: int = 30):
    """Landmarks of a runner seen from behind, the left side on the image's left, legs moving."""
    k = len(KEYPOINTS)
    image = np.zeros((n, k, 3), np.float32)
    t = np.arange(n)
    for side, x in (("left", 280.0), ("right", 360.0)):
        for name, y in (("shoulder", 80.0), ("hip", 200.0), ("knee", 300.0), ("ankle", 400.0)):
            image[:, KEYPOINT_INDEX[f"{side}_{name}"], 0] = x + (5 * np.sin(t / 3) if name != "shoulder" else 0)
            image[:, KEYPOINT_INDEX[f"{side}_{name}"], 1] = y
    return Landmarks(frame=t, time=t / 60.0, image=image, world=np.zeros((n, k, 3), np.float32),
                     visibility=np.ones((n, k), np.float32), presence=np.ones((n, k), np.float32))


def test_frames_whose_labels_the_pose_model_mirrored_are_swapped_back():
    from gaitlab.preprocess import repair_frontal_flips
    from gaitlab.schema import MIRROR_PERMUTATION
    from gaitlab.views import detect_view

    lm = _rear_body()
    image = lm.image.copy()
    image[10:13] = image[10:13][:, list(MIRROR_PERMUTATION)]  # three frames seen as if from the front
    mirrored = lm.replace(image=image)
    view = detect_view(mirrored)
    assert view.kind == "rear" and view.confidence == pytest.approx(27 / 30)
    repaired = repair_frontal_flips(mirrored, view)
    np.testing.assert_array_equal(repaired.image, lm.image)
    assert repaired.attrs["processing"][-1]["frames"] == [10, 11, 12]
    # A side view is left to the leg-swap repair.
    assert repair_frontal_flips(mirrored, View("side", 1, 0.1, 1.0)).image[11, KEYPOINT_INDEX["left_hip"], 0] > 300


def test_no_value_is_given_per_side_when_behind_or_in_front_is_uncertain():
    from gaitlab.summary import withhold_sides

    summary = pd.DataFrame({"metric": ["knee_fppa_deg"] * 3, "side": ["left", "right", "both"],
                            "median": [4.0, 9.0, 6.5], "q1": [3.0, 8.0, 4.0], "q3": [5.0, 10.0, 9.0],
                            "sd": [1.0, 1.0, 2.5], "measurable": [True, False, True],
                            "warning": ["", "not printed: its own reason", ""],
                            "right_minus_left": [np.nan, np.nan, 5.0], "exceeds_sdd": [False, False, True]})
    out = withhold_sides(summary, "left and right may be swapped")
    assert not out.measurable[:2].any() and out["median"][:2].isna().all()
    assert list(out.warning[:2]) == ["left and right may be swapped", "not printed: its own reason"]
    assert out.measurable[2] and out["median"][2] == 6.5
    assert np.isnan(out.right_minus_left[2]) and not out.exceeds_sdd[2]


def test_a_slim_runner_seen_from_straight_behind_is_analysed_not_refused_as_oblique(synthetic):
    """A slim runner (girth 0.88) filmed from straight behind by a low camera looks no wider than a
    broad runner filmed 35 deg off (shoulders and hips spanning 0.38-0.40 of twice the torso, which
    the width rule alone called oblique in ``gaitlab validate``); the ankles, which hardly move
    across the image, say the camera is straight behind."""
    import dataclasses

    from gaitlab.config import RunnerInfo
    from gaitlab.synth.randomize import random_params
    from gaitlab.views import FRONTAL_MAX_FORE_AFT, detect_view

    runner = random_params(1436)
    params = {f.name: getattr(runner, f.name) for f in dataclasses.fields(runner)}
    # Its own 120 fps and 854x480, over 4.5 s: 11 steps, enough for the step rhythm that gaitlab
    # shows as the cadence (in 3 s its 7 counted contacts came 1.05 steps/min off once in CI).
    params.update(duration_s=4.5, supersample=1)
    _, truth, lm = synthetic("random1436_rear", **params)
    view = detect_view(lm)
    print(f"seed 1436 from behind: width ratio {view.width_ratio:.3f}, ankles' fore-aft {view.fore_aft:.3f}")
    assert runner.view == "rear" and abs(runner.camera_yaw_deg) < 1
    _, _, off_axis = synthetic("rear_yaw35_broad", **OFF_AXIS_BROAD, camera_yaw_deg=35.0)
    assert view.width_ratio < detect_view(off_axis).width_ratio  # width alone cannot tell them apart
    assert view.fore_aft <= FRONTAL_MAX_FORE_AFT and view.kind in ("rear", "front")
    result = analyze_landmarks(lm, RunnerInfo(height_m=runner.height_m))
    print(f"cadence {result.cadence['both']:.2f} against {truth['params']['cadence_spm']}")
    assert abs(result.cadence["both"] - truth["params"]["cadence_spm"]) <= 1.0


#: A broad runner seen from behind (the camera then turned off-axis by each test).
OFF_AXIS_BROAD = dict(view="rear", girth=1.2, camera_height_m=1.1, duration_s=3.0, seed=7011)


@pytest.mark.parametrize("yaw", [0.0, 35.0])
def test_a_camera_well_off_the_runners_back_is_refused_as_oblique(synthetic, yaw):
    """A broad runner (girth 1.2) looks as wide from 35 deg off as a slim one from straight behind,
    so the width rule alone took the view for a rear one and measured frontal angles on it. The
    ankles' fore-aft swing, which shows across the image off-axis, refuses it."""
    from gaitlab.config import RunnerInfo
    from gaitlab.errors import AnalysisError
    from gaitlab.views import FRONTAL_MIN_WIDTH_RATIO, detect_view

    _, truth, lm = synthetic(f"rear_yaw{yaw:.0f}_broad", **OFF_AXIS_BROAD, camera_yaw_deg=yaw)
    view = detect_view(lm)
    print(f"rear, camera {yaw:.0f} deg off: width ratio {view.width_ratio:.3f}, ankles' fore-aft {view.fore_aft:.3f}")
    assert view.width_ratio >= max(FRONTAL_MIN_WIDTH_RATIO, 0.40)  # wide enough for the width rule
    if yaw == 0.0:
        assert view.kind == "rear"
        analyze_landmarks(lm, RunnerInfo(height_m=1.75))
    else:
        assert view.kind == "oblique"
        with pytest.raises(AnalysisError, match="films the runner at an angle"):
            analyze_landmarks(lm, RunnerInfo(height_m=1.75))
