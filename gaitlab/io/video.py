"""Video input: probing, and streaming frames with true per-frame timestamps.

OpenCV's FFmpeg back-end decodes every common container (mp4, mov, webm, avi, mkv). Two details
matter for gait timing and are handled here:

* **Timestamps** come from each frame's presentation time in the container, not from
  ``index / fps``, so variable-frame-rate phone clips are timed right. When a container carries no
  usable timestamps (they do not increase), the nominal rate is used and the fact recorded.
* **Rotation** metadata (portrait phone clips) is applied by the decoder, so frames arrive upright;
  the rotation found is recorded in :class:`VideoInfo`.

Frames are decoded on a background thread into a small bounded queue, so decoding overlaps pose
inference and memory does not grow with the length of the video.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

# Keep FFmpeg's per-packet decoder chatter off the user's terminal; gaitlab reports problems itself.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

import cv2  # noqa: E402

# The variables above only work if cv2 was not imported before this module; set the level directly too.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

from ..errors import VideoError  # noqa: E402
from .files import file_sha256, regular_file  # noqa: E402,F401  (file_sha256: imported from here too)

#: Containers larger than this many pixels per frame are refused (8K is 33 Mpx).
MAX_PIXELS = 8192 * 4320
#: A stream that stops before this fraction of its declared frames is treated as truncated.
TRUNCATION_FRACTION = 0.9


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, plus its content hash.

    ``width`` and ``height`` are those of the frames as decoded (after rotation).
    ``frame_count`` is the container's declared count; the pose stage records how many decoded.
    """

    path: str
    name: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    rotation_deg: int
    fps_nominal: float
    frame_count: int
    duration_s: float
    codec: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in decoding order, its raw container time (s), RGB pixels, and
    ``scene_change``: the mean absolute difference (0..1) of a 32x32 grey thumbnail from the
    previous frame's, which spikes at a cut between shots."""

    index: int
    time_s: float
    rgb: np.ndarray
    scene_change: float = float("nan")


def _check_file(path: Path) -> None:
    """A regular file that can be opened and is not empty; a pipe, a device or a folder is
    refused before anything opens it (a pipe would block, ``/dev/zero`` never ends)."""
    if regular_file(path, VideoError, "video").st_size == 0:
        raise VideoError(f"{path.name} is an empty file (0 bytes)")


def _diagnose_unreadable(path: Path) -> VideoError:
    """Say why OpenCV could not open a file: audio only, an unfinished mp4, or not a video."""
    try:
        import av

        with av.open(str(path)) as container:
            if not container.streams.video:
                if container.streams.audio:
                    return VideoError(f"{path.name} has no video stream (audio only)")
                return VideoError(f"{path.name} is an empty video (no streams)")
            return VideoError(f"{path.name} contains no decodable video frames")
    except Exception as exc:  # PyAV raises a family of FFmpeg errors; the text is what matters
        text = str(exc).lower()
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head[4:8] == b"ftyp" and ("moov" in text or "invalid data" in text):
        return VideoError(f"{path.name} is an incomplete mp4 (its index is missing: the copy or the "
                          "recording stopped early)", "copy the clip from the phone again")
    return VideoError(f"{path.name} is not a readable video (no decodable video stream)",
                      "gaitlab reads mp4, mov, webm, avi and mkv")


#: Decoder threads of the streaming reader. One thread decodes a 1080p frame in about 5 ms, well
#: ahead of the pose model's 17-18 ms; more threads take turns on the cores that inference needs
#: (a multi-threaded decoder beside it cut BlazePose from 56 to 40 frames/s on two cores).
DECODER_THREADS = 1


def _open(path: Path, threads: int = 0) -> cv2.VideoCapture:
    """``threads``: decoder threads (0: FFmpeg's choice, one per core)."""
    params = [cv2.CAP_PROP_N_THREADS, threads] if threads else []
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        cap.release()
        raise _diagnose_unreadable(path)
    return cap


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text.strip("\0 ").lower() if text.isprintable() and text.strip("\0 ") else "unknown"


