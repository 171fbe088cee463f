"""``gaitlab validate``: the whole pipeline on every clip of one or more truth sets, and the error tables.

Each clip runs in its own process (one per core by default), tracked in :data:`POSE_CHUNKS`
stretches whatever the machine's cores, so its landmarks are the same on any machine (the test
suite poses clips the same way); the runner's stature is given as a clinician would give it. Landmarks are cached by the video's content and the pose
stage's code (``--cache``), so re-validating an analysis change does not re-run the pose model.

Outputs, in the output folder:

============================  =====================================================================
``clips.csv``                 one row per clip: set, view, frame rate, whether it was refused and why
``sides.csv``                 per clip, metric and side: the printed value against the truth
                              (:func:`gaitlab.validation.compare.compare_sides`), and the cadence
                              of the clip cut short (:func:`~.compare.compare_short_clips`)
``steps.csv``                 per clip, true step and metric (:func:`~.compare.compare_steps`)
``events.csv``                per clip and true event (:func:`~.compare.match_events`)
``metrics.csv``, ``.md``      per metric, view, side role and frame rate: clips, steps, bias,
                              median and 95th-percentile absolute error, gain against truth, withheld
``event_timing.csv``, ``.md`` per event, view, side role and frame rate: timing error in ms and
                              frames, within one frame, missed, extra, swapped
``refusals.csv``              the clips gaitlab refused, with the reason
``validation.md``             all tables, with provenance (commit, date, sets, clip counts)
============================  =====================================================================
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..accuracy import fps_band
from .compare import TIMING_EVENT, compare_short_clips, compare_sides, compare_steps, match_events
from .truth import EVENTS, ClipTruth, find_truths, load_clip_truth

PACKAGE = Path(__file__).resolve().parents[1]
#: Stretches each clip is tracked in (``PoseConfig.chunks``), fixed so landmarks do not depend on the machine.
POSE_CHUNKS = 2
#: Code whose change changes the landmarks (pose pass and the pixel measurements taken during it).
POSE_CODE = ("pose", "image", "io/video.py", "landmarks.py", "schema.py")


def code_fingerprint(parts=POSE_CODE) -> str:
    """sha256 (16 hex) of gaitlab's source files under ``parts`` (folders or files)."""
    h = hashlib.sha256(f"chunks={POSE_CHUNKS}".encode())
    for part in parts:
        p = PACKAGE / part
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(f.relative_to(PACKAGE).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def clip_landmarks(video: Path, cache: Path | None, fingerprint: str):
    """Landmarks of ``video`` (pose stage in one stretch), from the cache when it has them."""
    from ..landmarks import Landmarks
    from ..pose.estimate import PoseConfig, estimate_pose

    cached = None
    if cache is not None:
        cached = cache / f"{_file_sha(video)[:20]}-{fingerprint}.parquet"
        if cached.is_file():
            return Landmarks.load(cached), True
    lm = estimate_pose(str(video), PoseConfig(chunks=POSE_CHUNKS))
    if cached is not None:
        cache.mkdir(parents=True, exist_ok=True)
        lm.save(cached)
    return lm, False


def validate_clip(truth_file: str, cache: str | None, fingerprint: str, landmarks=None) -> dict:
    """Everything about one clip: its row, and its events, steps and sides tables. ``landmarks``:
    optional callable giving a video's landmarks (instead of the pose stage and the cache)."""
    from ..analysis import analyze_landmarks
    from ..config import RunnerInfo
    from ..errors import GaitlabError

    truth = load_clip_truth(truth_file)
    row = {"clip": truth.name, "source": truth.source, "view": truth.view, "near_side": truth.near_side,
           "fps": truth.fps, "n_frames": truth.n_frames, "cadence_true": truth.cadence_spm,
           **{f"cond_{k}": (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in truth.conditions.items()}}
    empty = {"events": pd.DataFrame(), "steps": pd.DataFrame(), "sides": pd.DataFrame()}
    started = time.perf_counter()
    try:
        if landmarks is not None:
            lm, from_cache = landmarks(truth.video), True
        else:
            lm, from_cache = clip_landmarks(truth.video, Path(cache) if cache else None, fingerprint)
        row["pose_cached"] = from_cache
        row["detected_fraction"] = round(float(lm.detected.mean()), 4)
        result = analyze_landmarks(lm, RunnerInfo(height_m=truth.height_m))
    except GaitlabError as exc:
        row.update(refused=True, reason=exc.one_line(),
                   seconds=round(time.perf_counter() - started, 2))
        return {"clip": row, **empty}
    row.update(refused=False, reason="", view_found=result.view.get("kind"), seconds=round(time.perf_counter() - started, 2),
               detected_fraction=round(float(lm.detected.mean()), 4),
               n_steps=int(len(result.steps)), n_valid_steps=int(result.steps.valid.sum()),
               cadence=float(result.cadence.get("both", np.nan)),
               cadence_counted=float(result.quality["cadence_check"]["counted_spm"]),
               cadence_rhythm=float(result.quality["cadence_check"]["rhythm_spm"]))
    events = pd.concat([match_events(truth, result.events, e) for e in EVENTS], ignore_index=True)
    sides = compare_sides(truth, result)
    short = compare_short_clips(truth, result, lambda cut: analyze_landmarks(cut, RunnerInfo(height_m=truth.height_m)))
    if len(short):
        sides = pd.concat([sides, short], ignore_index=True)
    return {"clip": row, "events": events, "steps": compare_steps(truth, result, truth.view), "sides": sides}


def _stats(err: np.ndarray, clips: np.ndarray | None = None) -> dict:
    a = np.abs(err)
    lo, hi = p95_interval(a, clips if clips is not None else np.arange(a.size))
    return {"bias": float(np.mean(err)), "median_abs": float(np.median(a)), "p95_abs": float(np.percentile(a, 95)),
            "p95_lo": lo, "p95_hi": hi, "max_abs": float(np.max(a))}


#: Resamples and coverage of :func:`p95_interval`.
BOOTSTRAP_RESAMPLES = 1000
P95_INTERVAL = (5.0, 95.0)


def p95_interval(abs_err: np.ndarray, clips: np.ndarray) -> tuple[float, float]:
    """How far the 95th percentile of ``abs_err`` could move with other clips of the same kind: the
    5th and 95th percentiles of it over :data:`BOOTSTRAP_RESAMPLES` resamples of the clips (with
    replacement, a clip's rows together; seeded, so a run repeats). With 36 clips the 95th
    percentile is about the second largest error, and one clip more or less passing a check moves
    it: this says by how much."""
    ids, row_clip = np.unique(np.asarray(clips).astype(str), return_inverse=True)
    if ids.size < 2:
        return float("nan"), float("nan")
    order = np.argsort(abs_err, kind="stable")
    values, row_clip = abs_err[order], row_clip[order]
    rng = np.random.default_rng(0)
    # Each resample's clip counts, from one bincount over draws offset by resample.
    draws = rng.integers(0, ids.size, (BOOTSTRAP_RESAMPLES, ids.size))
    draws += ids.size * np.arange(BOOTSTRAP_RESAMPLES)[:, None]
    counts = np.bincount(draws.ravel(), minlength=draws.size).reshape(BOOTSTRAP_RESAMPLES, ids.size)
    weights = np.cumsum(counts[:, row_clip], axis=1)  # (resamples, rows), rows sorted by error
    at = np.argmax(weights >= 0.95 * weights[:, -1:], axis=1)
    lo, hi = np.percentile(values[at], P95_INTERVAL)
    return float(lo), float(hi)


def _gain(measured: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of measured on truth, and r; NaN when the truth hardly varies."""
    if truth.size < 3 or np.std(truth) < 1e-6:
        return float("nan"), float("nan")
    slope = float(np.polyfit(truth, measured, 1)[0])
    r = float(np.corrcoef(truth, measured)[0, 1]) if np.std(measured) > 0 else float("nan")
    return slope, r


#: A gain is reported only when the truth spans at least this much (in the metric's unit) over the group.
MIN_TRUTH_SPAN = {"cadence_spm": 10.0, "overstride_cm": 8.0, "shank_angle_deg": 5.0, "knee_flexion_ic_deg": 6.0,
                  "peak_knee_flexion_deg": 6.0, "pelvic_drop_deg": 4.0, "pelvic_drop_peak_deg": 4.0,
                  "knee_fppa_deg": 4.0, "hip_adduction_deg": 4.0, "contact_time_s": 0.04, "foot_angle_ic_deg": 8.0,
                  "trunk_lean_deg": 5.0, "vertical_oscillation_cm": 3.0}


#: From behind or in front the left and right sides are measured the same way, so their errors are
#: one population: besides each side's own figure, a figure for the two pooled (role ``sides``),
#: the one gaitlab judges a side's value by (:func:`gaitlab.accuracy.figure`).
FRONTAL_VIEWS = ("rear", "front")
POOLED_SIDES = "sides"


def judged_role(view: str, role: str) -> str:
    """The side role whose figure judges a value of ``role`` in ``view``: the pooled sides for left
    or right from behind or in front, the role itself elsewhere."""
    return POOLED_SIDES if view in FRONTAL_VIEWS and role in ("left", "right") else role


def metric_table(sides: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    """Per metric, kind, view, side role and frame-rate band (and over all bands): the printed values'
    errors; in frontal views also both sides pooled (:data:`POOLED_SIDES`). ``n_measured`` counts
    clip sides, ``n_clips_measured`` the clips among them."""
    if sides.empty:
        return pd.DataFrame()
    df = sides.merge(clips[["clip", "set", "view", "fps"]], on="clip")
    df["fps_band"] = df.fps.map(fps_band)
    frontal = df.view.isin(FRONTAL_VIEWS) & df.role.isin(["left", "right"])
    df = pd.concat([df, df[frontal].assign(role=POOLED_SIDES)], ignore_index=True)
    rows = []
    for keys, g in df.groupby(["metric", "kind", "view", "role"]):
        for band, gb in [("all", g), *g.groupby("fps_band")]:
            # Every clip where the value was measured counts, printed or not, so a withheld measure's accuracy is known.
            measured = gb[np.isfinite(gb.error.astype(float))]
            row = dict(zip(["metric", "kind", "view", "role"], keys), fps_band=band, n_clips=int(gb["clip"].nunique()),
                       n_measured=int(len(measured)), n_clips_measured=int(measured["clip"].nunique()),
                       n_printed=int(gb.shown.sum()), n_steps=int(measured.n_steps.sum()))
            if len(measured):
                row.update(_stats(measured.error.to_numpy(float), measured["clip"].to_numpy()))
                span = float(np.ptp(measured.truth))
                if span >= MIN_TRUTH_SPAN.get(keys[0], np.inf) and keys[1] == "value":
                    row["gain"], row["r"] = _gain(measured.measured.to_numpy(float), measured.truth.to_numpy(float))
            rows.append(row)
    cols = ["metric", "kind", "view", "role", "fps_band", "n_clips", "n_measured", "n_clips_measured", "n_printed",
            "n_steps", "bias",
            "median_abs", "p95_abs", "p95_lo", "p95_hi", "max_abs", "gain", "r"]
    return pd.DataFrame(rows).reindex(columns=cols)


def event_table(events: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    """Per event, view, side role and frame-rate band: timing errors and counts."""
    if events.empty:
        return pd.DataFrame()
    df = events.merge(clips[["clip", "view", "fps", "source"]], on="clip")
    df["fps_band"] = df.fps.map(fps_band)
    rows = []
    for keys, g in df.groupby(["event", "view", "role"]):
        for band, gb in [("all", g), *g.groupby("fps_band")]:
            m = gb[gb.status == "matched"]
            n_true = int((gb.status != "extra").sum())
            row = dict(zip(["event", "view", "role"], keys), fps_band=band, n_clips=int(gb["clip"].nunique()),
                       n_true=n_true, matched=int(len(m)), missed=int((gb.status == "missed").sum()),
                       swapped=int((gb.status == "swapped").sum()), extra=int((gb.status == "extra").sum()))
            if len(m):
                ms = m.error_ms.to_numpy(float)
                fr = m.error_frames.to_numpy(float)
                row.update(bias_ms=float(np.mean(ms)), median_abs_ms=float(np.median(np.abs(ms))),
                           p95_abs_ms=float(np.percentile(np.abs(ms), 95)), bias_frames=float(np.mean(fr)),
                           within_1_frame=float(np.mean(np.abs(fr) <= 1.0)),
                           median_abs_frames=float(np.median(np.abs(fr))))
            rows.append(row)
    cols = ["event", "view", "role", "fps_band", "n_clips", "n_true", "matched", "missed", "swapped", "extra",
            "bias_ms", "median_abs_ms", "p95_abs_ms", "bias_frames", "median_abs_frames", "within_1_frame"]
    return pd.DataFrame(rows).reindex(columns=cols)


def by_set(table, rows: pd.DataFrame, clips: pd.DataFrame) -> pd.DataFrame:
    """``table`` (:func:`metric_table` or :func:`event_table`) of each truth set on its own, with a
    ``set`` column first: a figure that holds pooled but not on one set (another renderer, real
    clips) shows there."""
    if rows.empty:
        return pd.DataFrame()
    parts = []
    for name, c in clips.groupby("set"):
        t = table(rows[rows["clip"].isin(c["clip"])], c)
        if not t.empty:
            parts.append(t.assign(set=name))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["set", *[c for c in out.columns if c != "set"]]]


def _markdown(df: pd.DataFrame, digits: int = 2) -> str:
    if df.empty:
        return "(none)\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                cells.append("" if not np.isfinite(v) else f"{v:.{digits}f}".replace("-0.00", "0.00"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _all_rates(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.fps_band == "all"].drop(columns="fps_band") if not df.empty else df


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(PACKAGE.parent), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(PACKAGE.parent), "status", "--porcelain", "--untracked-files=no", "gaitlab"],
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def validate(truth_sets, out: str | Path, *, workers: int | None = None, cache: str | Path | None = None,
             progress=None, landmarks=None) -> dict[str, pd.DataFrame]:
    """Run every clip of the truth sets (folders or truth files) and write the tables into ``out``.

    Returns the tables by name (``clips``, ``sides``, ``steps``, ``events``, ``metrics``,
    ``event_timing``, the last two per truth set as ``metrics_by_set`` and ``event_timing_by_set``,
    ``refusals``) and the ``provenance``. ``progress(done, total, clip)`` is called after each clip.
    ``landmarks``: a callable giving a video's landmarks, to use instead of the pose stage (clips
    then run in this process, one after the other).
    """
    sets = [Path(s) for s in truth_sets]
    files = []
    for s in sets:
        files += [(s.name if s.is_dir() else s.parent.name, f) for f in find_truths([s])]
    if not files:
        raise FileNotFoundError("no truth files found in " + ", ".join(map(str, sets)))
    for _, f in files:
        t: ClipTruth = load_clip_truth(f)
        if not t.video.is_file():
            raise FileNotFoundError(f"the video of {f.name} is missing: {t.video}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = code_fingerprint()
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    started = time.perf_counter()
    collected = {"clips": [], "events": [], "steps": [], "sides": []}
    # Longest clips first keeps every worker busy to the end.
    order = sorted(files, key=lambda sf: -Path(sf[1]).stat().st_size)
    if landmarks is not None:
        workers = 1
        done = ((sf, validate_clip(str(sf[1]), None, fingerprint, landmarks)) for sf in order)
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        futures = {pool.submit(validate_clip, str(f), str(cache) if cache else None, fingerprint): (set_name, f)
                   for set_name, f in order}
        done = ((futures[fut], fut.result()) for fut in as_completed(futures))
    try:
        for k, ((set_name, f), res) in enumerate(done, 1):
            res["clip"]["set"] = set_name
            collected["clips"].append(res["clip"])
            for name in ("events", "steps", "sides"):
                if len(res[name]):
                    collected[name].append(res[name].assign(clip=res["clip"]["clip"], set=set_name))
            if progress is not None:
                progress(k, len(files), res["clip"]["clip"])
    finally:
        if landmarks is None:
            pool.shutdown(cancel_futures=True)
    tables = {"clips": pd.DataFrame(collected["clips"]).sort_values(["set", "clip"]).reset_index(drop=True)}
    for name in ("events", "steps", "sides"):
        tables[name] = pd.concat(collected[name], ignore_index=True) if collected[name] else pd.DataFrame()
    tables["metrics"] = metric_table(tables["sides"], tables["clips"])
    tables["event_timing"] = event_table(tables["events"], tables["clips"])
    tables["metrics_by_set"] = by_set(metric_table, tables["sides"], tables["clips"])
    tables["event_timing_by_set"] = by_set(event_table, tables["events"], tables["clips"])
    tables["refusals"] = tables["clips"].loc[tables["clips"].refused, ["set", "clip", "view", "fps", "reason"]]
    provenance = {"gaitlab_version": __version__, "commit": git_commit(),
                  "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "sets": {s: int((tables["clips"].set == s).sum()) for s in tables["clips"].set.unique()},
                  "clips": int(len(tables["clips"])), "refused": int(tables["clips"].refused.sum()),
                  "pose_code": fingerprint, "workers": workers,
                  "seconds": round(time.perf_counter() - started, 1)}
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2))
    md = [f"# gaitlab validate\n\n```\n{json.dumps(provenance, indent=2)}\n```\n",
          "## Printed values against truth (per clip and side)\n\n" + _markdown(tables["metrics"]),
          "## Event timing\n\n" + _markdown(tables["event_timing"]),
          "## Printed values against truth, per truth set (all frame rates)\n\n"
          + _markdown(_all_rates(tables["metrics_by_set"])),
          "## Event timing, per truth set (all frame rates)\n\n" + _markdown(_all_rates(tables["event_timing_by_set"])),
          "## Refused clips\n\n" + _markdown(tables["refusals"])]
    (out / "metrics.md").write_text(_markdown(tables["metrics"]))
    (out / "event_timing.md").write_text(_markdown(tables["event_timing"]))
    (out / "validation.md").write_text("\n".join(md))
    tables["provenance"] = provenance
    return tables
