"""The order of the stages, and the only place that knows it.

``analyze`` takes one or more videos of one session (or saved landmarks), runs every stage and
writes a results folder atomically (see :mod:`gaitlab.io.outdir`):

* one clip: the clip's results (:mod:`gaitlab.result`), ``run.json``, and the report
  (``report.html``, ``report.pdf``, ``<clip>_overlay.mp4``) side by side in the folder;
* several clips (for example a side and a rear view of the same run): one subfolder of results per
  clip, named after the clip, and one report for the session at the top, with ``run.json``.

``report`` re-renders the report of a results folder, optionally against an earlier session.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .analysis import analyze_landmarks
from .config import AnalysisConfig, RunnerInfo
from .errors import UsageError
from .io.outdir import RUN_RECORD, ResultsDir
from .landmarks import Landmarks
from .provenance import versions
from .result import FILES, AnalysisResult

#: In a session folder, the list of clip subfolders.
SESSION_FILE = "session.json"


def analyze_clip(video: str | None = None, *, landmarks: str | None = None, pose_config=None,
                 runner: RunnerInfo | None = None, config: AnalysisConfig | None = None,
                 progress=None, landmarks_fps: float | None = None) -> tuple[AnalysisResult, dict[str, float]]:
    """Pose (unless ``landmarks`` are given) and analysis of one clip, in memory.
    ``landmarks_fps``: frame rate of imported keypoints that record no time (OpenPose, AlphaPose).

    Returns the result and the time each stage took (seconds).
    """
    from .pose.estimate import PoseConfig

    timings: dict[str, float] = {}
    if landmarks:
        t = time.perf_counter()
        lm = Landmarks.load(landmarks, fps=landmarks_fps)
        timings["load_landmarks"] = time.perf_counter() - t
    else:
        from .io.video import probe
        from .pose.estimate import estimate_pose

        t = time.perf_counter()
        info = probe(video)
        timings["probe"] = time.perf_counter() - t
        t = time.perf_counter()
        lm = estimate_pose(video, pose_config or PoseConfig(), info=info, progress=progress)
        timings["pose"] = time.perf_counter() - t
    t = time.perf_counter()
    if progress is not None:
        progress(0, 1, "analysis")
    result = analyze_landmarks(lm, runner or RunnerInfo(), config or AnalysisConfig())
    if progress is not None:
        progress(1, 1, "analysis")
    timings["analysis"] = time.perf_counter() - t
    return result, timings


def _load_report_modules() -> None:
    import jinja2  # noqa: F401
    import matplotlib.pyplot  # noqa: F401

    from .report import keyframes, pdf, plots  # noqa: F401

    pdf.load()


def clip_name(result: AnalysisResult, fallback: str) -> str:
    return (result.landmarks.attrs.get("video") or {}).get("name") or fallback


def _run_record(results, names, landmarks_files, runner, config, timings, outputs) -> dict:
    clips = []
    for res, name, lm_file in zip(results, names, landmarks_files):
        a = res.landmarks.attrs
        clips.append({"name": name, "video": a.get("video"), "landmarks_file": lm_file, "view": res.view,
                      "subject": a.get("subject"), "frames_decoded": a.get("frames_decoded"),
                      "detected_fraction": a.get("detected_fraction"), "timestamps": a.get("timestamps")})
    first = results[0].landmarks.attrs
    return {
        "gaitlab_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "inputs": {"video": first.get("video"), "landmarks_file": landmarks_files[0]} if len(clips) == 1 else None,
        "clips": clips,
        "model": first.get("model"),
        "pose_config": first.get("pose_config"),
        "subject": first.get("subject"),
        "frames_decoded": first.get("frames_decoded"),
        "detected_fraction": first.get("detected_fraction"),
        "timestamps": first.get("timestamps"),
        "view": results[0].view,
        "runner": runner.to_dict(),
        "analysis_config": config.to_dict(),
        "versions": versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "outputs": outputs,
    }


def analyze(videos, out: str | Path, *, pose_config=None, landmarks=None, runner: RunnerInfo | None = None,
            config: AnalysisConfig | None = None, overwrite: bool = False, progress=None, report: bool = True,
            overlay: bool = False, compare: str | Path | None = None, landmarks_fps: float | None = None) -> Path:
    """Analyse the clips of one session into the folder ``out``; returns the folder.

    ``videos``: a path or a list of paths (or None with ``landmarks``, one file or a list, saved by
    earlier runs: pose estimation is then skipped). ``compare``: the results folder of an earlier
    session of the same runner, whose values the report sets beside today's. ``landmarks_fps``:
    frame rate of imported keypoints that record no time (OpenPose folders, AlphaPose files).
    """
    videos = [videos] if isinstance(videos, (str, Path)) else list(videos or [])
    landmarks = [landmarks] if isinstance(landmarks, (str, Path)) else list(landmarks or [])
    if not videos and not landmarks:
        raise UsageError("give a VIDEO, or --landmarks FILE from an earlier run")
    runner = runner or RunnerInfo()
    config = config or AnalysisConfig()
    inputs = [(str(v), None) for v in videos] + [(None, str(f)) for f in landmarks]
    protect = [p for pair in inputs for p in pair if p] + ([str(compare)] if compare else [])
    results_dir = ResultsDir(out, overwrite=overwrite, protect=protect)
    results_dir.check()  # fail fast, before minutes of pose estimation
    earlier, _, earlier_record = load_session(compare) if compare else (None, None, None)
    started = time.perf_counter()
    if report and videos:
        # The report's libraries load while the pose stage runs instead of after it.
        threading.Thread(target=_load_report_modules, name="gaitlab-report-imports", daemon=True).start()
    timings: dict[str, float] = {}
    results, names = [], []
    for video, lm_file in inputs:
        label = Path(video or lm_file).name
        res, t = analyze_clip(video, landmarks=lm_file, pose_config=pose_config, runner=runner, config=config,
                              progress=_named(progress, label), landmarks_fps=landmarks_fps)
        results.append(res)
        names.append(clip_name(res, label))
        for k, v in t.items():
            timings[k] = timings.get(k, 0.0) + v
    names = unique_names(names)
    folders = _clip_folders(names)
    with results_dir as tmp:
        t = time.perf_counter()
        for res, sub in zip(results, folders):
            res.save(tmp / sub if sub else tmp)
        if len(results) > 1:
            (tmp / SESSION_FILE).write_text(json.dumps({"clips": folders, "names": names}, indent=2))
        timings["write"] = time.perf_counter() - t
        if report:
            from .report import write_report

            t = time.perf_counter()
            write_report(results, names, tmp, runner=runner.to_dict(), earlier=earlier, earlier_record=earlier_record,
                         videos=[v for v, _ in inputs], overlay=overlay, progress=progress)
            timings["report"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        outputs = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()) + [RUN_RECORD]
        record = _run_record(results, names, [f for _, f in inputs], runner, config, timings, outputs)
        (tmp / RUN_RECORD).write_text(json.dumps(record, indent=2))
        return results_dir.commit()


def _named(progress, clip: str):
    """The progress callback with each stage label naming the clip ('pose side.mp4')."""
    if progress is None:
        return None
    return lambda done, total, stage: progress(done, total, f"{stage} {clip}")


def unique_names(names: list[str]) -> list[str]:
    """Clip names as given, except that a name met before gets ``_2``, ``_3``... before its
    suffix (``run.mp4``, ``run_2.mp4``), so two clips of the same file name in one session keep
    their own rows in the report and their own overlay video."""
    out: list[str] = []
    for name in names:
        stem, suffix = Path(name).stem or "clip", Path(name).suffix
        candidate, k = name, 1
        while candidate in out:
            k += 1
            candidate = f"{stem}_{k}{suffix}"
        out.append(candidate)
    return out


def _clip_folders(names: list[str]) -> list[str]:
    """Subfolder per clip ('' for a single clip), unique even when two clips share a name."""
    if len(names) == 1:
        return [""]
    out = []
    for name in names:
        stem, k = Path(name).stem or "clip", 1
        candidate = stem
        while candidate in out:
            k += 1
            candidate = f"{stem}_{k}"
        out.append(candidate)
    return out


def load_session(folder: str | Path) -> tuple[list[AnalysisResult], list[str], dict]:
    """The clips' results, their names and the run record of a results folder written by ``analyze``.

    Raises :class:`~gaitlab.errors.LandmarksFileError` (one line) for a folder that is missing, not
    gaitlab's, or holds a file that is damaged or was changed after gaitlab wrote it (checked
    against the folder's manifest, where it has one)."""
    from .errors import LandmarksFileError
    from .io.files import kind_of, read_json, stat_path
    from .io.outdir import MANIFEST, file_sha256, read_manifest

    folder = Path(folder)
    st = stat_path(folder, LandmarksFileError, "results folder")
    if st is None:
        raise LandmarksFileError(f"results folder not found: {folder}")
    if kind_of(st) != "folder":
        raise LandmarksFileError(f"{folder} is a {kind_of(st)}, not a gaitlab results folder")
    manifest = read_manifest(folder)
    if manifest is not None:
        for rel, entry in manifest.items():
            p = folder / rel
            try:
                same = p.stat().st_size == entry["bytes"] and file_sha256(p) == entry["sha256"]
            except OSError:
                same = False
            if not same:
                raise LandmarksFileError(f"{p} is missing or was changed after gaitlab wrote it (see {MANIFEST})",
                                         "analyse the clip again for a complete results folder")
    record = {}
    if (folder / RUN_RECORD).exists():
        record = read_json(folder / RUN_RECORD, LandmarksFileError, "gaitlab run record")
        if not isinstance(record, dict):
            raise LandmarksFileError(f"{folder / RUN_RECORD} is not a gaitlab run record")
    if (folder / SESSION_FILE).exists():
        session = read_json(folder / SESSION_FILE, LandmarksFileError, "gaitlab session")
        subs, names = _check_session(session, folder / SESSION_FILE)
    elif (folder / FILES["result"]).exists():
        subs, names = [""], [clip_name_from_record(record, folder)]
    else:
        raise LandmarksFileError(f"{folder} is not a gaitlab results folder (no {FILES['result']} or {SESSION_FILE})")
    results = [AnalysisResult.load(folder / s if s else folder) for s in subs]
    return results, names, record