def probe(path: str | os.PathLike, *, with_hash: bool = True) -> VideoInfo:
    """Read a video's properties and check that its first frame decodes.

    Raises :class:`~gaitlab.errors.VideoError` with a one-line reason for a missing file, an empty
    file, a file that is not a video, a video without decodable frames, or an absurd frame size.
    """
    p = Path(path)
    _check_file(p)
    cap = _open(p)
    try:
        ok, frame = cap.read()
        if not ok or frame is None or frame.size == 0:
            raise VideoError(f"{p.name} contains no decodable video frames")
        if not cap.grab():
            raise VideoError(f"{p.name} holds a single image, not a video", "gaitlab needs a video of the runner")
        height, width = frame.shape[:2]
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rotation = int(round(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)) % 360
        codec = _fourcc(cap)
    finally:
        cap.release()
    if width * height > MAX_PIXELS:
        raise VideoError(f"{p.name} is {width}x{height} pixels, larger than gaitlab reads (8K)",
                         "export the clip at 4K or less")
    if not np.isfinite(fps) or fps <= 0 or fps > 10000:
        fps = 0.0
    duration = count / fps if fps > 0 and count > 0 else 0.0
    return VideoInfo(
        path=str(p.resolve()),
        name=p.name,
        size_bytes=p.stat().st_size,
        sha256=file_sha256(p) if with_hash else "",
        width=int(width),
        height=int(height),
        rotation_deg=rotation,
        fps_nominal=round(fps, 6),
        frame_count=max(count, 0),
        duration_s=round(duration, 6),
        codec=codec,
    )


_END = object()


