"""Pose estimation for real: MediaPipe on real clips and the committed samples, and the rule that
chooses the runner among several people."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from conftest import shared_video
from gaitlab.errors import AnalysisError
from gaitlab.schema import KEYPOINT_INDEX
from gaitlab.pose import subject
from gaitlab.pose import estimate as pose_estimate
from gaitlab.pose.estimate import PoseConfig, estimate_pose


@pytest.fixture(scope="module")
def male_side(pose_cache):
    return pose_cache(shared_video("zzzhushi_male_side.mp4"))


def test_real_treadmill_clip_person_found_in_nearly_every_frame(male_side):
    assert male_side.n_frames == 360
    assert male_side.detected.mean() >= 0.95
    assert male_side.attrs["timestamps"] == "container"
    assert male_side.fps == pytest.approx(30.0, abs=0.01)


def test_real_clip_landmarks_are_anatomically_ordered(male_side):
    ok = male_side.detected
    for side in ("left", "right"):
        hip, knee, ankle = (male_side.xy(f"{side}_{k}")[ok, 1] for k in ("hip", "knee", "ankle"))
        # Upright runner, image y down: hips above knees above ankles in (nearly) every frame.
        assert np.mean(hip < knee) >= 0.98
        assert np.mean(knee < ankle) >= 0.95
    nose = male_side.xy("nose")[ok, 1]
    assert np.mean(nose < male_side.xy("left_hip")[ok, 1]) >= 0.99


def test_real_clip_left_and_right_are_consistent_over_time(male_side):
    # The camera sees the runner's LEFT side (runner faces image-left): the left leg is nearer,
    # so it is the better seen one. Mirrored labels would flip this.
    assert np.median(male_side.vis("left_ankle")) > np.median(male_side.vis("right_ankle"))
    assert np.median(male_side.image[:, 27, 2]) < np.median(male_side.image[:, 28, 2])  # left ankle nearer (z)
    # Labels do not jump between the feet from frame to frame.
    for kp in ("ankle", "heel"):
        L, R = male_side.xy(f"left_{kp}"), male_side.xy(f"right_{kp}")
        same = np.linalg.norm(L[1:] - L[:-1], axis=1) + np.linalg.norm(R[1:] - R[:-1], axis=1)
        cross = np.linalg.norm(L[1:] - R[:-1], axis=1) + np.linalg.norm(R[1:] - L[:-1], axis=1)
        assert np.mean(cross < same) <= 0.02


def test_clip_tracked_in_stretches_joins_frame_exactly(male_side):
    """The pose stage splits a clip over the cores; the joined landmarks keep every frame once,
    with its own number and time, and the first stretch is the whole pass's tracking itself."""
    split = estimate_pose(male_side.attrs["video"]["path"], PoseConfig(chunks=3))
    whole = estimate_pose(male_side.attrs["video"]["path"], PoseConfig(chunks=1))
    assert split.attrs["pose_chunks"] == 3 and whole.attrs["pose_chunks"] == 1
    np.testing.assert_array_equal(split.frame, whole.frame)
    np.testing.assert_array_equal(split.frame, np.arange(360))
    np.testing.assert_allclose(split.time, whole.time, atol=1e-9)
    first = 120  # frames before the second stretch takes over (a third of 360)
    np.testing.assert_allclose(split.image[:first], whole.image[:first], atol=1e-4)
    assert not np.allclose(split.image[first:], whole.image[first:], atol=1e-4, equal_nan=True), \
        "later stretches are tracked afresh, so they differ a little from one whole pass"
    assert split.detected.mean() == pytest.approx(whole.detected.mean(), abs=0.01)
    # A fresh tracker lands on the same body: hips and ankles agree within a few pixels.
    joints = [KEYPOINT_INDEX[k] for k in ("left_hip", "right_hip", "left_ankle", "right_ankle")]
    gap = np.linalg.norm(split.image[first:, joints, :2] - whole.image[first:, joints, :2], axis=-1)
    assert np.nanmedian(gap) < 3.0
    assert np.all(np.isfinite(split.frame_signals["scene_change"][1:]))


def test_stretches_that_do_not_join_fall_back_to_one_pass(male_side, monkeypatch):
    def no_join(self, *args):
        raise pose_estimate._StitchError("the stretches share no frame")

    monkeypatch.setattr(pose_estimate._Chunk, "_track", no_join)
    lm = estimate_pose(male_side.attrs["video"]["path"], PoseConfig(chunks=2))
    assert lm.attrs["pose_chunks"] == 1
    np.testing.assert_array_equal(lm.frame, np.arange(360))
    assert lm.detected.mean() >= 0.95


def test_boxes_and_tracks_follow_people():
    # Two people moving right at different speeds, one of them absent in frame 2.
    def box(x, y, h):
        return [x, y, x + h / 3, y + h]

    frames = [np.array([box(100 + 5 * t, 50, 300), box(400 - 4 * t, 80, 200)]) for t in range(5)]
    frames[2] = frames[2][:1]
    tracks = subject.associate(frames)
    assert tracks.shape == (5, 2)
    assert tracks[:, 0].tolist() == [0, 0, 0, 0, 0]
    assert tracks[:, 1].tolist() == [1, 1, -1, 1, 1]
    best, scores = subject.choose_track(tracks, frames, width=640, height=480)
    assert best == 0 and scores[0] > scores[1]


def test_bystanders_do_not_count_as_a_crowd():
    runner = [100, 50, 200, 450]
    small = [[400, 300, 420, 360], [500, 310, 520, 370], [560, 300, 580, 350]]
    check = subject.check_crowd([np.array([runner] + small)] * 10)
    assert check.max_people == 4 and check.max_comparable == 1 and not check.is_crowd
    crowd = subject.check_crowd([np.array([runner, [300, 60, 400, 440], [450, 70, 550, 430]])] * 10)
    assert crowd.is_crowd


def test_passing_people_with_no_steady_runner_is_a_crowd():
    t = 100
    tracks = np.full((t, 4), -1)
    tracks[0:40, 0] = 0
    tracks[30:70, 1] = 0
    tracks[60:100, 2] = 0
    tracks[10:25, 3] = 1
    assert subject.is_passing_crowd(tracks, chosen=1)
    steady = tracks.copy()
    steady[:, 1] = 0
    assert not subject.is_passing_crowd(steady, chosen=1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, ffmpeg):
    folder = tmp_path_factory.mktemp("clips")

    def cut(name, start, seconds):
        out = folder / f"{seconds}s_{name}"
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-ss", str(start), "-i", str(shared_video(name)),
                        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-an", str(out)], check=True)
        return out

    return cut


def test_two_joggers_the_runner_is_chosen_and_reported(clip):
    video = clip("zeshanfareed_two_joggers_anterior.mp4", 2, 4)
    lm = estimate_pose(str(video))
    sel = lm.attrs["subject"]
    assert sel["people_check"]["max_people"] >= 2
    assert sel["people_check"]["frames_with_several"] >= 2
    assert lm.detected.mean() >= 0.9
    # The chosen person is the larger, more central one: the left jogger in this clip.
    assert sel["runner_centre_x_fraction"] < 0.5


def test_race_crowd_is_refused_with_a_clear_message(pose_cache):
    with pytest.raises(AnalysisError) as exc:
        pose_cache(shared_video("mgsa1_race_crowd_posterior.webm"))
    assert exc.value.one_line().startswith("a crowd is in view: ")
    assert exc.value.one_line().endswith("gaitlab analyses one runner (film the runner alone, or crop the video to the runner)")
