"""Many clips at once: one process per core, resumable, failures listed instead of stopping, one
combined table across clips; and the same on a Dask cluster when one machine is not enough.

Layout of a batch folder::

    OUT/clips/<clip stem>_<sha256[:10]>/   one results folder per clip (as ``gaitlab analyze`` writes)
    OUT/clips/<...>/failed.json            instead, for a clip that could not be analysed: the reason
    OUT/summary_all.csv, .parquet          every clip's summary rows, with ``clip`` and ``sha256`` columns
    OUT/steps_all.parquet                  every clip's steps
    OUT/failures.csv                       clip, sha256, exit code, one-line reason
    OUT/batch.json                         what ran: inputs, settings, timings, counts

A clip is identified by its content hash, so renamed or copied files are not analysed twice, and a
batch that was interrupted (Ctrl-C, a killed job, a lost node) resumes where it stopped: clips with
a complete results folder (``run.json`` is written last, atomically) or a recorded failure are
skipped; ``retry_failed`` tries the failures again.
"""

from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .errors import GaitlabError, UsageError
from .io.video import file_sha256, probe

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")
CLIPS_DIR = "clips"
FAILED_FILE = "failed.json"
#: Decoding one frame of a megapixel, in BlazePose runs (about 4 ms for a 2 Mpx 1080p frame
#: against 18 ms for the model, measured on one core).
DECODE_COST_PER_MEGAPIXEL = 0.1


@dataclass(frozen=True)
class BatchJob:
    video: str
    sha256: str
    folder: str     # results folder of this clip
    report: bool
    height_m: float | None = None
    capture_fps: float | None = None
    model: str | None = None
    #: Stretches of the clip tracked at once (see :class:`gaitlab.pose.estimate.PoseConfig`).
    pose_chunks: int = 1


def find_videos(pattern: str) -> list[Path]:
    """Videos in a folder (recursively) or matching a glob pattern, sorted."""
    p = Path(pattern)
    if p.is_dir():
        found = [q for q in p.rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES and q.is_file()]
    else:
        found = [Path(q) for q in glob.glob(pattern, recursive=True)
                 if Path(q).suffix.lower() in VIDEO_SUFFIXES and Path(q).is_file()]
    if not found:
        raise UsageError(f"no videos found in {pattern}", f"gaitlab batch reads {', '.join(VIDEO_SUFFIXES)} files")
    return sorted(found)


def clip_folder(out: Path, video: Path, sha: str) -> Path:
    return out / CLIPS_DIR / f"{video.stem}_{sha[:10]}"


def work_estimate(video: str | os.PathLike) -> float:
    """Relative cost of analysing a clip, in BlazePose runs: one per frame, plus decoding, which
    grows with the frame size. 0 for a file that does not probe as a video (it fails fast)."""
    try:
        info = probe(video, with_hash=False)
    except GaitlabError:
        return 0.0
    return info.frame_count * (1.0 + DECODE_COST_PER_MEGAPIXEL * info.width * info.height / 1e6)


def run_job(job: BatchJob) -> dict:
    """Analyse one clip into its folder; never raises for a problem with the clip (the reason is
    returned and written to ``failed.json``). Runs in a worker process or on a cluster node."""
    from .config import AnalysisConfig, RunnerInfo
    from .pipeline import analyze
    from .pose.estimate import PoseConfig

    started = time.perf_counter()
    folder = Path(job.folder)
    row = {"clip": Path(job.video).name, "sha256": job.sha256, "folder": str(folder)}
    try:
        analyze(job.video, folder, pose_config=PoseConfig(model=job.model, chunks=job.pose_chunks),
                runner=RunnerInfo(height_m=job.height_m), config=AnalysisConfig(capture_fps=job.capture_fps),
                overwrite=True, report=job.report)
        row.update(status="done", exit_code=0, reason="")
    except GaitlabError as exc:
        row.update(status="failed", exit_code=exc.exit_code, reason=exc.one_line())
    except Exception as exc:  # a bug: recorded for this clip, the batch goes on
        row.update(status="failed", exit_code=70, reason=f"internal error: {type(exc).__name__}: {exc}")
    row["seconds"] = round(time.perf_counter() - started, 3)
    if row["status"] == "failed":
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (FAILED_FILE + ".tmp")
        tmp.write_text(json.dumps(row, indent=2))
        tmp.replace(folder / FAILED_FILE)
    return row


def _state(folder: Path) -> str:
    if (folder / "run.json").is_file():
        return "done"
    if (folder / FAILED_FILE).is_file():
        return "failed"
    return "todo"