@contextlib.contextmanager
def opencv_single_threaded():
    """OpenCV's own worker threads off within the block. During the pose pass, colour conversion
    and the pixel measurements then stay on their own threads instead of spreading over every core
    and pre-empting inference (on two cores 44 -> 48 frames/s at 1080p)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


#: Side of the grey thumbnail whose frame-to-frame change marks cuts between shots.
THUMB_SIZE = 32


def _thumbnail(bgr: np.ndarray) -> np.ndarray:
    """A THUMB_SIZE-square grey thumbnail (0..1) from every n-th pixel, n chosen so about three
    samples per thumbnail pixel remain on the short side: averaging every pixel of a 1080p frame
    cost as much as decoding it."""
    step = max(1, min(bgr.shape[:2]) // (3 * THUMB_SIZE))
    grey = cv2.cvtColor(np.ascontiguousarray(bgr[::step, ::step]), cv2.COLOR_BGR2GRAY)
    return cv2.resize(grey, (THUMB_SIZE, THUMB_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


class VideoReader:
    """Iterate over a video's frames (RGB, upright) with their timestamps.

    Decoding runs on a background thread that stays at most ``prefetch`` frames ahead, so a
    ten-minute clip needs no more memory than a ten-second one. Use as a context manager or
    iterate once::

        with VideoReader("run.mp4") as reader:
            for frame in reader:
                ...

    ``Frame.time_s`` is the container's raw presentation time; pass the collected times through
    :func:`clean_timestamps` once the pass is done. After iteration ``frames_decoded`` holds the count.
    ``start`` seeks to about that frame first; frames are then numbered from ``start`` on, which is
    exact only for constant-frame-rate streams (match frames by ``time_s`` across readers).
    """

    def __init__(self, path: str | os.PathLike, *, prefetch: int = 8, fps_nominal: float | None = None,
                 stride: int = 1, start: int = 0):
        self.path = Path(path)
        _check_file(self.path)
        self._cap = _open(self.path, threads=DECODER_THREADS)
        self.fps_nominal = fps_nominal or float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        self._stride = max(int(stride), 1)
        self._start = max(int(start), 0)
        self._queue: queue.Queue = queue.Queue(maxsize=max(prefetch, 1))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.frames_decoded = 0

    # -- decoding thread -------------------------------------------------------------------
    def _decode(self) -> None:
        cap = self._cap
        index = self._start
        previous = None
        try:
            if index:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            while not self._stop.is_set():
                if index % self._stride:
                    if not cap.grab():
                        break
                    index += 1
                    continue
                ok, bgr = cap.read()
                if not ok or bgr is None:
                    break
                t_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                thumb = _thumbnail(bgr)
                change = float(np.mean(np.abs(thumb - previous))) if previous is not None else float("nan")
                previous = thumb
                item = (index, t_ms, rgb, change)
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                index += 1
        except BaseException as exc:  # handed to the consumer, which raises it
            self._error = exc
        finally:
            self._put_end()

    def _put_end(self) -> None:
        while True:
            try:
                self._queue.put(_END, timeout=0.1)
                return
            except queue.Full:
                if self._stop.is_set():
                    return

    # -- consumer side ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        if self._thread is not None:
            raise RuntimeError("a VideoReader can be iterated once")
        self._thread = threading.Thread(target=self._decode, name="gaitlab-decode", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                index, t_ms, rgb, change = item
                self.frames_decoded += 1
                yield Frame(index=index, time_s=t_ms / 1000.0, rgb=rgb, scene_change=change)
        finally:
            self.close()
        if self._error is not None:
            raise VideoError(f"{self.path.name}: decoding failed: {self._error}")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            # Drain so the decoder can observe the stop flag.
            try:
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=5)
        self._cap.release()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def clean_timestamps(raw_s, frame_index, fps_nominal: float) -> tuple[np.ndarray, bool]:
    """Frame times in seconds from the first frame, and whether the container's own were used.

    The container's presentation times are used when they are finite and strictly increasing;
    otherwise (some AVI and raw streams carry none) every time is ``frame_index / fps_nominal``.
    """
    raw = np.asarray(raw_s, dtype=float)
    index = np.asarray(frame_index, dtype=float)
    if raw.size and np.all(np.isfinite(raw)) and np.all(np.diff(raw) > 0):
        return raw - raw[0], True
    fps = fps_nominal if fps_nominal and fps_nominal > 0 else 30.0
    return (index - (index[0] if index.size else 0.0)) / fps, False


def read_frame(path: str | os.PathLike, index: int) -> np.ndarray:
    """Decode one frame (RGB) by index, reading sequentially from the start for exactness."""
    cap = _open(Path(path))
    try:
        for _ in range(index):
            if not cap.grab():
                raise VideoError(f"{Path(path).name} has fewer than {index + 1} frames")
        ok, bgr = cap.read()
        if not ok:
            raise VideoError(f"{Path(path).name} has fewer than {index + 1} frames")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


#: When the next wanted frame is more than this many frames ahead, seek instead of decoding through.
SEEK_GAP_FRAMES = 90


def read_frames(path: str | os.PathLike, indices, times_s=None) -> dict[int, np.ndarray]:
    """Decode several frames (RGB, upright) by index; returns ``{index: rgb}``.

    Frames close together are reached by decoding forward; far ones by seeking (to the keyframe
    before, then decoding forward, which OpenCV's FFmpeg back-end does frame-accurately for
    constant-frame-rate files). With ``times_s`` (each frame's container time, as recorded during
    pose estimation) every frame read after a seek is checked against its time, and one a seek
    misplaced (variable-frame-rate files) is read again by decoding from the start.
    Frames that cannot be read are left out.
    """
    wanted = sorted(set(int(i) for i in indices))
    expected = dict(zip((int(i) for i in indices), times_s)) if times_s is not None else {}
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    cap = _open(Path(path))
    try:
        position = 0  # index of the next frame read() returns
        for target in wanted:
            sought = target - position > SEEK_GAP_FRAMES
            if sought:
                cap.set(cv2.CAP_PROP_POS_FRAMES, target)
                position = target
            while position < target:
                if not cap.grab():
                    return out
                position += 1
            ok, bgr = cap.read()
            if not ok:
                break
            position += 1
            t = expected.get(target)
            if sought and t is not None and abs(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0 - t) > 0.5 / _fps(cap):
                try:
                    out[target] = read_frame(path, target)
                except VideoError:
                    pass
                continue
            out[target] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out


def _fps(cap) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if np.isfinite(fps) and fps > 0 else 30.0