#: Most clips in one session.
MAX_SESSION_CLIPS = 100


def _check_session(session, path: Path) -> tuple[list[str], list[str]]:
    from .errors import LandmarksFileError

    ok = isinstance(session, dict) and isinstance(session.get("clips"), list) and isinstance(session.get("names"), list)
    subs, names = (session["clips"], session["names"]) if ok else ([], [])
    ok = ok and 0 < len(subs) == len(names) <= MAX_SESSION_CLIPS and all(isinstance(n, str) and n for n in names) \
        and all(isinstance(s, str) and s and "/" not in s and "\\" not in s and s not in (".", "..") for s in subs) \
        and len(set(subs)) == len(subs) and len(set(names)) == len(names)
    if not ok:
        raise LandmarksFileError(f"{path} is not a gaitlab session file (a list of clip subfolders and their names)")
    return subs, names


def clip_name_from_record(record: dict, folder: Path) -> str:
    clips = record.get("clips")
    first = clips[0] if isinstance(clips, list) and clips and isinstance(clips[0], dict) else {}
    return first.get("name") if isinstance(first.get("name"), str) and first.get("name") else folder.name


def _recorded_videos(record: dict, n: int) -> list | None:
    """The video path of each clip as recorded in ``run.json`` (None where there is none)."""
    clips = record.get("clips")
    if not isinstance(clips, list) or len(clips) != n:
        return None
    out = []
    for c in clips:
        video = c.get("video") if isinstance(c, dict) else None
        path = video.get("path") if isinstance(video, dict) else None
        out.append(path if isinstance(path, str) and path else None)
    return out


