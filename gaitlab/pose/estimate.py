"""Pose estimation over a whole video: frames in, one runner's :class:`~gaitlab.landmarks.Landmarks` out.

One streaming pass does the work: a background thread decodes, the main thread runs BlazePose in
tracking mode on every frame, and a second BlazePose (every frame from scratch, several people) looks
at one frame per second on a worker thread to count the people in view. Nothing holds more than a
few frames at a time. While each frame is at hand, cheap pixel measurements are kept as frame
signals: a thumbnail difference that marks cuts between shots, the waistband's tilt
(:mod:`gaitlab.image.pelvis`), which rear and front views need for pelvic drop, and the axes of the
thighs and shanks (:mod:`gaitlab.image.limbs`), which the joint keypoints place off the joint centres.
The pixel measurements run on a worker thread, in frame order, overlapped with inference.

If that count shows more than one comparable person, the runner is chosen by the rule in
:mod:`gaitlab.pose.subject`; when the tracked person is not the chosen one, a second pass tracks
everyone and keeps the chosen track. A crowd is refused.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .. import __version__
from ..errors import AnalysisError, VideoError
from ..io.stderr import native_stderr_silenced
from ..io.video import TRUNCATION_FRACTION, VideoInfo, VideoReader, clean_timestamps, opencv_single_threaded, probe
from ..landmarks import Landmarks
from ..image.limbs import empty_axes, limb_axes
from ..image.pelvis import EMPTY_WAISTBAND, WAISTBAND_SIGNALS, WaistbandTracker, waistband_tilt
from ..schema import KEYPOINT_INDEX, KEYPOINTS
from . import subject
from .mediapipe_backend import MEDIAPIPE_VERSION, BlazePose, Poses
from .model import ModelInfo, resolve_model

#: progress(frames_done, frames_total, stage_label)
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class PoseConfig:
    """Settings of the pose stage (all have defaults; see MediaPipe's PoseLandmarker options)."""

    model: str | None = None
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    #: Seconds between frames sampled to count the people in view.
    people_check_interval_s: float = 1.0
    #: Most people looked for in a sampled frame.
    max_people: int = 6
    #: Stretches of the clip tracked at once in the first pass (0: one per core, see
    #: :func:`pose_chunks`; 1: the whole clip in one stretch).
    chunks: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


#: Frame signals measured from the pixels of each pose (see :class:`_PixelMeasures`).
PIXEL_SIGNALS = (*WAISTBAND_SIGNALS, *empty_axes())


class _PixelMeasures:
    """The per-pose pixel measurements of one frame: waistband tilt and limb axes.

    With one runner the waistband is tracked from frame to frame, so frames must come in order.
    """

    def __init__(self, track: bool):
        self.waistband = WaistbandTracker() if track else None

    def __call__(self, rgb: np.ndarray, poses: Poses) -> np.ndarray:
        """(P, len(PIXEL_SIGNALS)) float32, one row per pose found."""
        out = np.empty((poses.count, len(PIXEL_SIGNALS)), np.float32)
        for k in range(poses.count):
            xy = poses.image[k, :, :2]
            waist = self.waistband.update(rgb, xy) if self.waistband is not None else waistband_tilt(rgb, xy)
            axes = limb_axes(rgb, xy, KEYPOINT_INDEX)
            out[k] = [*waist] + [axes[name] for name in PIXEL_SIGNALS[len(WAISTBAND_SIGNALS):]]
        if not poses.count and self.waistband is not None:
            self.waistband.prior = None
        return out


#: Pixel-signal values of a frame without the runner.
EMPTY_PIXELS = np.array([*EMPTY_WAISTBAND] + [empty_axes()[name] for name in PIXEL_SIGNALS[len(WAISTBAND_SIGNALS):]],
                        np.float32)


#: Frames a store is sized for up front, whatever the container declares (a damaged or crafted
#: header may claim billions); it grows by doubling past that, so memory follows the frames decoded.
PREALLOCATE_MAX_FRAMES = 36_000


class _FrameStore:
    """Every frame's poses (up to ``slots`` people) in preallocated float32 arrays that double when
    full, so memory per frame is a few kilobytes of numbers, not Python objects."""

    def __init__(self, slots: int, capacity: int):
        self.slots, self.n = slots, 0
        k = len(KEYPOINTS)
        self._shapes = {"index": ((), np.int64, 0), "time": ((), np.float64, np.nan),
                        "change": ((), np.float32, np.nan), "count": ((), np.int16, 0),
                        "image": ((slots, k, 3), np.float32, np.nan), "world": ((slots, k, 3), np.float32, np.nan),
                        "visibility": ((slots, k), np.float32, 0.0), "presence": ((slots, k), np.float32, 0.0),
                        "pixels": ((slots, len(PIXEL_SIGNALS)), np.float32, np.nan)}
        self.a = {name: np.full((max(capacity, 16),) + shape, fill, dtype)
                  for name, (shape, dtype, fill) in self._shapes.items()}

    def add(self, index: int, t: float, change: float, poses: Poses) -> int:
        if self.n == len(self.a["index"]):
            for name, (shape, dtype, fill) in self._shapes.items():
                grown = np.full((2 * self.n,) + shape, fill, dtype)
                grown[:self.n] = self.a[name]
                self.a[name] = grown
        i, c = self.n, min(poses.count, self.slots)
        a = self.a
        a["index"][i], a["time"][i], a["change"][i], a["count"][i] = index, t, change, c
        a["image"][i, :c], a["world"][i, :c] = poses.image[:c], poses.world[:c]
        a["visibility"][i, :c], a["presence"][i, :c] = poses.visibility[:c], poses.presence[:c]
        self.n += 1
        return i

    @classmethod
    def joined(cls, pieces) -> "_FrameStore":
        """One store from ``(store, lo, hi, index_offset)`` pieces: rows ``lo:hi`` of each, in
        order, with ``index_offset`` added to their frame numbers."""
        first = pieces[0][0]
        out = cls(first.slots, 1)
        out.a = {name: np.concatenate([p.a[name][lo:hi] for p, lo, hi, _ in pieces])
                 for name in first._shapes}
        out.a["index"] = np.concatenate([p.a["index"][lo:hi] + off for p, lo, hi, off in pieces])
        out.n = len(out.a["index"])
        return out

    def set_pixels(self, i: int, values: np.ndarray) -> None:
        c = min(len(values), self.slots)
        self.a["pixels"][i, :c] = values[:c]

    def poses(self, i: int) -> Poses:
        c = int(self.a["count"][i])
        return Poses(self.a["image"][i, :c], self.a["world"][i, :c], self.a["visibility"][i, :c],
                     self.a["presence"][i, :c])

    def __len__(self) -> int:
        return self.n

    def runner(self, chosen: np.ndarray):
        """Arrays of the chosen person per frame (``chosen``: slot per frame, -1 for none)."""
        n, a = self.n, self.a
        rows = np.arange(n)
        slot = np.clip(chosen, 0, self.slots - 1)
        seen = (chosen >= 0) & (chosen < a["count"][:n])

        def pick(name, fill):
            out = a[name][rows, slot]
            out[~seen] = fill
            return out

        signals = {"scene_change": a["change"][:n].copy()}
        pixels = pick("pixels", EMPTY_PIXELS)
        signals.update({name: pixels[:, j] for j, name in enumerate(PIXEL_SIGNALS)})
        return (a["index"][:n].copy(), a["time"][:n].copy(), pick("image", np.nan), pick("world", np.nan),
                pick("visibility", 0.0), pick("presence", 0.0), signals)


#: Most frames waiting for their pixel measurements; the pose loop waits beyond this.
MAX_PENDING_PIXELS = 8
#: Python's thread switch interval during the pose pass (s). MediaPipe releases the GIL while it
#: infers; with the default 5 ms, each time it wants the GIL back it can wait that long behind the
#: decoding and measuring threads, which cut inference from 59 to 26 frames/s in a test with a
#: busy Python thread; at 0.2 ms it ran at 53.
SWITCH_INTERVAL_S = 0.0002


@contextlib.contextmanager
def _quick_thread_switches():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _detector_kwargs(config: PoseConfig) -> dict:
    return dict(min_detection=config.min_detection_confidence, min_presence=config.min_presence_confidence,
                min_tracking=config.min_tracking_confidence)


def _track_frame(tracker, frame, store: _FrameStore, measure: _PixelMeasures, pixels, pending: list) -> int:
    """BlazePose on one frame into ``store`` (its row is returned), the frame's pixel measurements
    queued on the ``pixels`` thread; waits for the oldest beyond :data:`MAX_PENDING_PIXELS`."""
    poses = tracker.detect(frame.rgb, frame.time_s)
    row = store.add(frame.index, frame.time_s, frame.scene_change, poses)
    pending.append((row, pixels.submit(measure, frame.rgb, poses)))
    while len(pending) > MAX_PENDING_PIXELS:
        done, future = pending.pop(0)
        store.set_pixels(done, future.result())
    return row


def _collect_pixels(store: _FrameStore, pending: list) -> None:
    for done, future in pending:
        store.set_pixels(done, future.result())


def _pass(info: VideoInfo, model: ModelInfo, config: PoseConfig, *, num_poses: int,
          sample_every: int, progress: Progress | None, stage: str):
    """One decoding + tracking pass. Returns per-frame poses and the sampled people boxes."""
    total = info.frame_count or 0
    store = _FrameStore(num_poses, min(int(total * 1.05), PREALLOCATE_MAX_FRAMES) + 16)
    measure = _PixelMeasures(track=num_poses == 1)
    pending: list[tuple[int, object]] = []
    sampled: list = []
    kwargs = _detector_kwargs(config)
    with native_stderr_silenced(), _quick_thread_switches(), opencv_single_threaded(), \
            VideoReader(info.path, fps_nominal=info.fps_nominal or None) as reader, \
            BlazePose(model, num_poses=num_poses, video_mode=True, **kwargs) as tracker, \
            BlazePose(model, num_poses=config.max_people, video_mode=False, **kwargs) as counter, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-pixels") as pixels, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-people") as pool:
        for i, frame in enumerate(reader):
            _track_frame(tracker, frame, store, measure, pixels, pending)
            if sample_every and i % sample_every == 0:
                sampled.append((i, pool.submit(counter.detect, frame.rgb)))
            if progress is not None:
                progress(i + 1, max(total, i + 1), stage)
        _collect_pixels(store, pending)
        sampled = [(i, f.result()) for i, f in sampled]
    return store, sampled


