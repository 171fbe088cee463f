"""Cleaning landmarks before events and metrics: left/right leg swap repair, gap filling, smoothing.

Every function returns a new :class:`~gaitlab.landmarks.Landmarks` and appends what it did to
``attrs["processing"]``, so a result can always be traced back to the raw model output.
"""

from __future__ import annotations

import numpy as np

from .errors import AnalysisError
from .landmarks import Landmarks
from .schema import KEYPOINT_INDEX

#: Keypoints that swap together when BlazePose confuses the legs: the knees, and the feet.
SWAP_GROUPS = {
    "knee": (("knee",), "hip"),
    "foot": (("ankle", "heel", "foot_index"), "knee"),
}
#: Expected speed of a foot in leg lengths per second, the scale of the frame-to-frame motion cost.
MOTION_SCALE_LEG_PER_S = 4.0
#: Cost of keeping a group's labels swapped in one frame, so that ambiguity resolves to "as is".
SWAP_PRIOR = 0.5
#: Above this frame rate the swap path is chosen on every n-th frame, at about this rate (every
#: second frame at 120 fps, every fourth at 240), and each frame between takes the labels nearer
#: the repaired path. BlazePose moves swapped labels over to the other leg across some 20 ms: at
#: 30-60 fps the motion cost sees that as a jump, at 240 fps as a slide of several small steps,
#: which cost less than any swap. On 14 dev side runners rendered at 240 fps, feet left swapped
#: through contact put 4 contacts on the wrong leg and made 5 stances read 80-110 deg of knee
#: flexion; chosen at 60 fps, none. (At 120 fps, one frame in two, 8 dev runners changed little
#: either way; at 240 fps one frame in two did not undo the slide.)
SWAP_PATH_MAX_FPS = 60.0


def _log(lm: Landmarks, entry: dict) -> dict:
    attrs = dict(lm.attrs)
    attrs["processing"] = list(attrs.get("processing", [])) + [entry]
    return attrs


def _leg_scale_px(lm: Landmarks) -> float:
    """Median hip-to-ankle length (pixels) over frames and sides: the body's scale in the image."""
    lengths = []
    for side in ("left", "right"):
        d = (np.linalg.norm(lm.xy(f"{side}_hip") - lm.xy(f"{side}_knee"), axis=1)
             + np.linalg.norm(lm.xy(f"{side}_knee") - lm.xy(f"{side}_ankle"), axis=1))
        lengths.append(d)
    value = np.nanmedian(np.concatenate(lengths))
    return float(value) if np.isfinite(value) and value > 0 else 100.0


