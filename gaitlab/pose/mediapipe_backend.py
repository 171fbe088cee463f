"""BlazePose through MediaPipe Tasks' ``PoseLandmarker``: the only module that imports mediapipe.

``VIDEO`` mode tracks the person from frame to frame (the detector runs only when tracking is lost),
which is both faster and steadier than detecting every frame. Timestamps given to MediaPipe must
strictly increase; :class:`BlazePose` makes them so. ``IMAGE`` mode (every frame from scratch) is
used to count the people in view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mediapipe as mp  # noqa: E402
from mediapipe.tasks.python import BaseOptions, vision  # noqa: E402

from ..errors import UsageError  # noqa: E402
from ..schema import KEYPOINTS  # noqa: E402
from .model import ModelInfo  # noqa: E402

MEDIAPIPE_VERSION: str = getattr(mp, "__version__", "unknown")
N_KEYPOINTS = len(KEYPOINTS)


@dataclass(frozen=True)
class Poses:
    """The poses found in one frame, as arrays with a leading pose axis ``P`` (0 when none).

    ``image``: (P, 33, 3) x and y in pixels (y down), z relative depth scaled like x (pixels).
    ``world``: (P, 33, 3) metres, origin between the hips.
    ``visibility``, ``presence``: (P, 33) in [0, 1].
    """

    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray

    @property
    def count(self) -> int:
        return int(self.image.shape[0])


def _empty() -> Poses:
    z3 = np.zeros((0, N_KEYPOINTS, 3), np.float32)
    z1 = np.zeros((0, N_KEYPOINTS), np.float32)
    return Poses(z3, z3.copy(), z1, z1.copy())


class BlazePose:
    """A MediaPipe PoseLandmarker; use as a context manager so it is closed.

    Parameters
    ----------
    model : ModelInfo
        From :func:`gaitlab.pose.model.resolve_model`.
    num_poses : int
        Most people to return per frame.
    video_mode : bool
        True: track across frames (pass frames in time order). False: each frame from scratch.
    min_detection, min_presence, min_tracking : float
        MediaPipe's confidence thresholds.
    """

    def __init__(self, model: ModelInfo, *, num_poses: int = 1, video_mode: bool = True,
                 min_detection: float = 0.5, min_presence: float = 0.5, min_tracking: float = 0.5):
        self.video_mode = video_mode
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=model.path),
            running_mode=vision.RunningMode.VIDEO if video_mode else vision.RunningMode.IMAGE,
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection,
            min_pose_presence_confidence=min_presence,
            min_tracking_confidence=min_tracking,
            output_segmentation_masks=False,
        )
        self._landmarker = None
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except (ValueError, RuntimeError) as exc:  # MediaPipe's words for a model it cannot load
            reason = " ".join(str(exc).split())[:200]
            raise UsageError(f"{model.name} is not a pose landmarker model MediaPipe can load ({reason})",
                             "give a pose landmarker .task bundle, or leave out --model for the bundled one") from None
        self._last_ms = -1

    def detect(self, rgb: np.ndarray, time_s: float | None = None) -> Poses:
        """Poses in one RGB frame (uint8, H x W x 3). ``time_s`` is required in video mode."""
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.video_mode:
            ms = int(round(time_s * 1000.0)) if time_s is not None else self._last_ms + 1
            ms = max(ms, self._last_ms + 1)  # MediaPipe requires strictly increasing timestamps
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        if not result.pose_landmarks:
            return _empty()
        h, w = rgb.shape[:2]
        norm = np.array([[[p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0] for p in pose]
                         for pose in result.pose_landmarks], dtype=np.float32)
        world = np.array([[[p.x, p.y, p.z] for p in pose] for pose in result.pose_world_landmarks],
                         dtype=np.float32)
        image_xyz = norm[..., :3] * np.array([w, h, w], dtype=np.float32)
        return Poses(image_xyz, world, norm[..., 3], norm[..., 4])

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> "BlazePose":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
