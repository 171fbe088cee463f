"""Synthetic treadmill runners with exact ground truth.

``render_clip(params, path)`` writes an H.264 mp4 and ``<name>.truth.json`` beside it. The figure is
lit 3D (capsules and ellipsoids with distinct tones for skin, shirt, shorts and shoes) on a gym wall
and a moving treadmill belt, drawn by an analytic ray caster (:mod:`gaitlab.synth.raycast`), so the
same parameters give the same pixels on every machine. The truth format is documented in
:mod:`gaitlab.synth.truth`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from ..io.files import atomic_path
from .kinematics import RunnerModel
from .params import SynthParams
from .randomize import random_params
from .scene import Scene
from .truth import compute_truth, load_truth, write_truth

__all__ = ["SynthParams", "RunnerModel", "render_clip", "compute_truth", "load_truth", "truth_path_for",
           "random_params"]


def truth_path_for(video: str | Path) -> Path:
    video = Path(video)
    return video.with_name(video.stem + ".truth.json")


def render_frames(params: SynthParams, model: RunnerModel | None = None):
    """Yield the clip's RGB frames (uint8, H x W x 3) in order."""
    model = model or RunnerModel(params)
    scene = Scene(params, model)
    times = np.arange(params.n_frames) / params.fps
    chunk = 64
    for start in range(0, times.size, chunk):
        ts = times[start:start + chunk]
        joints = model.joints(ts)
        for i, t in enumerate(ts):
            yield scene.render(float(t), joints, i)


def render_clip(params: SynthParams, path: str | Path, *,
                progress: Callable[[int, int], None] | None = None) -> tuple[Path, Path]:
    """Render ``params`` to an H.264 mp4 at ``path`` (quality ``params.crf``) and its truth JSON beside it.

    Both files are written under temporary names of their own and renamed when complete.
    """
    import av

    path = Path(path)
    model = RunnerModel(params)
    truth = compute_truth(params, model)
    rate = Fraction(params.fps).limit_denominator(1001)
    # A temporary name of its own: two renders of one clip at once do not collide.
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = params.width, params.height
        stream.pix_fmt = "yuv420p"
        # One encoder thread and fixed settings: the same frames give the same bytes.
        stream.options = {"crf": str(params.crf), "preset": "slow", "threads": "1", "tune": "film"}
        stream.codec_context.thread_count = 1
        for i, rgb in enumerate(render_frames(params, model)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 1) / rate
            for packet in stream.encode(frame):
                container.mux(packet)
            if progress is not None:
                progress(i + 1, params.n_frames)
        for packet in stream.encode():
            container.mux(packet)
    truth_file = write_truth(truth, truth_path_for(path))
    return path, truth_file


def random_clip_name(seed: int, fps: float | None = None) -> str:
    from .randomize import describe

    return f"r{seed:05d}_{describe(random_params(seed, fps))}"


def _render_seed(folder: str, seed: int, fps: float | None = None) -> str:
    video = Path(folder) / f"{random_clip_name(seed, fps)}.mp4"
    if not (video.is_file() and truth_path_for(video).is_file()):
        render_clip(random_params(seed, fps), video)
    return str(video)


def render_random_set(folder: str | Path, seeds, *, workers: int | None = None, fps: float | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Render the randomised runners of ``seeds`` (:func:`~gaitlab.synth.randomize.random_params`,
    at ``fps`` where given) into ``folder``, one process per worker (default: one per core); clips
    already there are kept, so an interrupted set can be completed. Returns the videos in seed order."""
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in seeds]
    workers = max(1, min(workers or os.cpu_count() or 1, len(seeds)))
    out: dict[int, Path] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_render_seed, str(folder), s, fps): s for s in seeds}
        for k, f in enumerate(as_completed(futures), 1):
            out[futures[f]] = Path(f.result())
            if progress is not None:
                progress(k, len(seeds))
    return [out[s] for s in seeds]
