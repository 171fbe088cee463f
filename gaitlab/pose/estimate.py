"""Pose estimation over a whole video: frames in, one runner's :class:`~gaitlab.landmarks.Landmarks` out.

One streaming pass does the work: a background thread decodes, the main thread runs BlazePose in
tracking mode on every frame, and a second BlazePose (every frame from scratch, several people) looks
at one frame per second on a worker thread to count the people in view. Nothing holds more than a
few frames at a time. While each frame is at hand, cheap pixel measurements are kept as frame
signals: a thumbnail difference that marks cuts between shots, the waistband's tilt
(:mod:`gaitlab.pelvis`), which rear and front views need for pelvic drop, and the axes of the
thighs and shanks (:mod:`gaitlab.limbs`), which the joint keypoints place off the joint centres.
The pixel measurements run on a worker thread, in frame order, overlapped with inference.

If that count shows more than one comparable person, the runner is chosen by the rule in
:mod:`gaitlab.pose.subject`; when the tracked person is not the chosen one, a second pass tracks
everyone and keeps the chosen track. A crowd is refused.
"""

from __future__ import annotations

import contextlib
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .. import __version__
from ..errors import AnalysisError, VideoError
from ..io.video import TRUNCATION_FRACTION, VideoInfo, VideoReader, clean_timestamps, probe
from ..landmarks import Landmarks
from ..limbs import empty_axes, limb_axes
from ..pelvis import WaistbandTracker, waistband_tilt
from ..schema import KEYPOINT_INDEX, KEYPOINTS
from . import subject
from .mediapipe_backend import MEDIAPIPE_VERSION, BlazePose, Poses, native_stderr_silenced
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

    def to_dict(self) -> dict:
        return asdict(self)


#: Frame signals measured from the pixels of each pose (see :class:`_PixelMeasures`).
PIXEL_SIGNALS = ("pelvis_tilt_deg", "pelvis_tilt_quality", *empty_axes())


class _PixelMeasures:
    """The per-pose pixel measurements of one frame: waistband tilt and limb axes.

    With one runner the waistband is tracked from frame to frame, so frames must come in order.
    """

    def __init__(self, track: bool):
        self.waistband = WaistbandTracker() if track else None

    def __call__(self, rgb: np.ndarray, poses: Poses) -> list[dict]:
        out = []
        for k in range(poses.count):
            xy = poses.image[k, :, :2]
            if self.waistband is not None:
                tilt, quality = self.waistband.update(rgb, xy)
            else:
                tilt, quality = waistband_tilt(rgb, xy)
            out.append({"pelvis_tilt_deg": tilt, "pelvis_tilt_quality": quality,
                        **limb_axes(rgb, xy, KEYPOINT_INDEX)})
        if not poses.count and self.waistband is not None:
            self.waistband.prior = None
        return out


def _empty_pixels() -> dict:
    return {"pelvis_tilt_deg": np.nan, "pelvis_tilt_quality": 0.0, **empty_axes()}


class _Collector:
    """Accumulates one pose per frame into compact float32 arrays."""

    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, index: int, t: float, poses: Poses, which: int | None, change: float, pixels: list[dict]):
        if which is None or poses.count == 0:
            self.rows.append((index, t, None, change, _empty_pixels()))
        else:
            self.rows.append((index, t, (poses.image[which], poses.world[which],
                                         poses.visibility[which], poses.presence[which]), change,
                              pixels[which] if which < len(pixels) else _empty_pixels()))

    def arrays(self):
        n, k = len(self.rows), len(KEYPOINTS)
        image = np.full((n, k, 3), np.nan, np.float32)
        world = np.full((n, k, 3), np.nan, np.float32)
        vis = np.zeros((n, k), np.float32)
        pres = np.zeros((n, k), np.float32)
        frame = np.array([r[0] for r in self.rows], dtype=np.int64)
        raw_t = np.array([r[1] for r in self.rows], dtype=np.float64)
        found = np.array([r[2] is not None for r in self.rows], dtype=bool)
        change = np.array([r[3] for r in self.rows], dtype=np.float32)
        if found.any():
            data = [r[2] for r in self.rows if r[2] is not None]
            image[found] = np.stack([d[0] for d in data])
            world[found] = np.stack([d[1] for d in data])
            vis[found] = np.stack([d[2] for d in data])
            pres[found] = np.stack([d[3] for d in data])
        signals = {"scene_change": change}
        signals.update({name: np.array([r[4][name] for r in self.rows], dtype=np.float32) for name in PIXEL_SIGNALS})
        return frame, raw_t, image, world, vis, pres, signals


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