def _viterbi_two_states(unary: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Most likely state path for 2 states. unary (T, 2); trans (T, 2, 2) cost from state i at t-1
    to j at t (trans[0] unused). Returns (T,) int."""
    t_len = unary.shape[0]
    cost = unary[0].copy()
    back = np.zeros((t_len, 2), dtype=np.int8)
    for t in range(1, t_len):  # sequential by nature: each step depends on the previous one
        total = cost[:, None] + trans[t]
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], [0, 1]] + unary[t]
    path = np.zeros(t_len, dtype=np.int8)
    path[-1] = int(np.argmin(cost))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def _swap_path(image: np.ndarray, time: np.ndarray, idx: np.ndarray, scale: float, parts: tuple, parent: str,
               every: int = 1) -> np.ndarray:
    """The two-state path (0: labels as given, 1: swapped) of one group of keypoints over the
    frames ``idx`` (see :func:`repair_leg_swaps` for the costs). With ``every`` > 1 the path is
    chosen on every ``every``-th frame (and the last); each frame between takes the state that puts
    the group's points nearer the repaired positions interpolated from those frames."""
    li = [KEYPOINT_INDEX[f"left_{p}"] for p in parts]
    ri = [KEYPOINT_INDEX[f"right_{p}"] for p in parts]
    if every > 1 and idx.size > 2:
        anchors = np.unique(np.append(np.arange(0, idx.size, every), idx.size - 1))
        on_anchors = _swap_path(image, time, idx[anchors], scale, parts, parent)
        L = image[idx][:, li, :2].astype(float)
        R = image[idx][:, ri, :2].astype(float)
        swapped = on_anchors.astype(bool)[:, None, None]
        fixed_l = np.where(swapped, R[anchors], L[anchors])
        fixed_r = np.where(swapped, L[anchors], R[anchors])
        pos = np.interp(np.arange(idx.size), anchors, np.arange(anchors.size))
        i0 = np.minimum(np.floor(pos).astype(int), anchors.size - 2)
        w = (pos - i0)[:, None, None]
        want_l = (1 - w) * fixed_l[i0] + w * fixed_l[i0 + 1]
        want_r = (1 - w) * fixed_r[i0] + w * fixed_r[i0 + 1]
        as_given = np.sum((L - want_l) ** 2 + (R - want_r) ** 2, axis=(1, 2))
        crossed = np.sum((R - want_l) ** 2 + (L - want_r) ** 2, axis=(1, 2))
        path = (crossed < as_given).astype(np.int8)
        path[anchors] = on_anchors
        return path
    pl, pr = KEYPOINT_INDEX[f"left_{parent}"], KEYPOINT_INDEX[f"right_{parent}"]
    dt = np.diff(time[idx])
    dt = np.concatenate([[np.median(dt) if dt.size else 1 / 30], dt])
    sigma = np.maximum(MOTION_SCALE_LEG_PER_S * scale * dt, 1.0)
    L = image[idx][:, li, :2].astype(float)
    R = image[idx][:, ri, :2].astype(float)
    PL = image[idx][:, pl, :2].astype(float)
    PR = image[idx][:, pr, :2].astype(float)
    # Unary: segment length to the parent, as given (state 0) and swapped (state 1).
    seg_l0 = np.linalg.norm(L[:, 0] - PL, axis=1)
    seg_r0 = np.linalg.norm(R[:, 0] - PR, axis=1)
    seg_l1 = np.linalg.norm(R[:, 0] - PL, axis=1)
    seg_r1 = np.linalg.norm(L[:, 0] - PR, axis=1)
    ref = np.median(np.concatenate([seg_l0, seg_r0]))
    tol = 0.15 * max(ref, 1.0)

    def length_cost(a, b):  # bounded, so one bad frame cannot outweigh the motion evidence
        return np.minimum(((a - ref) ** 2 + (b - ref) ** 2) / tol ** 2, 4.0)

    unary = np.stack([length_cost(seg_l0, seg_r0), length_cost(seg_l1, seg_r1) + SWAP_PRIOR], axis=1)
    # Transition: displacement between consecutive frames of idx for each state pair.
    states = [(L, R), (R, L)]
    trans = np.zeros((idx.size, 2, 2))
    for a in (0, 1):
        for b in (0, 1):
            prev_l, prev_r = states[a]
            cur_l, cur_r = states[b]
            d = (np.sum((cur_l[1:] - prev_l[:-1]) ** 2, axis=(1, 2))
                 + np.sum((cur_r[1:] - prev_r[:-1]) ** 2, axis=(1, 2)))
            trans[1:, a, b] = d / (len(parts) * sigma[1:] ** 2)
    return _viterbi_two_states(unary, trans)


def repair_leg_swaps(lm: Landmarks, view=None) -> Landmarks:
    """Find frames where BlazePose swapped the left and right knee or foot labels, and swap them back.

    Assumption: legs move smoothly between frames, and each foot stays attached to its own shank.
    For each group (knees; feet = ankle, heel, foot index) a two-state path (labels as given, or
    swapped) is chosen over the whole clip by dynamic programming, minimising

    * frame-to-frame displacement of the group's points, in units of the distance a foot can move
      in one frame at :data:`MOTION_SCALE_LEG_PER_S` leg lengths per second, squared;
    * the change of the segment length to the group's parent point (thigh for knees, shank for
      feet) from its median, relative to 15 % of that median, squared and capped at 4;
    * :data:`SWAP_PRIOR` per swapped frame, so ambiguous frames (crossing legs) stay as given.

    Above :data:`SWAP_PATH_MAX_FPS` the path is chosen on every n-th frame, at about that rate, so
    that a swap BlazePose spreads over several frames is still one step of the path. The knees are
    repaired first, and the feet are judged against the repaired knees.

    Only side views are repaired (``view`` from :func:`gaitlab.views.detect_view`, detected when not
    given): there the legs cross in the image at every step. In rear and front views they do not,
    image foreshortening of the shank makes the length term meaningless, and where BlazePose mislabels
    a frame there it mirrors the whole body (:func:`repair_frontal_flips`). Frames without a detection
    are skipped.
    Swapped frames are listed in ``attrs["processing"]``. Left/right swaps of the far leg are a known BlazePose failure on
    running video; this repairs short swaps but cannot fix a clip whose labels are mirrored
    throughout.
    """
    from .views import detect_view

    view = view or detect_view(lm)
    if view.kind != "side":
        return lm.replace(attrs=_log(lm, {"step": "repair_leg_swaps", "skipped": f"{view.kind} view"}))
    det = lm.detected
    idx = np.nonzero(det)[0]
    if idx.size < 3:
        return lm
    image = lm.image.copy()
    world = lm.world.copy()
    vis = lm.visibility.copy()
    pres = lm.presence.copy()
    scale = _leg_scale_px(lm)
    step = float(np.median(np.diff(lm.time[idx])))
    every = max(1, int(round(1 / (SWAP_PATH_MAX_FPS * step)))) if step > 0 else 1
    log = {"step": "repair_leg_swaps", "groups": {}}
    for group, (parts, parent) in SWAP_GROUPS.items():
        path = _swap_path(image, lm.time, idx, scale, parts, parent, every=every)
        swap_frames = idx[path == 1]
        if swap_frames.size:
            cols_l = np.array([KEYPOINT_INDEX[f"left_{p}"] for p in parts])
            cols_r = np.array([KEYPOINT_INDEX[f"right_{p}"] for p in parts])
            for arr in (image, world, vis, pres):
                a_l = arr[swap_frames][:, cols_l].copy()
                a_r = arr[swap_frames][:, cols_r].copy()
                sub = arr[swap_frames]
                sub[:, cols_l] = a_r
                sub[:, cols_r] = a_l
                arr[swap_frames] = sub
        log["groups"][group] = lm.frame[swap_frames].tolist()
    return lm.replace(image=image, world=world, visibility=vis, presence=pres, attrs=_log(lm, log))


def repair_frontal_flips(lm: Landmarks, view) -> Landmarks:
    """Rear and front views: frames whose left and right labels lie the other way round in the
    image from the clip's view (:func:`gaitlab.views.label_order`) get every left/right keypoint pair
    swapped back.

    BlazePose sometimes mirrors the whole body's labels for a few frames, as if it saw the runner
    from the other side (on rendered runners: runs of 1-17 frames, often once a stride, in 4 of 16
    clips filmed from the front and 20 of 127 filmed from behind). Seen from behind or in front, the
    shoulders and the hips never cross in the image, so their order tells the mirrored frames.
    The clip's view is the majority of frames (:func:`gaitlab.views.detect_view`); where that
    majority is itself mirrored, this cannot tell, and the view's confidence says so.
    Repaired frames are listed in ``attrs["processing"]``.
    """
    from .schema import MIRROR_PERMUTATION
    from .views import label_order

    if view.kind not in ("rear", "front"):
        return lm
    expected = 1.0 if view.kind == "rear" else -1.0
    flipped = np.nonzero(label_order(lm) == -expected)[0]
    entry = {"step": "repair_frontal_flips", "frames": lm.frame[flipped].tolist()}
    if not flipped.size:
        return lm.replace(attrs=_log(lm, entry))
    perm = np.asarray(MIRROR_PERMUTATION)
    arrays = {}
    for name in ("image", "world", "visibility", "presence"):
        arr = getattr(lm, name).copy()
        arr[flipped] = arr[flipped][:, perm]
        arrays[name] = arr
    return lm.replace(**arrays, attrs=_log(lm, entry))


#: Frame intervals that differ from the typical one by more than this fraction mark a
#: variable-frame-rate clip.
VFR_TOLERANCE = 0.1


#: A variable-frame-rate clip resampled at its typical interval may gain at most this many samples
#: per frame it has (dropped frames); more means its times jump (a gap in the recording, a damaged
#: file), and the resampled clip would be mostly empty and could exhaust memory.
MAX_RESAMPLE_FACTOR = 4


def resample_uniform(lm: Landmarks) -> Landmarks:
    """Landmarks of a variable-frame-rate clip resampled onto a steady time grid at its typical
    frame interval (the median), by linear interpolation in time; others are returned as they are.

    Every later stage counts time in frames, so it needs evenly spaced samples. ``frame`` then
    holds, for each sample, the decoded frame nearest in time (for showing it); a sample between a
    detected and an undetected frame is undetected.
    """
    n = lm.n_frames
    if n < 3:
        return lm
    dt = np.diff(lm.time)
    typical = float(np.median(dt))
    if typical <= 0 or np.all(np.abs(dt - typical) <= VFR_TOLERANCE * typical):
        return lm
    samples = int((lm.time[-1] - lm.time[0]) / typical) + 1
    if samples > MAX_RESAMPLE_FACTOR * n:
        gap = int(np.argmax(dt))
        raise AnalysisError(f"the clip's frame times jump by {dt[gap]:.0f} s after {lm.time[gap] - lm.time[0]:.1f} s: "
                            f"{n} frames would span {lm.time[-1] - lm.time[0]:.0f} s",
                            "trim the clip to one continuous recording")
    t = np.arange(lm.time[0], lm.time[-1] + 0.5 * typical, typical)
    pos = np.clip(np.interp(t, lm.time, np.arange(n)), 0, n - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    w = pos - i0

    def interp(a):
        a = np.asarray(a, float)
        shape = (-1,) + (1,) * (a.ndim - 1)
        return a[i0] * (1 - w.reshape(shape)) + a[i1] * w.reshape(shape)

    both_seen = lm.detected[i0] & lm.detected[i1]
    image, world = interp(lm.image), interp(lm.world)
    image[~both_seen] = np.nan
    world[~both_seen] = np.nan
    attrs = _log(lm, {"step": "resample_uniform", "frames_in": n, "samples_out": int(t.size),
                      "interval_s": typical})
    return Landmarks(frame=lm.frame[np.rint(pos).astype(int)], time=t, image=image, world=world,
                     visibility=np.where(both_seen[:, None], interp(lm.visibility), 0.0),
                     presence=np.where(both_seen[:, None], interp(lm.presence), 0.0), attrs=attrs,
                     frame_signals={k: interp(v) for k, v in lm.frame_signals.items()})


#: Gaps (frames without a person) up to this long are filled by linear interpolation.
MAX_GAP_S = 0.15
#: Low-pass cut-off for keypoint trajectories (Hz); running kinematics hold little power above it.
#: Capped at 0.4 x the frame rate so 30 fps clips are not over-smoothed past Nyquist.
CUTOFF_HZ = 12.0


def smoothing_cutoff_hz(fps: float) -> float:
    return float(min(CUTOFF_HZ, 0.4 * fps))


#: Spikes are values further than this many robust standard deviations from the running median.
SPIKE_THRESHOLD = 3.0
#: Running-median window for spike removal, in seconds (5 frames at 60 fps).
DESPIKE_WINDOW_S = 0.083


def despike_window(fps: float) -> int:
    w = int(round(DESPIKE_WINDOW_S * fps))
    return max(w | 1, 3)


def despike(x: np.ndarray, window: int) -> tuple[np.ndarray, int]:
    """Hampel filter along axis 0: replace values far from the running median by the median.

    BlazePose sometimes throws a foot landmark far off for one or two frames (typically when the
    other leg passes it); a low-pass filter would smear such a spike over its neighbours.
    """
    from scipy.ndimage import median_filter

    size = (window,) + (1,) * (x.ndim - 1)
    med = median_filter(x, size=size, mode="nearest")
    mad = 1.4826 * median_filter(np.abs(x - med), size=size, mode="nearest")
    bad = np.abs(x - med) > SPIKE_THRESHOLD * np.maximum(mad, 0.5)
    return np.where(bad, med, x), int(bad.sum())


def fill_and_smooth(lm: Landmarks) -> Landmarks:
    """Fill short gaps, remove one-frame spikes, and low-pass the image and world trajectories.

    Gaps up to :data:`MAX_GAP_S` are interpolated; spikes are removed by a Hampel filter
    (:func:`despike`); then a zero-phase 2nd-order Butterworth filter (scipy ``filtfilt``) at
    :func:`smoothing_cutoff_hz` is applied to each run of consecutive detected frames (runs shorter
    than 12 frames are left as they are). Visibility is not smoothed.
    A zero-phase filter does not shift events in time; it does blunt peaks slightly, which is why
    the cut-off stays at 12 Hz (Winter 2009 recommends 6-12 Hz for walking and running markers).
    """
    from scipy.signal import butter, filtfilt

    det = lm.detected
    fps = lm.fps
    image = lm.image.astype(np.float64).copy()
    world = lm.world.astype(np.float64).copy()
    # Fill short gaps.
    max_gap = int(round(MAX_GAP_S * fps))
    filled = det.copy()
    if det.any() and not det.all():
        idx = np.arange(lm.n_frames)
        edges = np.diff(np.concatenate([[1], det.astype(int), [1]]))
        starts, ends = np.nonzero(edges == -1)[0], np.nonzero(edges == 1)[0]
        for s, e in zip(starts, ends):
            if 0 < s and e < lm.n_frames and e - s <= max_gap:
                filled[s:e] = True
        good = det
        for arr in (image, world):
            flat = arr.reshape(lm.n_frames, -1)
            for c in range(flat.shape[1]):
                flat[filled & ~det, c] = np.interp(idx[filled & ~det], idx[good], flat[good, c])
    b, a = butter(2, smoothing_cutoff_hz(fps) / (fps / 2))
    window = despike_window(fps)
    spikes = 0
    edges = np.diff(np.concatenate([[0], filled.astype(int), [0]]))
    for s, e in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
        if e - s >= 12:
            image[s:e], n_spikes = despike(image[s:e], window)
            spikes += n_spikes
            image[s:e] = filtfilt(b, a, image[s:e], axis=0)
            world[s:e] = filtfilt(b, a, world[s:e], axis=0)
    log = {"step": "fill_and_smooth", "cutoff_hz": smoothing_cutoff_hz(fps), "despike_window_frames": window,
           "spikes_replaced": int(spikes), "filled_frames": int((filled & ~det).sum())}
    vis = np.where((filled & ~det)[:, None], 0.0, lm.visibility)  # interpolated points are not seen
    return lm.replace(image=image.astype(np.float32), world=world.astype(np.float32), visibility=vis,
                      attrs=_log(lm, log))


def leg_length_px(lm: Landmarks) -> np.ndarray:
    """(T,) the runner's leg length (hip to ankle along thigh and shank) in pixels, per frame.

    The larger of the two sides' thigh + shank, followed by a running 90th percentile over one
    second: in 2D a limb only ever looks shorter than it is, so the high values are the true ones.
    A running window follows a runner who approaches or leaves the camera.
    """
    from scipy.ndimage import percentile_filter

    sides = []
    for side in ("left", "right"):
        sides.append(np.linalg.norm(lm.xy(f"{side}_hip") - lm.xy(f"{side}_knee"), axis=1)
                     + np.linalg.norm(lm.xy(f"{side}_knee") - lm.xy(f"{side}_ankle"), axis=1))
    raw = np.fmax(sides[0], sides[1])
    if not np.isfinite(raw).any():
        return raw
    filled = np.where(np.isfinite(raw), raw, np.nanmedian(raw))
    window = max(int(round(lm.fps)), 3)
    return percentile_filter(filled, 90, size=window, mode="nearest")


#: A cut between shots: the frame's thumbnail differs from the previous one by at least this much
#: (mean absolute grey difference, 0..1) and by this many times the clip's median difference.
CUT_MIN_CHANGE = 0.08
CUT_CHANGE_RATIO = 6.0


def find_cuts(lm: Landmarks) -> np.ndarray:
    """Indices ``i`` (into the frame axis) where a new shot starts, from the ``scene_change`` frame
    signal recorded during pose estimation: a spike of at least :data:`CUT_MIN_CHANGE` that is
    :data:`CUT_CHANGE_RATIO` times the clip's median change (camera motion raises the median, so a
    panning shot is not cut). Landmarks without the signal (imported from elsewhere) give none."""
    change = lm.frame_signals.get("scene_change")
    if change is None or not np.isfinite(change).any():
        return np.zeros(0, dtype=int)
    base = float(np.nanmedian(change))
    with np.errstate(invalid="ignore"):
        cut = (change >= CUT_MIN_CHANGE) & (change >= CUT_CHANGE_RATIO * max(base, 1e-3))
    return np.nonzero(cut)[0].astype(int)
