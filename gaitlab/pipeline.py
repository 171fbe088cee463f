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
    """The clips' results, their names and the run record of a results folder written by ``analyze``."""
    from .errors import LandmarksFileError

    folder = Path(folder)
    try:
        record = json.loads((folder / RUN_RECORD).read_text())
    except (OSError, ValueError):
        record = {}
    if (folder / SESSION_FILE).is_file():
        session = json.loads((folder / SESSION_FILE).read_text())
        subs, names = session["clips"], session["names"]
    elif (folder / FILES["result"]).is_file():
        subs, names = [""], [clip_name_from_record(record, folder)]
    else:
        raise LandmarksFileError(f"{folder} is not a gaitlab results folder (no {FILES['result']} or {SESSION_FILE})")
    results = [AnalysisResult.load(folder / s if s else folder) for s in subs]
    return results, names, record


def clip_name_from_record(record: dict, folder: Path) -> str:
    clips = record.get("clips") or []
    return clips[0]["name"] if clips else folder.name


def report(folder: str | Path, *, compare: str | Path | None = None, overlay: bool = False,
           runner: RunnerInfo | None = None, runner_changes: dict | None = None, progress=None) -> list[Path]:
    """Re-render the report of a results folder (written next to its results), optionally set
    against an earlier session; returns the files written. Runner details default to the ones
    recorded when the folder was analysed; ``runner_changes`` (the options of
    :func:`gaitlab.clinic.runner_info`, None where not given) replace them field by field."""
    from dataclasses import fields

    from .report import write_report

    results, names, record = load_session(folder)
    earlier, _, earlier_record = load_session(compare) if compare else (None, None, None)
    details = runner.to_dict() if runner else dict(record.get("runner") or results[0].runner or {})
    if runner_changes and any(v is not None for v in runner_changes.values()):
        from .clinic import runner_info

        given = {k: v for k, v in runner_info(**runner_changes).to_dict().items() if v is not None}
        known = {f.name for f in fields(RunnerInfo)}
        try:
            details = RunnerInfo.from_dict({**{k: v for k, v in details.items() if k in known}, **given}).to_dict()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    videos = [(c.get("video") or {}).get("path") for c in record.get("clips", [])] or None
    written = write_report(results, names, folder, runner=details, earlier=earlier, earlier_record=earlier_record,
                           videos=videos, overlay=overlay, progress=progress)
    return list(written.values())