def _pass(info: VideoInfo, model: ModelInfo, config: PoseConfig, *, num_poses: int,
          sample_every: int, progress: Progress | None, stage: str):
    """One decoding + tracking pass. Returns per-frame poses and the sampled people boxes."""
    total = info.frame_count or 0
    per_frame: list[list] = []
    measure = _PixelMeasures(track=num_poses == 1)
    pending: list[tuple[list, object]] = []
    sampled: list = []
    kwargs = dict(min_detection=config.min_detection_confidence,
                  min_presence=config.min_presence_confidence,
                  min_tracking=config.min_tracking_confidence)
    with native_stderr_silenced(), _quick_thread_switches(), \
            VideoReader(info.path, fps_nominal=info.fps_nominal or None) as reader, \
            BlazePose(model, num_poses=num_poses, video_mode=True, **kwargs) as tracker, \
            BlazePose(model, num_poses=config.max_people, video_mode=False, **kwargs) as counter, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-pixels") as pixels, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitlab-people") as pool:
        for i, frame in enumerate(reader):
            poses = tracker.detect(frame.rgb, frame.time_s)
            row = [frame.index, frame.time_s, poses, frame.scene_change, None]
            per_frame.append(row)
            pending.append((row, pixels.submit(measure, frame.rgb, poses)))
            while len(pending) > MAX_PENDING_PIXELS:
                done_row, future = pending.pop(0)
                done_row[4] = future.result()
            if sample_every and i % sample_every == 0:
                sampled.append((i, pool.submit(counter.detect, frame.rgb)))
            if progress is not None:
                progress(i + 1, max(total, i + 1), stage)
        for done_row, future in pending:
            done_row[4] = future.result()
        sampled = [(i, f.result()) for i, f in sampled]
    return per_frame, sampled


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

    per_frame, sampled = _pass(info, model, config, num_poses=1, sample_every=sample_every,
                               progress=progress, stage="pose")
    _check_stream(info, len(per_frame))
    passes = 1

    boxes_sampled = [subject.person_boxes(p.image, p.visibility) for _, p in sampled]
    crowd = subject.check_crowd(boxes_sampled)
    if crowd.is_crowd:
        raise AnalysisError(
            f"a crowd is in view: {crowd.max_comparable} people of similar size in "
            f"{crowd.frames_crowded} of {crowd.frames_sampled} sampled frames; gaitlab analyses one runner",
            "film the runner alone, or crop the video to the runner",
        )

    chosen = [0 if p.count else None for _, _, p, _, _ in per_frame]
    selection = {"rule": "largest, most central, continuous track (gaitlab.pose.subject)",
                 "people_check": crowd.to_dict(), "tracked_all_people": False}
    if crowd.several_people and not _tracked_is_runner(per_frame, sampled, info):
        # The tracker followed someone other than the runner: track everyone, keep the runner.
        per_frame, _ = _pass(info, model, config, num_poses=min(max(crowd.max_people, 2), config.max_people),
                             sample_every=0, progress=progress, stage="pose (all people)")
        passes = 2
        boxes = [subject.person_boxes(p.image, p.visibility) for _, _, p, _, _ in per_frame]
        tracks = subject.associate(boxes)
        best, scores = subject.choose_track(tracks, boxes, info.width, info.height)
        if subject.is_passing_crowd(tracks, best):
            raise AnalysisError(
                f"a crowd is in view: {tracks.shape[1]} people pass through and none stays in view; "
                "gaitlab analyses one runner",
                "film the runner alone, or crop the video to the runner",
            )
        chosen = [int(i) if i >= 0 else None for i in tracks[:, best]]
        selection.update(tracked_all_people=True, n_tracks=int(tracks.shape[1]),
                         track_scores=[round(float(s), 3) for s in scores], chosen_track=best)

    collector = _Collector()
    for (index, t, poses, change, pelvis), which in zip(per_frame, chosen):
        collector.add(index, t, poses, which, change, pelvis)
    frame, raw_t, image, world, vis, pres, signals = collector.arrays()
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
        "pose_seconds": round(time.perf_counter() - t0, 3),
    }
    return Landmarks(frame=frame, time=times, image=image, world=world, visibility=vis,
                     presence=pres, attrs=attrs, frame_signals=signals)


def _tracked_is_runner(per_frame, sampled, info: VideoInfo) -> bool:
    """True when, in the sampled frames with several people, the tracked person is the rule's choice."""
    checks = []
    for i, people in sampled:
        if people.count < 2:
            continue
        tracked = per_frame[i][2]
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