#: Most stretches of one clip tracked at once (each has its own BlazePose, decoder and pixel thread).
MAX_CHUNKS = 8
#: Fewest frames per stretch: shorter clips are split into fewer.
MIN_CHUNK_FRAMES = 150
#: Each later stretch's tracker starts this long before the frames it keeps, so its track has
#: settled (BlazePose's landmark filter, the waistband tracker) where the earlier one hands over.
CHUNK_WARMUP_S = 1.0
#: Two stretches' frames are the same frame when their container times agree to this (seconds).
JOIN_TOLERANCE_S = 1e-4


def pose_chunks(frame_count: int) -> int:
    """How many stretches of the clip to track at once: one per core, each at least
    :data:`MIN_CHUNK_FRAMES` long, at most :data:`MAX_CHUNKS`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_CHUNKS, (frame_count or 0) // MIN_CHUNK_FRAMES))


class _StitchError(Exception):
    """The stretches of a chunked pass could not be joined frame-exactly; the pass is run whole."""


class _Chunk:
    """One stretch of the clip: from about frame ``start`` until the frame the next stretch keeps first."""

    def __init__(self, start: int, warmup: int, capacity: int):
        self.start, self.warmup = start, warmup
        self.store = _FrameStore(1, min(capacity, PREALLOCATE_MAX_FRAMES))
        self.sampled: list = []
        self.done = 0
        self.error: BaseException | None = None
        #: Time of the first frame this stretch keeps (its row ``warmup``), once known.
        self.first_kept_s: float | None = None
        self.ready = threading.Event()
        #: Frame number (this stretch's own count) of the frame where it handed over to the next.
        self.stop_index: int | None = None

    def run(self, info, model, kwargs, nxt: "_Chunk | None", sample_every, counter, pool, abort) -> None:
        try:
            self._track(info, model, kwargs, nxt, sample_every, counter, pool, abort)
        except BaseException as exc:  # the caller looks at every stretch's error
            self.error = exc
        finally:
            self.ready.set()

    def _track(self, info, model, kwargs, nxt, sample_every, counter, pool, abort) -> None:
        measure = _PixelMeasures(track=True)
        pending: list[tuple[int, object]] = []
        store = self.store
        with VideoReader(info.path, fps_nominal=info.fps_nominal or None, start=self.start) as reader, \
                BlazePose(model, num_poses=1, video_mode=True, **kwargs) as tracker, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-pixels") as pixels:
            for i, frame in enumerate(reader):
                if abort.is_set():
                    raise _StitchError("stopped")
                if nxt is not None and frame.index >= nxt.start:
                    while not nxt.ready.wait(0.1):
                        if abort.is_set():
                            raise _StitchError("stopped")
                    if nxt.first_kept_s is None:
                        raise _StitchError("the next stretch found no frames")
                    if frame.time_s >= nxt.first_kept_s - JOIN_TOLERANCE_S:
                        if abs(frame.time_s - nxt.first_kept_s) > JOIN_TOLERANCE_S:
                            raise _StitchError("the stretches share no frame")
                        self.stop_index = frame.index
                        break
                if i == self.warmup:
                    self.first_kept_s = frame.time_s
                    self.ready.set()
                row = _track_frame(tracker, frame, store, measure, pixels, pending)
                if sample_every and i % sample_every == 0 and i >= self.warmup:
                    self.sampled.append((row, pool.submit(counter.detect, frame.rgb)))
                self.done = i + 1
            _collect_pixels(store, pending)
        if nxt is not None and self.stop_index is None:
            raise _StitchError("the stream ended before the next stretch began")


def _chunked_pass(info: VideoInfo, model: ModelInfo, config: PoseConfig, *, chunks: int,
                  sample_every: int, progress: Progress | None, stage: str):
    """The first pass (one tracked person) over ``chunks`` stretches of the clip at once, each on
    its own thread with its own decoder, BlazePose and pixel thread, joined where a stretch's
    frames meet the next one's (matched by container time, so frame numbers stay exact).
    Same return as :func:`_pass`; raises :class:`_StitchError` when the stretches do not join."""
    total = info.frame_count
    fps = info.fps_nominal or 30.0
    warmup = max(int(round(CHUNK_WARMUP_S * fps)), 5)
    starts = [0] + [round(k * total / chunks) - warmup for k in range(1, chunks)]
    parts = [_Chunk(s, warmup if k else 0, int(total / chunks * 1.1) + warmup + 16) for k, s in enumerate(starts)]
    abort = threading.Event()
    kwargs = _detector_kwargs(config)
    with native_stderr_silenced(), _quick_thread_switches(), opencv_single_threaded(), \
            BlazePose(model, num_poses=config.max_people, video_mode=False, **kwargs) as counter, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-people") as pool:
        threads = [threading.Thread(target=part.run, name=f"gaitlab-pose-{k}", daemon=True,
                                    args=(info, model, kwargs, parts[k + 1] if k + 1 < chunks else None,
                                          sample_every, counter, pool, abort))
                   for k, part in enumerate(parts)]
        try:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.1)
                if any(p.error is not None for p in parts):
                    abort.set()
                if progress is not None:
                    done = sum(p.done - p.warmup for p in parts)
                    progress(min(max(done, 0), total), total, stage)
        finally:
            abort.set()
            for t in threads:
                t.join()
        errors = [p.error for p in parts if p.error is not None]
        if errors:
            first = next((e for e in errors if not isinstance(e, _StitchError)), errors[0])
            if isinstance(first, (KeyboardInterrupt, SystemExit)):
                raise first
            raise _StitchError(str(first)) from first
        sampled = [[(row, f.result()) for row, f in p.sampled] for p in parts]
    # Frame numbers: each stretch continues where the one before handed over; the people samples
    # of its kept rows move to their rows in the joined store.
    offset, base, pieces, samples = 0, 0, [], []
    for k, p in enumerate(parts):
        if k:
            offset += parts[k - 1].stop_index - (p.start + p.warmup)
        pieces.append((p.store, p.warmup, len(p.store), offset))
        samples += [(row - p.warmup + base, people) for row, people in sampled[k] if p.warmup <= row < len(p.store)]
        base += len(p.store) - p.warmup
    return _FrameStore.joined(pieces), samples


def _check_stream(info: VideoInfo, n_decoded: int) -> None:
    if n_decoded == 0:
        raise VideoError(f"{info.name} contains no decodable video frames")
    if info.frame_count > 0 and n_decoded < TRUNCATION_FRACTION * info.frame_count:
        raise VideoError(
            f"{info.name} is truncated or corrupt: decoded {n_decoded} of {info.frame_count} frames",
            "re-export or re-copy the clip from the phone",
        )


def estimate_pose(video: str, config: PoseConfig = PoseConfig(), *, info: VideoInfo | None = None,
                  progress: Progress | None = None) -> Landmarks:
    """Run BlazePose on every frame of ``video`` and return the runner's landmarks.

    Raises :class:`~gaitlab.errors.VideoError` for unreadable, empty or truncated videos and
    :class:`~gaitlab.errors.AnalysisError` when no person is found or a crowd is in view.
    """
    info = info or probe(video)
    model = resolve_model(config.model)
    fps = info.fps_nominal or 30.0
    sample_every = max(int(round(config.people_check_interval_s * fps)), 1)
    t0 = time.perf_counter()

    chunks = config.chunks or pose_chunks(info.frame_count)
    store = None
    if chunks > 1:
        try:
            store, sampled = _chunked_pass(info, model, config, chunks=chunks, sample_every=sample_every,
                                           progress=progress, stage="pose")
        except _StitchError:
            store, chunks = None, 1  # the stream does not seek frame-exactly: track it whole
    if store is None:
        store, sampled = _pass(info, model, config, num_poses=1, sample_every=sample_every,
                               progress=progress, stage="pose")
    _check_stream(info, len(store))
    passes = 1

    boxes_sampled = [subject.person_boxes(p.image, p.visibility) for _, p in sampled]
    crowd = subject.check_crowd(boxes_sampled)
    if crowd.is_crowd:
        raise AnalysisError(
            f"a crowd is in view: {crowd.max_comparable} people of similar size in "
            f"{crowd.frames_crowded} of {crowd.frames_sampled} sampled frames; gaitlab analyses one runner",
            "film the runner alone, or crop the video to the runner",
        )

    chosen = np.where(store.a["count"][:len(store)] > 0, 0, -1)
    selection = {"rule": "largest, most central, continuous track (gaitlab.pose.subject)",
                 "people_check": crowd.to_dict(), "tracked_all_people": False}
    if crowd.several_people and not _tracked_is_runner(store, sampled, info):
        # The tracker followed someone other than the runner: track everyone, keep the runner.
        store, _ = _pass(info, model, config, num_poses=min(max(crowd.max_people, 2), config.max_people),
                         sample_every=0, progress=progress, stage="pose (all people)")
        passes = 2
        boxes = [subject.person_boxes(p.image, p.visibility) for p in map(store.poses, range(len(store)))]
        tracks = subject.associate(boxes)
        best, scores = subject.choose_track(tracks, boxes, info.width, info.height)
        if subject.is_passing_crowd(tracks, best):
            raise AnalysisError(
                f"a crowd is in view: {tracks.shape[1]} people pass through and none stays in view; "
                "gaitlab analyses one runner",
                "film the runner alone, or crop the video to the runner",
            )
        chosen = np.asarray(tracks[:, best], int)
        selection.update(tracked_all_people=True, n_tracks=int(tracks.shape[1]),
                         track_scores=[round(float(s), 3) for s in scores], chosen_track=best)

    frame, raw_t, image, world, vis, pres, signals = store.runner(chosen)
    times, from_container = clean_timestamps(raw_t, frame, fps)

    detected = np.isfinite(image[:, :, :2]).all(axis=(1, 2))
    if not detected.any():
        raise AnalysisError(f"no person found in {info.name}",
                            "film the whole body, side-on or from behind, in good light")
    box = subject.person_boxes(image[detected], vis[detected])
    centre_x = float(np.median(0.5 * (box[:, 0] + box[:, 2])) / max(info.width, 1))
    selection.update(runner_centre_x_fraction=round(centre_x, 3),
                     runner_height_fraction=round(float(np.median(box[:, 3] - box[:, 1]) / max(info.height, 1)), 3))

    attrs = {
        "gaitlab_version": __version__,
        "video": info.to_dict(),
        "model": {**model.to_dict(), "mediapipe_version": MEDIAPIPE_VERSION,
                  "name_full": "BlazePose GHUM 3D (MediaPipe PoseLandmarker)"},
        "pose_config": config.to_dict(),
        "frames_decoded": int(frame.size),
        "timestamps": "container" if from_container else "nominal frame rate",
        # Container time of the first frame: frame times are relative to it.
        "first_frame_time_s": float(raw_t[0]) if from_container and raw_t.size else 0.0,
        "detected_fraction": round(float(detected.mean()), 4),
        "subject": selection,
        "pose_passes": passes,
        "pose_chunks": chunks,
        "pose_seconds": round(time.perf_counter() - t0, 3),
    }
    return Landmarks(frame=frame, time=times, image=image, world=world, visibility=vis,
                     presence=pres, attrs=attrs, frame_signals=signals)


def _tracked_is_runner(store: _FrameStore, sampled, info: VideoInfo) -> bool:
    """True when, in the sampled frames with several people, the tracked person is the rule's choice."""
    checks = []
    for i, people in sampled:
        if people.count < 2:
            continue
        tracked = store.poses(i)
        if tracked.count == 0:
            checks.append(False)
            continue
        boxes = subject.person_boxes(people.image, people.visibility)
        h = boxes[:, 3] - boxes[:, 1]
        score = np.where(h >= subject.COMPARABLE_FRACTION * h.max(),
                         subject.box_score(boxes, info.width, info.height), 0.0)
        preferred = boxes[int(np.argmax(score))][None]
        mine = subject.person_boxes(tracked.image, tracked.visibility)
        checks.append(bool(subject.box_iou(mine, preferred)[0, 0] >= 0.5))
    return not checks or float(np.mean(checks)) >= 0.9
