"""The synthetic runner: exact kinematics, deterministic rendering, truth files that match their
parameters, and committed clips that BlazePose sees the way it sees a real runner."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SAMPLES, run_cli, sample_manifest
from gaitlab.geometry import fppa_deg, tilt_deg
from gaitlab.landmarks import Landmarks
from gaitlab.preprocess import repair_leg_swaps
from gaitlab.synth import RunnerModel, SynthParams, compute_truth, load_truth, render_clip
from gaitlab.synth.raycast import Camera
from gaitlab.synth.scene import Scene
from gaitlab.validation import landmark_agreement

import sys
sys.path.insert(0, str(SAMPLES.parent / "scripts"))
from make_sample_videos import clip_params  # noqa: E402

CLIPS = list(sample_manifest()["clips"])


@pytest.mark.parametrize("overstride, drop, valgus", [(0, 0, 0), (10, 4, 5), (20, 8, 10), (25, 12, -4)])
def test_kinematics_hit_their_parameters_exactly(overstride, drop, valgus):
    p = SynthParams(overstride_cm=overstride, pelvic_drop_deg=drop, knee_valgus_deg=valgus)
    m = RunnerModel(p)
    for side in ("left", "right"):
        t_ic = m.ic_offset[side] + m.stride_time
        leg = m.leg(np.array([t_ic]), side)
        assert 100 * (leg["heel"][0, 0] - leg["hip"][0, 0]) == pytest.approx(overstride, abs=1e-6)
        u = np.linspace(0, m.tc[side], 2001)
        sign = 1 if side == "left" else -1
        obl = sign * np.degrees(m.obliquity(m.ic_offset[side] + m.stride_time + u))
        assert obl.max() == pytest.approx(drop, abs=1e-3)
    # FPPA is set for an orthographic view from behind (what side-view truth files report) ...
    kw = dict(overstride_cm=overstride, pelvic_drop_deg=drop, knee_valgus_deg=valgus, duration_s=3)
    ortho = [s["knee_fppa_deg"] for s in compute_truth(SynthParams(view="side_left", **kw))["steps"]]
    assert np.allclose(ortho, valgus, atol=0.6)  # at the nearest frame to the exact peak
    # ... while a real camera behind the runner sees perspective: the flexed knee is further away
    # than hip and ankle and projects toward the image centre, which reads as more valgus.
    persp = [s["knee_fppa_deg"] for s in compute_truth(SynthParams(view="rear", **kw))["steps"]]
    assert np.all(np.asarray(persp) - valgus > -0.5) and np.all(np.asarray(persp) - valgus < 2.5)
    assert max(m.tc.values()) < m.step_time  # a flight phase exists


@pytest.mark.parametrize("reflexion, lead", [(0.0, 0.04), (3.0, 0.02), (6.0, 0.05), (8.0, 0.07)])
def test_the_knee_is_straightest_before_contact_by_its_lead_and_flexes_onto_the_contact(reflexion, lead):
    p = SynthParams(knee_flexion_ic_deg=16, knee_reflexion_deg=reflexion, knee_reflexion_lead_s=lead,
                    overstride_cm=12)
    m = RunnerModel(p)
    for side in ("left", "right"):
        t_ic = m.ic_offset[side] + m.stride_time
        t = t_ic + np.linspace(-0.15, 0.0, 1501)
        flex = m.knee_flexion(t, side)
        assert flex[-1] == pytest.approx(16, abs=0.05)
        assert flex[-1] - flex.min() == pytest.approx(reflexion, abs=0.05)
        assert t_ic - t[np.argmin(flex)] == pytest.approx(lead if reflexion else 0.0, abs=1e-3)
        # The foot comes down onto the belt at contact, not before, and is still moving down.
        leg = m.leg(t, side)
        lowest = np.minimum(leg["heel_centre"][:, 1], leg["toe_centre"][:, 1]) - m.body.foot_radius
        assert lowest[:-10].min() > lowest[-1] > -2e-3
        assert leg["ankle"][-1, 1] < leg["ankle"][-2, 1]
        assert 100 * (leg["heel"][-1, 0] - leg["hip"][-1, 0]) == pytest.approx(12, abs=1e-6)


def test_a_side_reaching_less_far_lands_more_flexed_and_re_flexes_more_from_the_same_straightest_point():
    m = RunnerModel(SynthParams(knee_flexion_ic_deg=14, knee_reflexion_deg=4, overstride_cm=(20, 5)))
    for side in ("left", "right"):
        t = m.ic_offset[side] + m.stride_time + np.linspace(-0.12, 0.0, 1201)
        flex = m.knee_flexion(t, side)
        assert flex.min() == pytest.approx(10, abs=0.05)
        if side == "left":  # the side reaching further lands at knee_flexion_ic_deg
            assert flex[-1] == pytest.approx(14, abs=0.05)
        else:
            assert flex[-1] > 16


def test_randomised_runners_keep_their_other_parameters_when_the_terminal_swing_is_drawn():
    from gaitlab.synth.randomize import random_params

    drawn = [random_params(seed) for seed in range(9000, 9012)]
    reflexion = np.array([p.knee_reflexion_deg for p in drawn])
    assert reflexion.max() > 2 and (reflexion >= 0).all()
    assert all(p.knee_reflexion_deg <= p.knee_flexion_ic_deg - 6 + 1e-9 or p.knee_reflexion_deg == 0 for p in drawn)
    # Seed 9000's runner as drawn before the terminal swing had parameters of its own.
    assert (drawn[0].cadence_spm, drawn[0].overstride_cm, drawn[0].view) == (162.1, (21.52, 21.52), "rear")


def test_cadence_and_events_follow_the_step_time():
    truth = compute_truth(SynthParams(cadence_spm=180, fps=120, duration_s=4))
    ic = [e["time_s"] for e in truth["events"] if e["event"] == "initial_contact"]
    assert np.allclose(np.diff(ic), 60 / 180, atol=1e-6)
    sides = [e["side"] for e in truth["events"] if e["event"] == "initial_contact"]
    assert all(a != b for a, b in zip(sides, sides[1:]))  # contacts alternate


def test_infeasible_motion_is_refused():
    with pytest.raises(ValueError, match="no flight phase"):
        RunnerModel(SynthParams(cadence_spm=120, speed_mps=1.6, overstride_cm=30))


def test_camera_roll_tilts_level_lines_by_the_roll():
    for roll in (-3.0, 0.0, 3.0):
        cam = Camera(np.array([-3.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.0]), 640, 480, 50.0, roll)
        a, b = cam.project(np.array([[0, 1.0, -0.5], [0, 1.0, 0.5]]))
        assert float(tilt_deg(a, b)) == pytest.approx(roll, abs=1e-6)


def test_rendering_is_deterministic_and_lit():
    p = SynthParams(width=320, height=240, supersample=1, duration_s=1)
    m = RunnerModel(p)
    j = m.joints(np.array([0.2]))
    a = Scene(p, m).render(0.2, j, 0)
    b = Scene(p, m).render(0.2, j, 0)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 500  # shaded, not flat colours


@pytest.mark.parametrize("name", CLIPS)
def test_committed_truth_matches_its_parameters(name):
    params = clip_params(sample_manifest(), name)
    committed = load_truth(SAMPLES / f"{name}.truth.json")
    fresh = json.loads(json.dumps(compute_truth(params), separators=(",", ":")))
    assert committed == fresh


@pytest.mark.parametrize("name", CLIPS)
def test_committed_clip_is_detected_like_a_real_runner(name, pose_cache):
    truth = load_truth(SAMPLES / f"{name}.truth.json")
    raw = pose_cache(SAMPLES / f"{name}.mp4")
    before = landmark_agreement(raw, truth)
    after = landmark_agreement(repair_leg_swaps(raw), truth)
    print(f"{name}: detected {after['detected_fraction']:.3f}, left/right raw {before['lr_correct_fraction']:.3f}"
          f" -> repaired {after['lr_correct_fraction']:.3f}, median error {after['median_error_leg']:.4f} leg")
    assert after["detected_fraction"] >= 0.99
    assert after["lr_correct_fraction"] >= 0.99
    assert after["median_error_leg"] < 0.05


def test_two_renders_of_one_clip_at_once_both_finish(tmp_path):
    """Two processes rendering the same clip into one folder (overlapping seed ranges) each write
    under a temporary name of their own: neither finds its file renamed away by the other. Here the
    second render runs to the end while the first, its file already begun, is near its last frame."""
    p = SynthParams(width=160, height=120, fps=30, supersample=1, duration_s=3)
    out = tmp_path / "clip.mp4"
    second = []

    def meanwhile(done, total):
        if done == total - 5 and not second:
            second.append(render_clip(p, out))

    first = render_clip(p, out, progress=meanwhile)
    assert first == second[0] == (out, out.with_name("clip.truth.json"))
    assert out.stat().st_size > 0 and load_truth(first[1])["params"]["fps"] == 30
    assert sorted(f.name for f in tmp_path.iterdir()) == ["clip.mp4", "clip.truth.json"]


def test_synth_command_renders_clip_and_truth(tmp_path):
    r = run_cli("synth", "--out", tmp_path, "--name", "tiny", "--view", "rear", "--resolution", "320x240",
                "--fps", "30", "--duration", "0.5", "--pelvic-drop", "8,4")
    assert r.returncode == 0, r.stderr
    truth = load_truth(tmp_path / "tiny.truth.json")
    assert truth["params"]["pelvic_drop_deg"] == [8.0, 4.0] and truth["video"]["n_frames"] == 15
    import cv2
    cap = cv2.VideoCapture(str(tmp_path / "tiny.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 15
    r = run_cli("synth", "--out", tmp_path, "--name", "tiny")
    assert r.returncode == 5 and "already exists" in r.stderr
    r = run_cli("synth", "--out", tmp_path, "--cadence", "120", "--speed", "1.6", "--overstride", "30")
    assert r.returncode == 2 and r.stderr.startswith("gaitlab: error: no flight phase")


def test_a_randomised_set_of_one_view_takes_the_next_seeds_drawn_with_that_view():
    from gaitlab.synth.randomize import random_params, seeds_with_view

    seeds = seeds_with_view("rear", 9150, 4)
    assert len(seeds) == 4 and seeds == sorted(set(seeds)) and seeds[0] >= 9150
    assert all(random_params(s).view == "rear" for s in seeds)
    skipped = set(range(seeds[0], seeds[-1])) - set(seeds)
    assert skipped and all(random_params(s).view != "rear" for s in skipped)  # none passed over


def test_a_randomised_runner_can_be_filmed_again_at_another_frame_rate():
    from dataclasses import replace

    from gaitlab.synth import random_clip_name
    from gaitlab.synth.randomize import random_params

    drawn = random_params(1906)
    fast = random_params(1906, fps=240)
    assert drawn.fps != 240 and fast.fps == 240
    assert replace(fast, fps=drawn.fps) == drawn  # the same runner, room and camera otherwise
    assert "_240fps_" in random_clip_name(1906, 240) and "_240fps_" not in random_clip_name(1906)


def _landmarks_from_truth(truth: dict, fps: float) -> Landmarks:
    """Landmarks placed exactly on a rendered runner's true joints (every other keypoint on the hip)."""
    from gaitlab.schema import KEYPOINT_INDEX, KEYPOINTS
    from gaitlab.validation.agreement import TRUTH_TO_BLAZEPOSE

    j = {k: np.asarray(v, float) for k, v in truth["frames"]["joints_2d"].items()}
    n = len(j["left_hip"])
    image = np.repeat(((j["left_hip"] + j["right_hip"]) / 2)[:, None, :], len(KEYPOINTS), axis=1)
    for key, xy in j.items():
        side, part = key.split("_", 1)
        image[:, KEYPOINT_INDEX[f"{side}_{TRUTH_TO_BLAZEPOSE[part]}"]] = xy
    image = np.concatenate([image, np.zeros((n, len(KEYPOINTS), 1))], axis=2).astype(np.float32)
    ones = np.ones((n, len(KEYPOINTS)), np.float32)
    return Landmarks(frame=np.arange(n), time=np.arange(n) / fps, image=image, world=np.zeros_like(image),
                     visibility=ones, presence=ones, attrs={})


