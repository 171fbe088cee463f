"""Shared fixtures: paths to the real clips in ../shared/videos and the committed sample clips,
and a cache of pose estimation and synthetic renders so that each clip is rendered and runs through
MediaPipe once per test run, however many pytest-xdist workers share the run."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GAITLAB_SHARED_VIDEOS", ROOT.parent / "shared" / "videos"))
#: The independent renderer's runners with exact truth (../shared/validation).
VALIDATION = SHARED.parent / "validation"
#: Every test poses a clip in as many stretches as ``gaitlab validate`` does, whatever the machine's
#: cores, so the landmarks under test are the same on any machine and the same as validate's.
from gaitlab.validation.run import POSE_CHUNKS  # noqa: E402
SAMPLES = ROOT / "sample_videos"


def shared_video(name: str) -> Path:
    path = SHARED / name
    assert path.is_file(), f"shared test clip missing: {path} (CI provides ../shared beside the repo)"
    return path


def run_folder(tmp_path_factory, name: str) -> Path:
    """A folder shared by every pytest-xdist worker of this test run (the run's own base folder),
    or this session's when the suite runs in one process."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def locked(path: Path):
    """Hold an exclusive lock on ``path`` (created if missing) while the block runs, so that one
    worker computes a cached file while the others wait for it."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pose_cache(tmp_path_factory):
    """``pose_cache(path)`` -> Landmarks, estimated once per clip content per test run (in
    :data:`POSE_CHUNKS` stretches) and shared with the other workers through a Parquet file."""
    from gaitlab.landmarks import Landmarks
    from gaitlab.pose.estimate import PoseConfig, estimate_pose
    from gaitlab.validation.run import _file_sha

    folder = run_folder(tmp_path_factory, "landmarks")
    cache = {}

    def get(path):
        key = str(Path(path).resolve())
        if key not in cache:
            stored = folder / f"{_file_sha(Path(key))[:24]}.parquet"
            with locked(stored.with_suffix(".lock")):
                if not stored.is_file():
                    estimate_pose(key, PoseConfig(chunks=POSE_CHUNKS)).save(stored)
            cache[key] = Landmarks.load(stored)
        return cache[key]

    return get


@pytest.fixture(scope="session")
def ffmpeg():
    """Path of an ffmpeg binary (from imageio-ffmpeg), for building bad-input fixtures."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_cli(*args, cwd=None, env=None, timeout=900):
    """Run the real ``gaitlab`` entry point; returns CompletedProcess with text stdout/stderr."""
    exe = Path(sys.executable).with_name("gaitlab")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "gaitlab"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def sample_manifest() -> dict:
    return json.loads((SAMPLES / "manifest.json").read_text())


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory, pose_cache):
    """``synthetic(name, **params)`` -> (video path, truth dict, raw Landmarks): renders a synthetic
    runner once per test run (supersample 1 to keep the suite quick) and runs the pose stage on it."""
    from gaitlab.synth import SynthParams, load_truth, render_clip, truth_path_for

    folder = run_folder(tmp_path_factory, "synthetic")

    def make(name, **params):
        params.setdefault("supersample", 1)
        tag = hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:10]
        video = folder / f"{name}-{tag}.mp4"
        with locked(folder / f".{video.name}.lock"):
            if not video.is_file():
                render_clip(SynthParams(**params), video)
        return video, load_truth(truth_path_for(video)), pose_cache(video)

    return make


@pytest.fixture(scope="module")
def every_value_validated(tmp_path_factory):
    """An accuracy file in which every measure is validated for every view, side and frame rate
    (95th-percentile error half of what it needs), so report tests see every value printed whatever
    the published figures say; set for gaitlab runs in this process and its subprocesses while the
    module that asks for it runs."""
    from gaitlab import accuracy
    from gaitlab.references import data

    figures = []
    for metric, spec in data()["metrics"].items():
        need = spec["accuracy_needed"]["value"]
        for view in spec["views"]:
            roles = ("near", "far", "both") if view == "side" else ("left", "right", "sides", "both")
            for role in roles:
                for kind in ("value", "right_minus_left"):
                    figures.append({"metric": metric, "kind": kind, "view": view, "role": role, "fps_band": "all",
                                    "n_clips": 10, "n_measured": 10, "n_printed": 10, "n_steps": 100, "bias": 0.0,
                                    "median_abs": need / 4, "p95_abs": need / 2, "max_abs": need / 2})
    path = tmp_path_factory.mktemp("accuracy") / "every_value_validated.json"
    path.write_text(json.dumps({"provenance": {"runs": []}, "figures": figures, "events": []}))
    previous = os.environ.get(accuracy.ENVIRONMENT)
    os.environ[accuracy.ENVIRONMENT] = str(path)
    accuracy.published.cache_clear()
    yield path
    if previous is None:
        os.environ.pop(accuracy.ENVIRONMENT, None)
    else:
        os.environ[accuracy.ENVIRONMENT] = previous
    accuracy.published.cache_clear()
