"""The catalogue of bad and awkward inputs, each with the exact line the user sees; clips that are
awkward but fine (rotated phone video, variable frame rate, slow motion with its capture rate) give
the right answer; and a fuzz run of truncated and bit-flipped copies of a real clip that must
always end in a clear error or a valid result, never a crash or a hang.

(Missing, empty, not-a-video, audio-only, still image, truncated, unfinished mp4, no person and
the read-only output folder are in test_cli.py; the crowd and the two joggers in test_pose.py.)
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from conftest import SAMPLES, SHARED, run_cli, shared_video
from test_cli import one_line_error

TRUTH_CADENCE = json.loads((SHARED / "ground_truth" / "zzzhushi_male_side.groundtruth.json").read_text())["cadence_spm"]


def ff(ffmpeg, *args):
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def clips(tmp_path_factory, ffmpeg):
    d = tmp_path_factory.mktemp("catalogue")
    src = shared_video("zzzhushi_male_side.mp4")
    ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=1:s=320x240:r=30", "-frames:v", "1", "-c:v", "libx264", d / "one_frame.mp4")
    ff(ffmpeg, "-f", "lavfi", "-i", "color=c=gray:s=8640x4320:r=5:d=0.4", "-c:v", "libx264", "-preset", "ultrafast",
       d / "enormous.mp4")
    ff(ffmpeg, "-i", src, "-vf", "fps=5", "-c:v", "libx264", "-preset", "ultrafast", d / "five_fps.mp4")
    # A 120 fps capture played at 30 fps: everything four times slower.
    ff(ffmpeg, "-i", src, "-vf", "setpts=4*PTS", "-r", "30", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28",
       d / "slow_motion.mp4")
    ff(ffmpeg, "-i", src, "-frames:v", "1", d / "still.png")
    ff(ffmpeg, "-loop", "1", "-i", d / "still.png", "-t", "6", "-r", "30", "-c:v", "libx264", "-preset", "ultrafast",
       "-pix_fmt", "yuv420p", d / "standing_still.mp4")
    # The portrait clip stored landscape with a rotation flag, as phones write it.
    ff(ffmpeg, "-i", src, "-vf", "transpose=2", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", d / "sideways.mp4")
    ff(ffmpeg, "-display_rotation", "-90", "-i", d / "sideways.mp4", "-c", "copy", d / "rotated_phone.mp4")
    # Variable frame rate: every third frame dropped, the others keep their true times.
    ff(ffmpeg, "-i", src, "-vf", "select='not(eq(mod(n\\,3)\\,2))'", "-fps_mode", "vfr", "-c:v", "libx264",
       "-preset", "ultrafast", "-crf", "18", d / "variable_rate.mp4")
    # Corrupt in the middle: a run of garbage bytes inside the video data.
    data = bytearray(src.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 20_000] = bytes(random.Random(7).getrandbits(8) for _ in range(20_000))
    (d / "corrupt_middle.mp4").write_bytes(bytes(data))
    return d


@pytest.mark.parametrize("name, code, message", [
    ("one_frame.mp4", 3, "one_frame.mp4 holds a single image, not a video (gaitlab needs a video of the runner)"),
    ("enormous.mp4", 3, "enormous.mp4 is 8640x4320 pixels, larger than gaitlab reads (8K) (export the clip at 4K or less)"),
    ("five_fps.mp4", 4, "the frame rate (5 fps) is too low for running analysis (film at 60 fps, or at least 30 fps)"),
    ("slow_motion.mp4", 4, "cadence 42 steps/min is too low for running: the clip looks like slow motion (the file plays "
                           "at 30 fps) (give the frame rate the phone filmed at, e.g. --capture-fps 120)"),
    ("standing_still.mp4", 4, "the person in view is standing still, not running (film the runner while running, for "
                              "at least 10 seconds)"),
    ("corrupt_middle.mp4", 3, "corrupt_middle.mp4 is truncated or corrupt: decoded 181 of 360 frames (re-export or "
                              "re-copy the clip from the phone)"),
])
def test_catalogue_entry_gives_its_one_line_error(clips, tmp_path, name, code, message):
    out = tmp_path / "res"
    r = run_cli("analyze", clips / name, "--out", out, "--no-report")
    assert one_line_error(r, code) == message
    assert not out.exists()


@pytest.mark.parametrize("name, code, message", [
    ("jacky1107_walk_anterior_control.mp4", 4, "this looks like walking, not running: both feet are on the ground "
                                               "together in 84% of frames (gaitlab analyses running, which has a flight phase)"),
    ("sports2d_demo_walking_2people.mp4", 4, "this looks like walking, not running: both feet are on the ground "
                                             "together in 28% of frames (gaitlab analyses running, which has a flight phase)"),
    ("wchh2000_sprint_past_wall_sagittal.mp4", 4, "the runner is in view in only 45% of the clip (1.0 of 2.3 s) (keep "
                                                  "the runner's whole body in the frame for the whole clip)"),
    # Road footage conformed to 25 fps from twice that: the suggested rate gives a running cadence
    # (--capture-fps 50 reads 171 steps/min; four times the file's rate would read twice that).
    ("pauldess1_running_road_pan.mp4", 4, "cadence 86 steps/min is too low for running: the clip looks like slow "
                                          "motion (the file plays at 25 fps) (give the frame rate the phone filmed "
                                          "at, e.g. --capture-fps 50)"),
])
def test_real_clips_that_cannot_be_analysed_say_why(tmp_path, name, code, message):
    r = run_cli("analyze", shared_video(name), "--out", tmp_path / "res", "--no-report")
    assert one_line_error(r, code) == message


def test_overlapping_stances_mean_walking_only_where_contacts_are_seen():
    """From the side, steps whose contact overlaps the other foot's (no flight) are walking. From
    behind or in front contact and toe-off are estimated about midstance and can overlap on a running
    clip (a randomised front-view runner at 120 fps read 62 % of steps without flight and was
    refused as walking); there the frames with both feet down decide, before events."""
    import pandas as pd

    from gaitlab.analysis import check_steps
    from gaitlab.errors import AnalysisError

    steps = pd.DataFrame({"side": ["right", "left"] * 4, "valid": True,
                          "flight_time_s": [-0.05, -0.06, -0.06, 0.10, 0.35, 0.23, -0.05, -0.06]})
    for phase in (float("nan"), 0.0, -0.2):  # the pelvis unknown, or moving as in walking
        with pytest.raises(AnalysisError, match="this looks like walking"):
            check_steps(steps, "side", phase)
    check_steps(steps, "side", 0.4)  # the pelvis dips at midstance: a runner with a short flight
    check_steps(steps, "rear")
    check_steps(steps, "front")


def test_too_few_steps_says_when_one_leg_s_contacts_were_timed_off():
    """Plenty of contacts, but the steps onto the left foot long and onto the right short by turns
    (one leg's contacts timed off, so the step-time check dropped the left leg): the refusal says
    so, with the step times, rather than asking for a longer clip."""
    import pandas as pd

    from gaitlab.analysis import check_steps
    from gaitlab.errors import AnalysisError

    sides = ["right", "left"] * 6
    times = [float("nan")] + [0.37 if s == "left" else 0.27 for s in sides[1:]]
    steps = pd.DataFrame({"side": sides, "step_time_s": times, "flight_time_s": 0.05,
                          "valid": [s == "right" for s in sides]})
    with pytest.raises(AnalysisError) as info:
        check_steps(steps, "side", 0.5)
    assert info.value.one_line() == (
        "too few steps to analyse: 6 usable foot contacts found; the steps onto the left foot took 0.37 s and onto "
        "the right 0.27 s by turns, so one leg's contacts could not be timed (film at 60 frames/s or more, with both "
        "legs in view the whole time)")
    few = steps.iloc[:3].assign(step_time_s=[float("nan"), 0.3, 0.3])
    with pytest.raises(AnalysisError, match=r"^too few steps to analyse: 2 usable foot contacts found$"):
        check_steps(few, "side", 0.5)


def test_the_pelvis_dips_at_midstance_in_running_and_rises_in_walking(pose_cache):
    """From the side, the pelvis's height follows the feet's separation in running (lowest over the
    stance foot, feet together) and opposes it in walking (highest over the straight stance leg):
    the real treadmill runner and the real walker (its first 190 frames, before a second person
    walks in)."""
    from gaitlab.analysis import clean_landmarks
    from gaitlab.events import rhythm
    from gaitlab.views import detect_view

    phases = {}
    for name, frames in (("zzzhushi_male_side.mp4", None), ("sports2d_demo_walking_2people.mp4", 190)):
        lm = pose_cache(shared_video(name))
        if frames:
            lm = lm.select(slice(0, frames))
        view = detect_view(lm)
        assert view.kind == "side", name
        phases[name] = rhythm(clean_landmarks(lm, view), view)["pelvis_phase"]
    print(phases)
    assert phases["zzzhushi_male_side.mp4"] > 0.5
    assert phases["sports2d_demo_walking_2people.mp4"] < -0.1


def test_slow_motion_with_its_capture_rate_gives_the_true_cadence(clips, tmp_path):
    out = tmp_path / "res"
    r = run_cli("analyze", clips / "slow_motion.mp4", "--out", out, "--no-report", "--capture-fps", "120")
    assert r.returncode == 0, r.stderr
    cadence = json.loads((out / "result.json").read_text())["cadence_spm"]["both"]
    print(f"slow motion at --capture-fps 120: {cadence:.2f} steps/min (truth {TRUTH_CADENCE['value']})")
    assert abs(cadence - TRUTH_CADENCE["value"]) <= 1.0


@pytest.mark.parametrize("name", ["rotated_phone.mp4", "variable_rate.mp4"])
def test_awkward_but_readable_clips_give_the_true_cadence(clips, tmp_path, name):
    out = tmp_path / "res"
    r = run_cli("analyze", clips / name, "--out", out, "--no-report")
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "run.json").read_text())
    cadence = json.loads((out / "result.json").read_text())["cadence_spm"]["both"]
    print(f"{name}: {record['frames_decoded']} frames, {record['inputs']['video']['width']}x"
          f"{record['inputs']['video']['height']}, cadence {cadence:.2f} (truth {TRUTH_CADENCE['value']})")
    assert (record["inputs"]["video"]["width"], record["inputs"]["video"]["height"]) == (720, 1280)  # upright
    assert abs(cadence - TRUTH_CADENCE["value"]) <= 1.0
    if name == "variable_rate.mp4":
        assert record["frames_decoded"] == 240 and record["timestamps"] == "container"


#: Fuzz cases: (kind, seed). Truncations at random points, and random bytes flipped.
FUZZ = [("truncate", s) for s in range(4)] + [("flip", s) for s in range(6)]
#: Exit codes a damaged clip may end with: a result, an unreadable video, or an unanalysable one.
FUZZ_CODES = {0, 3, 4}


@pytest.fixture(scope="module")
def fuzz_source(tmp_path_factory, ffmpeg):
    d = tmp_path_factory.mktemp("fuzz")
    src = d / "short.mp4"
    ff(ffmpeg, "-i", SAMPLES / "side_left_normal.mp4", "-t", "3", "-c", "copy", src)
    return src


@pytest.mark.parametrize("kind, seed", FUZZ, ids=[f"{k}-{s}" for k, s in FUZZ])
def test_fuzzed_clip_ends_in_a_clear_error_or_a_valid_result(fuzz_source, tmp_path, kind, seed):
    rng = random.Random(seed)
    data = bytearray(fuzz_source.read_bytes())
    if kind == "truncate":
        data = data[:rng.randrange(len(data) // 20, len(data))]
    else:
        for _ in range(rng.choice([1, 10, 100, 1000])):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    clip = tmp_path / f"{kind}{seed}.mp4"
    clip.write_bytes(bytes(data))
    out = tmp_path / "res"
    r = run_cli("analyze", clip, "--out", out, "--no-report", timeout=180)
    assert r.returncode in FUZZ_CODES, r.stderr
    assert "Traceback" not in r.stderr
    if r.returncode == 0:
        assert (out / "run.json").is_file() and (out / "summary.csv").is_file()
    else:
        one_line_error(r, r.returncode)
        assert not out.exists()
    assert clip.read_bytes() == bytes(data)  # the user's file is untouched
    shutil.rmtree(tmp_path, ignore_errors=True)
