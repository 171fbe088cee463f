"""The gaitlab command through its real entry point: outputs, exit codes and the exact one-line
errors users see for bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLES, run_cli, shared_video

SAMPLE = SAMPLES / "side_left_normal.mp4"


def one_line_error(result, code):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("gaitlab: error: ")
    return lines[0][len("gaitlab: error: "):]


def test_info_prints_versions_and_the_verified_model():
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    assert "mediapipe" in r.stdout and "bundled, verified" in r.stdout
    from gaitlab.pose.model import FULL_MODEL_SHA256
    assert FULL_MODEL_SHA256 in r.stdout


def test_analyze_writes_landmarks_and_run_record(tmp_path):
    out = tmp_path / "res"
    r = run_cli("analyze", SAMPLE, "--out", out)
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"]["video"]["name"] == SAMPLE.name
    assert record["model"]["sha256"] and record["versions"]["mediapipe"]
    assert record["detected_fraction"] >= 0.99
    assert record["timings_s"]["pose"] > 0
    assert (out / "landmarks.parquet").is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    # The saved landmarks feed a second run without pose estimation.
    out2 = tmp_path / "again"
    r2 = run_cli("analyze", "--landmarks", out / "landmarks.parquet", "--out", out2)
    assert r2.returncode == 0, r2.stderr
    assert json.loads((out2 / "run.json").read_text())["timings_s"].get("pose") is None


def test_existing_output_needs_overwrite_and_only_gaitlab_folders_are_replaced(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file")
    r = run_cli("analyze", SAMPLE, "--out", out)
    assert one_line_error(r, 5) == f"output folder {out} already exists (use --overwrite to replace it)"
    r = run_cli("analyze", SAMPLE, "--out", out, "--overwrite")
    assert one_line_error(r, 5) == f"output folder {out} exists and was not written by gaitlab; not replacing it"
    assert (out / "notes.txt").read_text() == "the user's own file"


def test_input_inside_output_folder_is_refused(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    video = out / "clip.mp4"
    shutil.copy(SAMPLE, video)
    (out / "run.json").write_text(json.dumps({"gaitlab_version": "0"}))
    r = run_cli("analyze", video, "--out", out, "--overwrite")
    assert one_line_error(r, 5) == f"the input clip.mp4 is inside the output folder {out}; choose another --out"
    assert video.is_file()


def test_unwritable_output_is_refused_before_any_work(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/gaitlab-results"  # not writable even by root
        expected_start = "cannot write to /proc/gaitlab-results"
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        target = ro / "res"
        expected_start = f"cannot write to {target}: permission denied"
    r = run_cli("analyze", SAMPLE, "--out", target)
    assert one_line_error(r, 5).startswith(expected_start)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, ffmpeg):
    d = tmp_path_factory.mktemp("bad")
    files = {}
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("not a video\n" * 100)
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac",
                    str(d / "audio.mp4")], check=True)
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=d=1:s=320x240:r=30",
                    "-frames:v", "1", str(d / "still.jpg")], check=True)
    shutil.copy(d / "still.jpg", d / "still.mp4")
    src = shared_video("zzzhushi_male_side.mp4")
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-c", "copy", "-movflags", "faststart",
                    str(d / "faststart.mp4")], check=True)
    (d / "truncated.mp4").write_bytes((d / "faststart.mp4").read_bytes()[:900_000])
    (d / "unfinished.mp4").write_bytes(src.read_bytes()[:900_000])
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=d=2:s=320x240:r=30",
                    "-c:v", "libx264", "-preset", "ultrafast", str(d / "nobody.mp4")], check=True)
    return d


@pytest.mark.parametrize("name, code, message", [
    ("missing.mp4", 3, "video not found: {path}"),
    ("empty.mp4", 3, "empty.mp4 is an empty file (0 bytes)"),
    ("notes.mp4", 3, "notes.mp4 is not a readable video (no decodable video stream) "
                     "(gaitlab reads mp4, mov, webm, avi and mkv)"),
    ("audio.mp4", 3, "audio.mp4 has no video stream (audio only)"),
    ("still.mp4", 3, "still.mp4 holds a single image, not a video (gaitlab needs a video of the runner)"),
    ("truncated.mp4", 3, "truncated.mp4 is truncated or corrupt: decoded 176 of 360 frames "
                         "(re-export or re-copy the clip from the phone)"),
    ("unfinished.mp4", 3, "unfinished.mp4 is an incomplete mp4 (its index is missing: the copy or the "
                          "recording stopped early) (copy the clip from the phone again)"),
    ("nobody.mp4", 4, "no person found in nobody.mp4 (film the whole body, side-on or from behind, in good light)"),
])
def test_bad_input_gives_one_line_and_exit_code(bad_inputs, tmp_path, name, code, message):
    path = bad_inputs / name
    out = tmp_path / "res"
    r = run_cli("analyze", path, "--out", out)
    assert one_line_error(r, code) == message.format(path=path)
    assert not out.exists()


def test_usage_errors_are_one_line(tmp_path):
    r = run_cli("analyze")
    assert one_line_error(r, 2) == "give a VIDEO, or --landmarks FILE from an earlier run"
    r = run_cli("analyze", SAMPLE, "--no-such-option")
    assert one_line_error(r, 2) == "No such option '--no-such-option'. (see gaitlab --help)"
    r = run_cli("analyze", "--landmarks", tmp_path / "nope.parquet", "--out", tmp_path / "o")
    assert one_line_error(r, 6) == f"landmarks file not found: {tmp_path / 'nope.parquet'}"
    r = run_cli("analyze", SAMPLE, "--model", tmp_path / "nope.task", "--out", tmp_path / "o")
    assert one_line_error(r, 2) == f"pose model not found: {tmp_path / 'nope.task'}"


@pytest.mark.parametrize("delay_s", [0.2, 1.0], ids=["model-starting", "tracking"])
def test_ctrl_c_during_the_pose_stage_stops_cleanly(tmp_path, delay_s):
    """SIGINT to a real ``gaitlab analyze`` while its pose model starts or its pose threads run:
    one line, exit 130, no native log lines, no results folder."""
    exe = Path(sys.executable).with_name("gaitlab")
    out = tmp_path / "res"
    proc = subprocess.Popen([str(exe), "analyze", str(shared_video("zzzhushi_male_side.mp4")), "--out", str(out),
                             "--progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, deadline = "", time.time() + 60
    while "pose" not in seen and time.time() < deadline:  # the progress bar shows the pose stage
        seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
    time.sleep(delay_s)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "gaitlab: interrupted; no results were written"
    assert "Traceback" not in seen + err
    native = [line for line in re.split(r"[\r\n]", seen + err) if line.startswith(("INFO", "WARNING", "FATAL", "terminate"))]
    assert not native, native
    assert list(tmp_path.iterdir()) == []


def test_interrupted_run_leaves_nothing_behind(tmp_path):
    from gaitlab.pipeline import analyze

    def stop_after_ten(done, total, stage):
        if done >= 10:
            raise KeyboardInterrupt

    out = tmp_path / "res"
    with pytest.raises(KeyboardInterrupt):
        analyze(str(SAMPLE), out, progress=stop_after_ten)
    assert list(tmp_path.iterdir()) == []