def test_feet_labels_that_slide_over_to_the_other_leg_at_240_fps_are_swapped_back(monkeypatch):
    """BlazePose moves swapped foot labels over to the other leg across some 20 ms: five frames at
    240 fps. Such a slide, held for 15 frames around a contact, is found and undone."""
    import gaitlab.preprocess as pre
    from gaitlab.schema import KEYPOINT_INDEX
    from gaitlab.views import View

    fps = 240.0
    truth = compute_truth(SynthParams(fps=fps, duration_s=1.2, view="side_left"))
    clean = _landmarks_from_truth(truth, fps)
    ic = next(e["frame"] for e in truth["events"] if e["event"] == "initial_contact" and e["frame"] > 40)
    feet = [KEYPOINT_INDEX[f"{s}_{p}"] for p in ("ankle", "heel", "foot_index") for s in ("left", "right")]
    left, right = feet[0::2], feet[1::2]
    image = clean.image.copy()
    frames = np.arange(ic - 12, ic + 13)
    # 0 -> 1 over five frames, held, 1 -> 0 over five frames: the share of the other foot's position.
    share = np.clip(np.minimum(np.arange(frames.size) + 1, frames.size - np.arange(frames.size)) / 6, 0, 1)
    a, b = clean.image[frames][:, left], clean.image[frames][:, right]
    w = share[:, None, None]
    image[frames[:, None], left] = (1 - w) * a + w * b
    image[frames[:, None], right] = (1 - w) * b + w * a
    raw = clean.replace(image=image)
    side = View(kind="side", facing=-1, width_ratio=0.1, confidence=1.0)
    held = frames[share == 1]
    ankle = KEYPOINT_INDEX["left_ankle"]

    def error_px(lm):  # the left ankle's distance from the true left ankle, while the swap is held
        return float(np.max(np.linalg.norm(lm.image[held, ankle, :2] - clean.image[held, ankle, :2], axis=1)))

    assert error_px(raw) > 20
    assert error_px(repair_leg_swaps(raw, side)) < 1.0
    monkeypatch.setattr(pre, "SWAP_PATH_MAX_FPS", 1e6)  # the path chosen on every frame: the slide stays
    assert error_px(repair_leg_swaps(raw, side)) > 20
