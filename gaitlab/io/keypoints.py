"""Keypoints from other pose tools, as the arrays of gaitlab :class:`~gaitlab.landmarks.Landmarks`
(``Landmarks(**read_keypoints(path, fps))``; :meth:`~gaitlab.landmarks.Landmarks.load` does this).

Two formats are read directly (others through ``movement`` datasets, see
:meth:`~gaitlab.landmarks.Landmarks.from_movement`):

- OpenPose: a folder of ``*_keypoints.json`` files, one per frame in name order, each with
  ``people[i].pose_keypoints_2d`` = x, y, confidence for the 25 BODY_25 keypoints (or the 18 of
  COCO-18).
- AlphaPose: one JSON file, a list of detections with ``image_id`` ("<frame>.jpg") and
  ``keypoints`` = x, y, score for the 17 COCO keypoints (or the 26 of Halpe).

Keypoints are matched to BlazePose's names where they name the same landmark (COCO has no heels
or toes, so foot metrics are then empty); the rest of BlazePose's 33 stay empty. Neither format
records time, so the frame rate must be given. In a frame with several people, the one nearest the
runner of the frames before (the largest at the start) is taken.

The metrics were validated on BlazePose's keypoints; other models place the hips and feet a little
differently, so imported keypoints give comparable but not identical numbers (gaitlab records
where they came from in the landmarks' attributes).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import numpy as np

from ..config import FPS_RANGE
from ..errors import LandmarksFileError
from .files import read_json, stat_path
from ..schema import MAX_COORDINATE_PX, blazepose_arrays, body_found

#: BlazePose name of each keypoint of the formats read, by the format's keypoint index.
BODY_25 = {0: "nose", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder",
           6: "left_elbow", 7: "left_wrist", 9: "right_hip", 10: "right_knee", 11: "right_ankle",
           12: "left_hip", 13: "left_knee", 14: "left_ankle", 15: "right_eye", 16: "left_eye",
           17: "right_ear", 18: "left_ear", 19: "left_foot_index", 21: "left_heel",
           22: "right_foot_index", 24: "right_heel"}
COCO_18 = {0: "nose", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder",
           6: "left_elbow", 7: "left_wrist", 8: "right_hip", 9: "right_knee", 10: "right_ankle",
           11: "left_hip", 12: "left_knee", 13: "left_ankle", 14: "right_eye", 15: "left_eye",
           16: "right_ear", 17: "left_ear"}
COCO_17 = {0: "nose", 1: "left_eye", 2: "right_eye", 3: "left_ear", 4: "right_ear", 5: "left_shoulder",
           6: "right_shoulder", 7: "left_elbow", 8: "right_elbow", 9: "left_wrist", 10: "right_wrist",
           11: "left_hip", 12: "right_hip", 13: "left_knee", 14: "right_knee", 15: "left_ankle",
           16: "right_ankle"}
#: Halpe-26 = COCO-17 + head, neck, hip centre, big toes, small toes, heels.
HALPE_26 = {**COCO_17, 20: "left_foot_index", 21: "right_foot_index", 24: "left_heel", 25: "right_heel"}
LAYOUTS = {25: ("BODY_25", BODY_25), 18: ("COCO-18", COCO_18), 17: ("COCO-17", COCO_17),
           26: ("Halpe-26", HALPE_26)}
#: An AlphaPose file may hold frames without a detection, but its frame numbers may run to at most
#: this many times the number of frames with one (the runner must be in view in most frames).
MAX_EMPTY_FRAMES_PER_DETECTION = 20
#: Frame numbers above this are not a clip's (a day at 10000 fps is 864 million frames).
MAX_FRAME_NUMBER = 10 ** 9
#: Keypoint JSON files larger than this are not one clip's keypoints (an hour at 60 fps with one
#: Halpe-26 detection per frame is about 200 MiB).
KEYPOINTS_MAX_BYTES = 512 << 20
#: Keypoints below this confidence are left empty.
MIN_CONFIDENCE = 0.05
#: A keypoint seen in fewer than this fraction of the runner's frames is left out.
MIN_SEEN_FRACTION = 0.5


def read_openpose(folder: str | Path, fps: float):
    """Landmarks from an OpenPose output folder (``*_keypoints.json``, one file per frame)."""
    folder = Path(folder)
    files = sorted(folder.glob("*_keypoints.json"), key=_frame_number)
    if not files:
        hint = f"give {folder / 'landmarks.parquet'}" if (folder / "landmarks.parquet").is_file() else None
        raise LandmarksFileError(f"{folder} holds no OpenPose *_keypoints.json files", hint)
    people = []
    for f in files:
        doc = read_json(f, LandmarksFileError, "OpenPose JSON", max_bytes=KEYPOINTS_MAX_BYTES)
        try:
            people.append([np.asarray(p.get("pose_keypoints_2d") or [], float).ravel() for p in doc.get("people", [])])
        except (ValueError, TypeError, AttributeError, OverflowError):
            raise LandmarksFileError(f"{f.name} is not a readable OpenPose JSON file") from None
    return _landmarks(np.arange(len(files)), people, fps, source="OpenPose", path=folder)


def read_alphapose(path: str | Path, fps: float):
    """Landmarks from an AlphaPose results file (a JSON list of detections)."""
    path = Path(path)
    doc = read_json(path, LandmarksFileError, "AlphaPose results", max_bytes=KEYPOINTS_MAX_BYTES)
    if not (isinstance(doc, list) and doc and isinstance(doc[0], dict) and "keypoints" in doc[0]):
        raise LandmarksFileError(f"{path.name} is not an AlphaPose results file (a list of detections)")
    by_frame: dict[int, list] = {}
    hint = "give the AlphaPose results of one clip, with image_id = <frame number>.jpg"
    for det in doc:
        try:
            image_id = str(det.get("image_id", ""))
            keypoints = np.asarray(det["keypoints"], float).ravel()
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError):
            raise LandmarksFileError(f"{path.name} is not an AlphaPose results file (a detection without "
                                     "keypoints)") from None
        try:
            frame = _frame_number(Path(image_id))
        except ValueError:
            frame = MAX_FRAME_NUMBER + 1
        if frame > MAX_FRAME_NUMBER:
            shown = image_id if len(image_id) <= 40 else f"{image_id[:30]}...{image_id[-4:]}"
            raise LandmarksFileError(f"{path.name}: image_id {shown} is not a frame number gaitlab reads", hint)
        by_frame.setdefault(frame, []).append(keypoints)
    # Every frame up to the last detection gets a row; frames without one stay empty. The rows
    # are bounded by what the file holds: frame numbers far beyond the frames with detections are
    # not a clip's frames.
    last = max(by_frame)
    if last + 1 > MAX_EMPTY_FRAMES_PER_DETECTION * len(by_frame):
        raise LandmarksFileError(
            f"{path.name}: its image_id numbers run to frame {last} but only {len(by_frame)} frames hold a "
            "detection", hint)
    frames = np.arange(last + 1)
    return _landmarks(frames, [by_frame.get(int(f), []) for f in frames], fps, source="AlphaPose", path=path)


def is_foreign(path: str | Path) -> bool:
    """True for an OpenPose folder or a JSON file (which :func:`read_keypoints` reads)."""
    p = Path(path)
    return p.is_dir() or p.suffix.lower() == ".json"


def read_keypoints(path: str | Path, fps: float | None) -> dict:
    """An OpenPose folder or an AlphaPose JSON file, at ``fps`` frames per second: the fields of a
    :class:`~gaitlab.landmarks.Landmarks` as a dict."""
    if not fps:
        raise LandmarksFileError(f"{Path(path).name}: keypoint files record no time",
                                 "give the clip's frame rate with --keypoints-fps")
    if not (np.isfinite(fps) and FPS_RANGE[0] <= fps <= FPS_RANGE[1]):
        raise LandmarksFileError(f"the keypoints' frame rate must be between {FPS_RANGE[0]:g} and {FPS_RANGE[1]:g} "
                                 f"frames per second (got {fps:g})")
    p = Path(path)
    st = stat_path(p, LandmarksFileError, "keypoints")
    if st is None:
        raise LandmarksFileError(f"keypoints file not found: {p}")
    if stat.S_ISDIR(st.st_mode):
        return read_openpose(p, fps)
    return read_alphapose(p, fps)


def _frame_number(path: Path) -> int:
    """The last number in a file name (its frame); ValueError for one of thousands of digits."""
    numbers = re.findall(r"\d+", path.stem)
    return int(numbers[-1]) if numbers else 0


def _landmarks(frames: np.ndarray, people: list[list[np.ndarray]], fps: float, *, source: str, path: Path):
    sizes = {p.size / 3 for ps in people for p in ps if p.size}
    if not sizes:
        raise LandmarksFileError(f"{path.name}: no person in any frame")
    if len(sizes) > 1 or next(iter(sizes)) not in LAYOUTS:
        counts = ", ".join(f"{x:g}" for x in sorted(sizes))
        raise LandmarksFileError(f"{path.name}: {counts} keypoints per person is not a layout gaitlab reads",
                                 "OpenPose BODY_25 or COCO-18, AlphaPose COCO-17 or Halpe-26")
    points = int(next(iter(sizes)))
    layout, mapping = LAYOUTS[points]
    xyc = np.full((len(frames), points, 3), np.nan)
    previous = None
    for i, candidates in enumerate(people):
        person = _pick([_finite(c) for c in candidates], previous)
        if person is not None:
            xyc[i] = person.reshape(-1, 3)
            seen = _confident(xyc[i, list(mapping)])
            previous = seen.mean(axis=0) if len(seen) else previous
    with np.errstate(invalid="ignore"):
        xyc[~(xyc[..., 2] >= MIN_CONFIDENCE)] = np.nan
    image, vis = blazepose_arrays([mapping.get(j) for j in range(points)], xyc[..., :2], xyc[..., 2])
    _fill_within_person(image, vis)
    attrs = {"imported_from": {"software": source, "layout": layout, "file": str(path), "fps": fps}}
    return {"frame": frames, "time": (frames - frames[0]) / fps, "image": image,
            "world": np.full_like(image, np.nan), "visibility": vis, "presence": vis.copy(), "attrs": attrs}


def _fill_within_person(image: np.ndarray, vis: np.ndarray) -> None:
    """In place: a frame without all of :data:`~gaitlab.schema.BODY_KEYPOINTS` is emptied (the
    runner counts as not found there, as with BlazePose); in the other frames, a keypoint missing
    here and there is interpolated from its neighbours (with visibility 0), and one seen in fewer
    than :data:`MIN_SEEN_FRACTION` of them is left out altogether."""
    present = body_found(image)
    image[~present] = np.nan
    vis[~present] = 0.0
    rows = np.nonzero(present)[0]
    if rows.size == 0:
        return
    seen = np.isfinite(image[rows, :, 0])                      # (P, K)
    for k in np.nonzero(seen.any(axis=0))[0]:
        if seen[:, k].mean() < MIN_SEEN_FRACTION:
            image[:, k] = np.nan
            vis[:, k] = 0.0
            continue
        gaps = rows[~seen[:, k]]
        for c in (0, 1):
            image[gaps, k, c] = np.interp(gaps, rows[seen[:, k]], image[rows[seen[:, k]], k, c])
        image[gaps, k, 2] = 0.0


def _finite(person: np.ndarray) -> np.ndarray:
    """One person's x, y, confidence triples with every triple holding a value that is not finite,
    or a coordinate beyond :data:`~gaitlab.schema.MAX_COORDINATE_PX`, emptied (confidence 0)."""
    if not person.size:
        return person
    xyc = person.reshape(-1, 3).copy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(xyc).all(axis=1) | (np.abs(xyc[:, :2]) > MAX_COORDINATE_PX).any(axis=1)
    xyc[bad] = [np.nan, np.nan, 0.0]
    return xyc.ravel()


def _confident(xyc: np.ndarray) -> np.ndarray:
    """The (x, y) of the keypoints of one person ((K, 3)) at :data:`MIN_CONFIDENCE` or more."""
    return xyc[xyc[:, 2] >= MIN_CONFIDENCE, :2]


def _pick(candidates: list[np.ndarray], previous: np.ndarray | None) -> np.ndarray | None:
    """The person nearest ``previous`` (an image point), else the one with the largest extent."""
    found = [(c, _confident(c.reshape(-1, 3))) for c in candidates if c.size]
    found = [(c, p) for c, p in found if len(p) >= 3]
    if not found:
        return None
    found, pts = [c for c, _ in found], [p for _, p in found]
    if previous is not None:
        score = [float(np.linalg.norm(p.mean(axis=0) - previous)) for p in pts]
        return found[int(np.argmin(score))]
    extent = [float(np.ptp(p[:, 0]) * np.ptp(p[:, 1])) for p in pts]
    return found[int(np.argmax(extent))]
