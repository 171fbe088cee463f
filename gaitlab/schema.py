"""The data model: keypoint names, coordinate conventions and sign conventions, written once.

Coordinates
    Image coordinates are pixels of the video as displayed (after the container's rotation is
    applied), x to the right, y **down**, origin at the top-left corner. World coordinates are
    BlazePose's metric estimate in metres, origin between the hips.
Sides
    ``left`` and ``right`` are always the runner's sides, never the image's.
Time
    Seconds from the first decoded frame, taken from the container's per-frame timestamps (so
    variable-frame-rate clips are timed right); the decoded frame index travels alongside.
Angles
    Degrees in every table and report.
"""

from __future__ import annotations

import numpy as np

# BlazePose's 33 keypoints, in model output order.
#: Image coordinates farther than this many pixels from the origin are not a keypoint of a
#: video frame; files that hold them (edited or damaged) have them treated as missing.
MAX_COORDINATE_PX = 1e6

KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear",
    "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_pinky", "right_pinky",
    "left_index", "right_index",
    "left_thumb", "right_thumb",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
KEYPOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(KEYPOINTS)}

SIDES: tuple[str, str] = ("left", "right")


def other_side(side: str) -> str:
    return "right" if side == "left" else "left"


def mirror_keypoint(name: str) -> str:
    """The same keypoint on the runner's other side (``left_knee`` -> ``right_knee``)."""
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


#: Permutation that swaps every left keypoint with its right twin.
MIRROR_PERMUTATION: tuple[int, ...] = tuple(KEYPOINT_INDEX[mirror_keypoint(k)] for k in KEYPOINTS)

# Lines drawn for the skeleton, as keypoint name pairs.
SKELETON_EDGES: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    *((f"{s}_shoulder", f"{s}_hip") for s in SIDES),
    *((f"{s}_shoulder", f"{s}_elbow") for s in SIDES),
    *((f"{s}_elbow", f"{s}_wrist") for s in SIDES),
    *((f"{s}_hip", f"{s}_knee") for s in SIDES),
    *((f"{s}_knee", f"{s}_ankle") for s in SIDES),
    *((f"{s}_ankle", f"{s}_heel") for s in SIDES),
    *((f"{s}_heel", f"{s}_foot_index") for s in SIDES),
    *((f"{s}_ankle", f"{s}_foot_index") for s in SIDES),
)

# Camera views gaitlab distinguishes.
VIEWS: tuple[str, ...] = ("side", "rear", "front")

#: The keypoints a frame must have for the runner to count as found in it.
BODY_KEYPOINTS = tuple(f"{side}_{part}" for side in SIDES for part in ("shoulder", "hip", "knee", "ankle"))
_BODY_INDEX = [KEYPOINT_INDEX[k] for k in BODY_KEYPOINTS]


def body_found(image: np.ndarray) -> np.ndarray:
    """(T,) True where the body keypoints (:data:`BODY_KEYPOINTS`) of ``image`` (T, 33, >= 2) are there."""
    return np.isfinite(image[:, _BODY_INDEX, :2]).all(axis=(1, 2))


def blazepose_slots(names) -> tuple[list[int], list[int]]:
    """For keypoint ``names`` of another tool: BlazePose's slot of each that carries a BlazePose
    name, and its own index, in the same order."""
    pairs = [(KEYPOINT_INDEX[n], i) for i, n in enumerate(names) if n in KEYPOINT_INDEX]
    return [o for o, _ in pairs], [i for _, i in pairs]


def blazepose_arrays(names, xy: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of another tool in BlazePose's slots: ``names`` (K,) with ``xy`` (T, K, 2) pixels
    and ``confidence`` (T, K). Returns ``image`` (T, 33, 3) (depth 0 where a position is given) and
    ``visibility`` (T, 33): the keypoints that carry a BlazePose name (:data:`KEYPOINTS`) in their
    slot, the others empty, and no visibility where a position is missing."""
    t = xy.shape[0]
    image = np.full((t, len(KEYPOINTS), 3), np.nan, np.float32)
    vis = np.zeros((t, len(KEYPOINTS)), np.float32)
    ours, theirs = blazepose_slots(names)
    image[:, ours, :2] = xy[:, theirs]
    missing = ~np.isfinite(image[:, :, :2]).all(axis=-1)
    image[:, :, 2] = np.where(missing, np.nan, 0.0)
    vis[:, ours] = np.nan_to_num(confidence[:, theirs], nan=0.0)
    vis[missing] = 0.0
    return image, vis