def _remove_stale_partials(clips: Path) -> None:
    """Hidden half-written folders of runs that were killed (their process is gone)."""
    import shutil

    for p in clips.glob(".*.partial-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            pass


def plan(videos: list[Path], out: Path, *, report: bool = False, retry_failed: bool = False,
         height_m: float | None = None, capture_fps: float | None = None, model: str | None = None,
         pose_chunks: int = 1):
    """(jobs to run, clips skipped as already done or failed, duplicates of another clip's content)."""
    jobs, skipped, duplicates, seen = [], [], [], {}
    for video in videos:
        sha = file_sha256(video)
        if sha in seen:
            duplicates.append({"clip": video.name, "same_as": seen[sha]})
            continue
        seen[sha] = video.name
        folder = clip_folder(out, video, sha)
        state = _state(folder)
        if state == "done" or (state == "failed" and not retry_failed):
            skipped.append({"clip": video.name, "sha256": sha, "folder": str(folder), "status": state})
            continue
        if state == "failed":
            (folder / FAILED_FILE).unlink()
        jobs.append(BatchJob(str(video.resolve()), sha, str(folder), report, height_m, capture_fps, model,
                             pose_chunks))
    return jobs, skipped, duplicates


def _execute(jobs: list[BatchJob], workers: int, scheduler: str | None, progress):
    """Run the jobs on local processes, or on the Dask cluster at ``scheduler``; yields rows as
    they finish."""
    if not jobs:
        return
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise UsageError("--scheduler needs Dask distributed", "pip install 'gaitlab[cluster]'") from None
        client = Client(scheduler) if isinstance(scheduler, str) else Client(scheduler)
        try:
            futures = client.map(run_job, jobs, pure=False)
            for future in as_completed(futures):
                yield future.result()
                progress()
        finally:
            client.close()
        return
    if workers <= 1:
        for job in jobs:
            yield run_job(job)
            progress()
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed as done

    # Fresh interpreters: MediaPipe and threads do not survive fork reliably.
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(run_job, job) for job in jobs]
        for future in done(futures):
            yield future.result()
            progress()


def combine(out: Path) -> dict[str, pd.DataFrame]:
    """One table across every analysed clip of a batch folder (written beside it)."""
    from .pipeline import load_session

    summaries, steps, failures = [], [], []
    for folder in sorted((out / CLIPS_DIR).glob("*")):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        state = _state(folder)
        if state == "failed":
            failures.append(json.loads((folder / FAILED_FILE).read_text()))
            continue
        if state != "done":
            continue
        results, names, record = load_session(folder)
        sha = ((record.get("clips") or [{}])[0].get("video") or {}).get("sha256", "")
        for res, name in zip(results, names):
            summaries.append(res.summary.assign(clip=name, sha256=sha, view=res.view.get("kind")))
            steps.append(res.steps.assign(clip=name, sha256=sha, view=res.view.get("kind")))

    def front(frames):
        if not frames:
            return pd.DataFrame()
        df = pd.concat(frames, ignore_index=True)
        return df[["clip", "sha256", "view"] + [c for c in df.columns if c not in ("clip", "sha256", "view")]]

    tables = {"summary": front(summaries), "steps": front(steps),
              "failures": pd.DataFrame(failures, columns=["clip", "sha256", "exit_code", "reason", "folder", "status",
                                                          "seconds"])}
    tables["summary"].to_csv(out / "summary_all.csv", index=False)
    if not tables["summary"].empty:
        tables["summary"].to_parquet(out / "summary_all.parquet", index=False)
        tables["steps"].to_parquet(out / "steps_all.parquet", index=False)
    tables["failures"][["clip", "sha256", "exit_code", "reason"]].to_csv(out / "failures.csv", index=False)
    return tables


def run_batch(pattern: str, out: str | Path, *, workers: int | None = None, scheduler=None, report: bool = False,
              retry_failed: bool = False, height_m: float | None = None, capture_fps: float | None = None,
              model: str | None = None, pose_chunks: int | None = None, progress=None) -> dict:
    """Analyse every video of ``pattern`` into ``out`` (see the module docstring); returns counts
    and timings. ``scheduler``: a Dask scheduler address (or a ``LocalCluster``) to run on.
    ``pose_chunks``: stretches of each clip tracked at once; by default the cores left to each
    local worker (one on a cluster, whose nodes run several clips each)."""
    out = Path(out)
    videos = find_videos(pattern)
    (out / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out / CLIPS_DIR)
    workers = workers or os.cpu_count() or 1
    if pose_chunks is None:
        pose_chunks = 1 if scheduler else max(1, (os.cpu_count() or 1) // workers)
    started = time.perf_counter()
    jobs, skipped, duplicates = plan(videos, out, report=report, retry_failed=retry_failed, height_m=height_m,
                                     capture_fps=capture_fps, model=model, pose_chunks=pose_chunks)
    # Most work first, so the last clips to finish are short ones and no worker idles long.
    jobs.sort(key=lambda j: -work_estimate(j.video))
    state = {"done": 0}

    def tick():
        state["done"] += 1
        if progress:
            progress(state["done"], len(jobs), "clips")

    rows = list(_execute(jobs, workers, scheduler, tick))
    tables = combine(out)
    record = {
        "inputs": pattern, "videos": len(videos), "analysed_now": sum(r["status"] == "done" for r in rows),
        "failed_now": sum(r["status"] == "failed" for r in rows), "skipped": skipped, "duplicates": duplicates,
        "workers": workers if not scheduler else None, "scheduler": str(scheduler) if scheduler else None,
        "pose_chunks": pose_chunks,
        "seconds": round(time.perf_counter() - started, 3),
        "clips_in_table": int(tables["summary"]["clip"].nunique()) if not tables["summary"].empty else 0,
        "failures_total": int(len(tables["failures"])), "jobs": [asdict(j) for j in jobs],
    }
    (out / "batch.json").write_text(json.dumps(record, indent=2, default=str))
    return record
