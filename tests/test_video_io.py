"""Video input: properties, true timestamps, rotation, and the errors users see."""

from __future__ import annotations

import hashlib
import subprocess

import numpy as np
import pytest

from conftest import SHARED, shared_video
from gaitlab.errors import VideoError
from gaitlab.io.video import VideoReader, clean_timestamps, probe


def test_probe_real_clip_matches_its_readme():
    info = probe(shared_video("zzzhushi_male_side.mp4"))
    assert (info.width, info.height) == (720, 1280)
    assert info.fps_nominal == pytest.approx(30.0)
    assert info.frame_count == 360
    assert info.duration_s == pytest.approx(12.0)
    assert info.codec == "h264"
    assert info.rotation_deg == 0
    sums = dict(line.split()[::-1] for line in (SHARED / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert info.sha256 == sums.get("zzzhushi_male_side.mp4", sums.get("./zzzhushi_male_side.mp4"))


def test_reader_streams_every_frame_with_container_times():
    path = shared_video("zzzhushi_male_side.mp4")
    with VideoReader(path) as reader:
        items = [(f.index, f.time_s, f.rgb.shape) for f in reader]
    assert len(items) == 360
    assert items[0][2] == (1280, 720, 3)
    t, from_container = clean_timestamps([i[1] for i in items], [i[0] for i in items], 30.0)
    assert from_container
    assert np.allclose(np.diff(t), 1 / 30, atol=1e-3)


def test_webm_vp9_is_read():
    info = probe(shared_video("mgsa1_race_crowd_posterior.webm"))
    assert info.codec.startswith("vp9") and (info.width, info.height) == (640, 360)


def test_rotated_phone_clip_is_decoded_upright(tmp_path, ffmpeg):
    src = shared_video("pauldess1_running_road_pan.mp4")
    rotated = tmp_path / "portrait.mp4"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(src),
                    "-t", "1", "-c", "copy", str(rotated)], check=True)
    info = probe(rotated)
    assert info.rotation_deg in (90, 270)
    assert (info.width, info.height) == (360, 640)  # landscape source, displayed portrait
    with VideoReader(rotated) as reader:
        frame = next(iter(reader))
    assert frame.rgb.shape == (640, 360, 3)


def test_variable_frame_rate_timestamps_come_from_the_container(tmp_path, ffmpeg):
    src = shared_video("zzzhushi_male_side.mp4")
    vfr = tmp_path / "vfr.mp4"
    # Frame k is shown at k/30 s for the first 2 s, then every 2/30 s: a rate change mid-clip.
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(src), "-t", "3",
                    "-vf", "setpts='if(lt(N,60),N,60+(N-60)*2)/30/TB'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-preset", "ultrafast", str(vfr)], check=True)
    with VideoReader(vfr) as reader:
        raw = [(f.index, f.time_s) for f in reader]
    t, from_container = clean_timestamps([r[1] for r in raw], [r[0] for r in raw], probe(vfr).fps_nominal)
    assert from_container
    dt = np.diff(t)
    assert np.allclose(dt[:50], 1 / 30, atol=2e-3)
    assert np.allclose(dt[-10:], 2 / 30, atol=2e-3)
    assert len(t) < 90  # 3 s of output: 60 frames at 30/s, then 15 at 15/s


def test_nominal_rate_used_when_container_times_do_not_increase():
    t, from_container = clean_timestamps([0.0, 0.0, 0.0, 0.0], [0, 1, 2, 3], 25.0)
    assert not from_container
    assert np.allclose(t, [0, 0.04, 0.08, 0.12])


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "video not found: {p}"),
    (lambda p: p.write_bytes(b""), "{n} is an empty file (0 bytes)"),
    (lambda p: p.write_text("this is a text file, not a video\n" * 50),
     "{n} is not a readable video (no decodable video stream) (gaitlab reads mp4, mov, webm, avi and mkv)"),
    (lambda p: p.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes()),
     "{n} is not a readable video (no decodable video stream) (gaitlab reads mp4, mov, webm, avi and mkv)"),
])
def test_unreadable_files_raise_one_line_errors(tmp_path, make, message):
    path = tmp_path / "clip.mp4"
    make(path)
    with pytest.raises(VideoError) as exc:
        probe(path)
    assert exc.value.one_line() == message.format(p=path, n=path.name)


def test_file_hash_is_of_the_content(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"gaitlab")
    from gaitlab.io.video import file_sha256
    assert file_sha256(p) == hashlib.sha256(b"gaitlab").hexdigest()
