"""The order of the stages, and the only place that knows it.

``analyze`` takes a video (or saved landmarks), runs every stage and writes a results folder
atomically (see :mod:`gaitlab.io.outdir`).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .analysis import analyze_landmarks
from .config import AnalysisConfig, RunnerInfo
from .io.outdir import RUN_RECORD, ResultsDir
from .landmarks import Landmarks
from .provenance import versions


def analyze(video: str | None, out: str | Path, *, pose_config=None, landmarks: str | None = None,
            runner: RunnerInfo | None = None, config: AnalysisConfig | None = None,
            overwrite: bool = False, progress=None) -> Path:
    """Analyse one video into the folder ``out``; returns the folder.

    With ``landmarks`` (a file saved by an earlier run) pose estimation is skipped.
    """
    from .pose.estimate import PoseConfig

    pose_config = pose_config or PoseConfig()
    runner = runner or RunnerInfo()
    config = config or AnalysisConfig()
    protect = [p for p in (video, landmarks) if p]
    results = ResultsDir(out, overwrite=overwrite, protect=protect)
    results.check()  # fail fast, before minutes of pose estimation
    timings: dict[str, float] = {}
    started = time.perf_counter()

    if landmarks:
        t = time.perf_counter()
        lm = Landmarks.load(landmarks)
        timings["load_landmarks"] = time.perf_counter() - t
    else:
        from .io.video import probe
        from .pose.estimate import estimate_pose

        t = time.perf_counter()
        info = probe(video)
        timings["probe"] = time.perf_counter() - t
        t = time.perf_counter()
        lm = estimate_pose(video, pose_config, info=info, progress=progress)
        timings["pose"] = time.perf_counter() - t

    t = time.perf_counter()
    result = analyze_landmarks(lm, runner, config)
    timings["analysis"] = time.perf_counter() - t

    with results as tmp:
        t = time.perf_counter()
        result.save(tmp)
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        record = {
            "gaitlab_version": __version__,
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv,
            "inputs": {"video": lm.attrs.get("video"), "landmarks_file": landmarks},
            "model": lm.attrs.get("model"),
            "pose_config": lm.attrs.get("pose_config"),
            "subject": lm.attrs.get("subject"),
            "frames_decoded": lm.attrs.get("frames_decoded"),
            "detected_fraction": lm.attrs.get("detected_fraction"),
            "timestamps": lm.attrs.get("timestamps"),
            "view": result.view,
            "runner": runner.to_dict(),
            "analysis_config": config.to_dict(),
            "versions": versions(),
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            "outputs": sorted(p.name for p in tmp.iterdir()) + [RUN_RECORD],
        }
        (tmp / RUN_RECORD).write_text(json.dumps(record, indent=2))
        return results.commit()
