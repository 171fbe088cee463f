"""Choosing the runner when more than one person is in view.

The rule, applied to people tracked across the clip:

1. A person's **box** is the extent of their keypoints seen with visibility >= 0.5; their **size** is
   the box height as a fraction of the frame height.
2. People smaller than :data:`COMPARABLE_FRACTION` of the largest person in the same frame are
   bystanders (someone in the background of a gym) and never compete for the runner.
3. If :data:`CROWD_COUNT` or more comparable people are in view in at least
   :data:`CROWD_FRAME_FRACTION` of the sampled frames, the clip is refused: no rule picks a runner
   out of a race pack reliably. It is refused too when, with everyone tracked, at least
   :data:`CROWD_TRACKS` people each stay for :data:`TRACK_MIN_FRACTION` of the clip while the chosen
   runner is in view for less than :data:`RUNNER_MIN_FRACTION` of it (see :func:`is_passing_crowd`).
4. Otherwise the runner is the track with the largest sum, over the frames it is present in, of
   ``size * centrality``, where centrality is 1 at the image centre and 0.5 at the left or right
   edge. Large, central and continuous therefore all count: a person who crosses the frame briefly
   loses to the runner who is there throughout.

These functions are pure numpy and know nothing of MediaPipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

MIN_VISIBILITY = 0.5
COMPARABLE_FRACTION = 0.6
CROWD_COUNT = 3
CROWD_FRAME_FRACTION = 0.3
#: With everyone tracked, the view is a crowd when this many tracks each last at least
#: :data:`TRACK_MIN_FRACTION` of the clip and the chosen runner is in view for less than
#: :data:`RUNNER_MIN_FRACTION` of it: people pass through and nobody stays.
CROWD_TRACKS = 3
TRACK_MIN_FRACTION = 0.1
RUNNER_MIN_FRACTION = 0.6
#: A pose joins a track when its box centre is within this many box heights of the track's last box.
MAX_TRACK_JUMP = 0.5


def person_boxes(image: np.ndarray, visibility: np.ndarray) -> np.ndarray:
    """(P, 4) boxes ``x0, y0, x1, y1`` in pixels from (P, 33, 3) keypoints and (P, 33) visibility.

    Keypoints below :data:`MIN_VISIBILITY` are ignored unless a person has none above it.
    """
    xy = np.asarray(image, float)[..., :2]
    if xy.shape[0] == 0:
        return np.zeros((0, 4))
    seen = np.asarray(visibility) >= MIN_VISIBILITY
    seen[~seen.any(axis=1)] = True
    x = np.where(seen, xy[..., 0], np.nan)
    y = np.where(seen, xy[..., 1], np.nan)
    return np.stack([np.nanmin(x, 1), np.nanmin(y, 1), np.nanmax(x, 1), np.nanmax(y, 1)], axis=1)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union of two sets of boxes."""
    a = np.asarray(a, float)[:, None, :]
    b = np.asarray(b, float)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def box_score(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """(P,) ``size * centrality`` of each box (see the module rule)."""
    boxes = np.asarray(boxes, float)
    size = (boxes[:, 3] - boxes[:, 1]) / height
    cx = 0.5 * (boxes[:, 0] + boxes[:, 2])
    centrality = 1.0 - 0.5 * np.clip(np.abs(cx - width / 2) / (width / 2), 0, 1)
    return size * centrality


def comparable_count(boxes: np.ndarray) -> int:
    """How many people in one frame are at least :data:`COMPARABLE_FRACTION` as tall as the tallest."""
    if len(boxes) == 0:
        return 0
    h = boxes[:, 3] - boxes[:, 1]
    return int(np.sum(h >= COMPARABLE_FRACTION * h.max()))


@dataclass(frozen=True)
class CrowdCheck:
    """What sampling frames for people found (see :func:`check_crowd`)."""

    frames_sampled: int
    max_people: int
    frames_with_several: int
    max_comparable: int
    frames_crowded: int

    @property
    def is_crowd(self) -> bool:
        return self.frames_sampled > 0 and self.frames_crowded >= CROWD_FRAME_FRACTION * self.frames_sampled

    @property
    def several_people(self) -> bool:
        return self.frames_with_several > 0

    def to_dict(self) -> dict:
        return asdict(self)


def check_crowd(boxes_per_frame: list[np.ndarray]) -> CrowdCheck:
    """Summarise people counts over sampled frames (each item: (P, 4) boxes of one frame)."""
    counts = np.array([len(b) for b in boxes_per_frame], dtype=int)
    comparable = np.array([comparable_count(b) for b in boxes_per_frame], dtype=int)
    return CrowdCheck(
        frames_sampled=len(boxes_per_frame),
        max_people=int(counts.max(initial=0)),
        frames_with_several=int(np.sum(counts >= 2)),
        max_comparable=int(comparable.max(initial=0)),
        frames_crowded=int(np.sum(comparable >= CROWD_COUNT)),
    )


def associate(boxes_per_frame: list[np.ndarray]) -> np.ndarray:
    """Link people across frames into tracks.

    Returns an int array (T, n_tracks): the pose index of each track in each frame, or -1 where the
    track is absent. Matching is one-to-one per frame (Hungarian assignment on box-centre distance
    in units of box height), against each track's most recent box.
    """
    last_box: list[np.ndarray] = []
    columns: list[list[int]] = []
    for t, boxes in enumerate(boxes_per_frame):
        for col in columns:
            col.append(-1)
        if len(boxes) == 0:
            continue
        unmatched = set(range(len(boxes)))
        if last_box:
            prev = np.array(last_box)
            pc = 0.5 * (prev[:, :2] + prev[:, 2:])
            cc = 0.5 * (boxes[:, :2] + boxes[:, 2:])
            scale = np.maximum(prev[:, 3] - prev[:, 1], 1.0)[:, None]
            cost = np.linalg.norm(pc[:, None, :] - cc[None, :, :], axis=-1) / scale
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] <= MAX_TRACK_JUMP:
                    columns[r][t] = int(c)
                    last_box[r] = boxes[c]
                    unmatched.discard(int(c))
        for c in sorted(unmatched):
            columns.append([-1] * t + [c])
            last_box.append(boxes[c])
    if not columns:
        return np.full((len(boxes_per_frame), 0), -1, dtype=int)
    return np.array(columns, dtype=int).T


def choose_track(tracks: np.ndarray, boxes_per_frame: list[np.ndarray], width: int, height: int
                 ) -> tuple[int, np.ndarray]:
    """Index of the runner's track by the module rule, and every track's score."""
    n_tracks = tracks.shape[1]
    scores = np.zeros(n_tracks)
    for t, boxes in enumerate(boxes_per_frame):
        if len(boxes) == 0:
            continue
        s = box_score(boxes, width, height)
        h = boxes[:, 3] - boxes[:, 1]
        s = np.where(h >= COMPARABLE_FRACTION * h.max(), s, 0.0)  # bystanders never compete
        present = tracks[t] >= 0
        scores[present] += s[tracks[t][present]]
    return int(np.argmax(scores)), scores


def is_passing_crowd(tracks: np.ndarray, chosen: int) -> bool:
    """True when several people come and go and the chosen runner is not in view most of the time."""
    presence = (tracks >= 0).mean(axis=0)
    return bool(np.sum(presence >= TRACK_MIN_FRACTION) >= CROWD_TRACKS and presence[chosen] < RUNNER_MIN_FRACTION)