def report(folder: str | Path, *, compare: str | Path | None = None, overlay: bool = False,
           runner: RunnerInfo | None = None, runner_changes: dict | None = None, progress=None) -> list[Path]:
    """Re-render the report of a results folder (written next to its results), optionally set
    against an earlier session; returns the files written. Runner details default to the ones
    recorded when the folder was analysed; ``runner_changes`` (the options of
    :func:`gaitlab.clinic.runner_info`, None where not given) replace them field by field.

    The report's files are replaced only where gaitlab wrote them (listed in the folder's
    manifest, unchanged); they are written complete under temporary names first, and the
    manifest is updated with them."""
    from .errors import LandmarksFileError, OutputError
    from .io.outdir import describe, read_manifest, update_manifest
    from .report import HTML_NAME, PDF_NAME, write_report

    results, names, record = load_session(folder)
    earlier, _, earlier_record = load_session(compare) if compare else (None, None, None)
    folder = Path(folder)
    if runner is not None:
        details = runner.to_dict()
    else:
        recorded = record.get("runner")
        recorded = results[0].runner if recorded in (None, {}) else recorded
        try:
            details = RunnerInfo.from_dict(recorded).to_dict()
        except (TypeError, ValueError, AttributeError):
            raise LandmarksFileError(f"{folder / RUN_RECORD} is not a gaitlab run record (its runner details are "
                                     "not what gaitlab writes)") from None
    if runner_changes and any(v is not None for v in runner_changes.values()):
        from .clinic import runner_info

        given = {k: v for k, v in runner_info(**runner_changes).to_dict().items() if v is not None}
        try:
            details = RunnerInfo.from_dict({**details, **given}).to_dict()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    videos = _recorded_videos(record, len(results))
    manifest = read_manifest(folder)
    listed = set(manifest or ()) | set(o for o in (record.get("outputs") or []) if isinstance(o, str))
    for name in [HTML_NAME, PDF_NAME] + [f"{Path(n).stem}_overlay.mp4" for n in names]:
        if (folder / name).exists() and name not in listed:
            raise OutputError(f"{folder / name} was not written by gaitlab; not replacing it",
                              "move it out of the folder first")
    try:
        written = write_report(results, names, folder, runner=details, earlier=earlier, earlier_record=earlier_record,
                               videos=videos, overlay=overlay, progress=progress)
        update_manifest(folder, written.values())
    except OSError as exc:
        raise OutputError(f"cannot write the report to {folder}: {describe(exc)}") from None
    return list(written.values())
