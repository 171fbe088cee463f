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
a complete results folder (written whole, atomically) or a recorded failure are skipped;
``retry_failed`` tries the failures again. A clip that could not be tried (unreadable when the
batch started, or its worker was lost) is listed in ``failures.csv`` for this run and tried again by
the next one.

gaitlab writes only into a new or empty folder, or one that ``batch.json`` marks as a gaitlab batch
folder; the tables it rewrites there must be as it wrote them (their sha256 is kept in
``batch.json``), and every file is written under a temporary name and renamed when complete.

On a Dask cluster (``scheduler``) the workers need to read the clips at the same paths (a shared
or copied folder: checked on every worker before the first job), but write nothing: each worker
analyses a clip in a private temporary folder and returns the results folder's files to the client,
which writes them into the batch folder. A worker that dies loses nothing but its current clip,
which Dask runs again elsewhere or which is listed in ``failures.csv``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .errors import GaitlabError, OutputError, UsageError
from .io.files import atomic_write, file_sha256, kind_of, read_json, regular_file, stat_path, temp_sibling
from .io.outdir import MANIFEST, ResultsDir, describe, remove_stale_partials
from .io.video import probe

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv")
CLIPS_DIR = "clips"
FAILED_FILE = "failed.json"
BATCH_RECORD = "batch.json"
BATCH_FORMAT = "gaitlab-batch"
#: The tables gaitlab writes at the top of a batch folder.
TABLES = ("summary_all.csv", "summary_all.parquet", "steps_all.parquet", "failures.csv")
FAILURE_COLUMNS = ["clip", "sha256", "exit_code", "reason"]
#: Seconds to wait for a Dask scheduler to answer.
SCHEDULER_TIMEOUT_S = 20
#: Decoding one frame of a megapixel, in BlazePose runs (about 4 ms for a 2 Mpx 1080p frame
#: against 18 ms for the model, measured on one core).
DECODE_COST_PER_MEGAPIXEL = 0.1


@dataclass(frozen=True)
class BatchJob:
    video: str
    sha256: str
    folder: str     # results folder of this clip (absolute, on the client)
    report: bool
    height_m: float | None = None
    capture_fps: float | None = None
    model: str | None = None
    #: Stretches of the clip tracked at once (see :class:`gaitlab.pose.estimate.PoseConfig`).
    pose_chunks: int = 1
    #: Analyse in a private temporary folder and return the files instead of writing ``folder``
    #: (cluster workers, which need not see the client's file system).
    return_files: bool = False


def find_videos(pattern: str) -> list[Path]:
    """Videos in a folder (recursively) or matching a glob pattern, sorted. Entries with a video
    suffix that are not regular files (a pipe, a device, a broken link) are kept, to be listed as
    failures rather than opened."""
    p = Path(pattern)
    st = stat_path(p, UsageError, "the batch input")
    if st is not None and kind_of(st) == "folder":
        found = [q for q in p.rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES and not q.is_dir()]
    else:
        found = [Path(q) for q in glob.glob(pattern, recursive=True)
                 if Path(q).suffix.lower() in VIDEO_SUFFIXES and not Path(q).is_dir()]
    if not found:
        raise UsageError(f"no videos found in {pattern}", f"gaitlab batch reads {', '.join(VIDEO_SUFFIXES)} files")
    return sorted(found)


def clip_folder(out: Path, video: Path, sha: str) -> Path:
    return out / CLIPS_DIR / f"{video.stem[:100]}_{sha[:10]}"


def work_estimate(video: str | os.PathLike) -> float:
    """Relative cost of analysing a clip, in BlazePose runs: one per frame, plus decoding, which
    grows with the frame size. 0 for a file that does not probe as a video (it fails fast)."""
    try:
        info = probe(video, with_hash=False)
    except GaitlabError:
        return 0.0
    return info.frame_count * (1.0 + DECODE_COST_PER_MEGAPIXEL * info.width * info.height / 1e6)


def run_job(job: BatchJob) -> dict:
    """Analyse one clip; never raises for a problem with the clip (the row says why). Runs in a
    worker process or on a cluster node. Returns the row, and with ``job.return_files`` the
    results folder's files (``{"files": {relative path: bytes}}``) instead of writing them."""
    from .config import AnalysisConfig, RunnerInfo
    from .pipeline import analyze
    from .pose.estimate import PoseConfig

    started = time.perf_counter()
    row = {"clip": Path(job.video).name, "sha256": job.sha256, "folder": job.folder}
    scratch = Path(tempfile.mkdtemp(prefix="gaitlab-job-")) if job.return_files else None
    files = {}
    try:
        target = scratch / "results" if scratch else Path(job.folder)
        analyze(job.video, target, pose_config=PoseConfig(model=job.model, chunks=job.pose_chunks),
                runner=RunnerInfo(height_m=job.height_m), config=AnalysisConfig(capture_fps=job.capture_fps),
                overwrite=True, report=job.report)
        if scratch:
            files = {p.relative_to(target).as_posix(): p.read_bytes()
                     for p in sorted(target.rglob("*")) if p.is_file() and p.name != MANIFEST}
        row.update(status="done", exit_code=0, reason="")
    except GaitlabError as exc:
        row.update(status="failed", exit_code=exc.exit_code, reason=exc.one_line())
    except Exception as exc:  # a bug: recorded for this clip, the batch goes on
        row.update(status="failed", exit_code=70, reason=f"internal error: {type(exc).__name__}: {exc}")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    row["seconds"] = round(time.perf_counter() - started, 3)
    if job.return_files:
        row["files"] = files
    return row


def _store(row: dict) -> dict:
    """On the client: put a finished row where it belongs. Files returned by a cluster worker go
    into the clip's folder (written whole, atomically); a failure of the clip goes to its
    ``failed.json``. Returns the row without the files."""
    files = row.pop("files", None)
    folder = Path(row["folder"])
    if row["status"] == "done" and files is not None:
        if not all(_plain_relative(rel) for rel in files):
            row.update(status="failed", exit_code=5, reason="a worker returned a file outside the clip's folder")
        else:
            try:
                results = ResultsDir(folder, overwrite=True)
                with results as tmp:
                    for rel, data in files.items():
                        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                        (tmp / rel).write_bytes(data)
                    results.commit()
            except GaitlabError as exc:  # the clip's folder cannot take them: this clip fails, the batch goes on
                row.update(status="failed", exit_code=exc.exit_code, reason=exc.one_line())
    if row["status"] == "failed" and not row.get("transient"):
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / FAILED_FILE, json.dumps({k: v for k, v in row.items() if k != "transient"}, indent=2))
    return row


def _plain_relative(rel) -> bool:
    return isinstance(rel, str) and bool(rel) and not rel.startswith("/") and \
        all(part not in ("", ".", "..") for part in rel.split("/"))


def _state(folder: Path) -> str:
    if (folder / "run.json").is_file() and (folder / MANIFEST).is_file():
        return "done"
    if (folder / FAILED_FILE).is_file():
        return "failed"
    return "todo"


def _unreadable_row(video: Path, reason: str, code: int = 3) -> dict:
    return {"clip": video.name, "sha256": "", "folder": "", "status": "failed", "exit_code": code,
            "reason": reason, "seconds": 0.0, "transient": True}


def plan(videos: list[Path], out: Path, *, report: bool = False, retry_failed: bool = False,
         height_m: float | None = None, capture_fps: float | None = None, model: str | None = None,
         pose_chunks: int = 1, return_files: bool = False):
    """(jobs to run, clips skipped as already done or failed, duplicates of another clip's content,
    rows of clips that could not be read now)."""
    jobs, skipped, duplicates, unreadable, seen = [], [], [], [], {}
    for video in videos:
        try:
            regular_file(video, GaitlabError, "video")
            sha = file_sha256(video)
        except GaitlabError as exc:
            unreadable.append(_unreadable_row(video, exc.one_line()))
            continue
        except OSError as exc:
            unreadable.append(_unreadable_row(video, f"cannot read {video}: {describe(exc)}"))
            continue
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
                             pose_chunks, return_files))
    return jobs, skipped, duplicates, unreadable


def _lost(job: BatchJob, exc: BaseException, where: str) -> dict:
    """The row of a clip whose worker was lost: listed now, tried again by the next run."""
    text = " ".join(str(exc).split())[:200]
    return {"clip": Path(job.video).name, "sha256": job.sha256, "folder": job.folder, "status": "failed",
            "exit_code": None, "reason": f"not analysed: the {where} running it was lost ({type(exc).__name__}"
                                         f"{': ' + text if text else ''}); run the batch again to retry it",
            "seconds": 0.0, "transient": True}


def _check_workers(client, jobs: list[BatchJob]) -> None:
    """Every worker of the cluster must read every clip at its path, before the first job."""
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        raise UsageError("the Dask cluster has no workers", "start at least one `dask worker`")
    paths = [j.video for j in jobs]
    missing = {w: m for w, m in client.run(_unreadable_paths, paths).items() if m}
    if missing:
        worker, paths = next(iter(missing.items()))
        raise UsageError(f"the Dask worker {worker} cannot read {len(paths)} of the clips (e.g. {paths[0]})",
                         "the workers need the clips at the same path (a shared folder)")


def _unreadable_paths(paths: list[str]) -> list[str]:
    return [p for p in paths if not (os.path.isfile(p) and os.access(p, os.R_OK))]


def _execute(jobs: list[BatchJob], workers: int, scheduler, progress):
    """Run the jobs on local processes, or on the Dask cluster at ``scheduler``; yields rows as
    they finish (a job whose worker was lost gives a row too)."""
    if not jobs:
        return
    if scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise UsageError("--scheduler needs Dask distributed", "pip install 'gaitlab[cluster]'") from None
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {' '.join(str(exc).split())[:200]}") \
                from None
        try:
            _check_workers(client, jobs)
            futures = client.map(run_job, jobs, pure=False)
            job_of = {f.key: j for f, j in zip(futures, jobs)}
            for future in as_completed(futures):
                try:
                    row = future.result()
                except Exception as exc:  # a lost worker (KilledWorker), a lost connection...
                    row = _lost(job_of[future.key], exc, "Dask worker")
                yield row
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
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in done(futures):
            try:
                row = future.result()
            except Exception as exc:  # the worker process died (BrokenProcessPool)
                row = _lost(futures[future], exc, "worker process")
            yield row
            progress()


def combine(out: Path, extra_failures: list[dict] = ()) -> dict[str, pd.DataFrame]:
    """One table across every analysed clip of a batch folder, and the failures (those recorded in
    the clips' folders and ``extra_failures`` of this run)."""
    from .pipeline import load_session

    summaries, steps, failures = [], [], []
    for folder in sorted((out / CLIPS_DIR).glob("*")):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        state = _state(folder)
        if state == "failed":
            try:
                row = read_json(folder / FAILED_FILE, GaitlabError, "failure record")
                failures.append({k: row.get(k) for k in FAILURE_COLUMNS} if isinstance(row, dict) else None)
            except GaitlabError:
                failures.append(None)
            if failures[-1] is None:
                failures[-1] = {"clip": folder.name, "sha256": "", "exit_code": None,
                                "reason": f"its failure record {folder / FAILED_FILE} is damaged; retry it"}
            continue
        if state != "done":
            continue
        try:
            results, names, record = load_session(folder)
        except GaitlabError as exc:
            failures.append({"clip": folder.name, "sha256": "", "exit_code": exc.exit_code,
                             "reason": f"its results folder is damaged: {exc.one_line()}"})
            continue
        clips = record.get("clips") if isinstance(record.get("clips"), list) else []
        video = clips[0].get("video") if clips and isinstance(clips[0], dict) else None
        sha = video.get("sha256", "") if isinstance(video, dict) else ""
        for res, name in zip(results, names):
            summaries.append(res.summary.assign(clip=name, sha256=sha, view=res.view.get("kind")))
            steps.append(res.steps.assign(clip=name, sha256=sha, view=res.view.get("kind")))
    failures += [{k: r.get(k) for k in FAILURE_COLUMNS} for r in extra_failures]

    def front(frames):
        if not frames:
            from .summary import SUMMARY_COLUMNS
            return pd.DataFrame(columns=["clip", "sha256", "view"] + SUMMARY_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        return df[["clip", "sha256", "view"] + [c for c in df.columns if c not in ("clip", "sha256", "view")]]

    failures_df = pd.DataFrame(failures, columns=FAILURE_COLUMNS)
    failures_df["exit_code"] = failures_df["exit_code"].astype("Int64")
    return {"summary": front(summaries), "steps": front(steps), "failures": failures_df}


def _write_tables(out: Path, tables: dict[str, pd.DataFrame], record: dict) -> None:
    """Write the tables and ``batch.json``, each under a temporary name first. ``batch.json``
    lists the old and the new sha256 of each table while they are renamed, then only the new,
    so a batch killed at any moment leaves every table recognisably gaitlab's."""
    temps = {}
    try:
        paths = {"summary_all.csv": lambda p: tables["summary"].to_csv(p, index=False),
                 "failures.csv": lambda p: tables["failures"].to_csv(p, index=False)}
        if not tables["summary"].empty:
            paths["summary_all.parquet"] = lambda p: tables["summary"].to_parquet(p, index=False)
            paths["steps_all.parquet"] = lambda p: tables["steps"].to_parquet(p, index=False)
        for name, write in paths.items():
            temps[name] = temp_sibling(out / name)
            write(temps[name])
        new = {name: file_sha256(tmp) for name, tmp in temps.items()}
        old = _table_hashes(out)
        during = {name: sorted({h for h in (old.get(name, []) + [new.get(name)]) if h}) for name in set(old) | set(new)}
        atomic_write(out / BATCH_RECORD, json.dumps({**record, "tables": during}, indent=2, default=str))
        for name, tmp in temps.items():
            os.replace(tmp, out / name)
        for name in TABLES:
            if name not in new and (out / name).exists():
                (out / name).unlink()  # a table of an earlier run that no longer applies (it was gaitlab's)
        atomic_write(out / BATCH_RECORD, json.dumps({**record, "tables": {k: [v] for k, v in new.items()}},
                                                    indent=2, default=str))
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)


def _table_hashes(out: Path) -> dict[str, list[str]]:
    try:
        record = read_json(out / BATCH_RECORD, OutputError, "batch record")
    except OutputError:
        return {}
    tables = record.get("tables") if isinstance(record, dict) else None
    if not isinstance(tables, dict):
        return {}
    return {k: [h for h in v if isinstance(h, str)] for k, v in tables.items()
            if k in TABLES and isinstance(v, list)}


def prepare_folder(out: str | os.PathLike) -> Path:
    """The batch folder, resolved and made ready: created when missing; an existing one must be
    empty or a gaitlab batch folder (``batch.json`` says so) whose tables are as gaitlab wrote
    them. Raises :class:`~gaitlab.errors.OutputError` with one line otherwise."""
    shown = Path(os.path.abspath(out))
    st = stat_path(shown, OutputError, "--out")
    folder = shown.resolve()
    try:
        if st is not None:
            if kind_of(st) != "folder":
                raise OutputError(f"--out {shown} is a {kind_of(st)}, not a folder")
            entries = sorted(p.name for p in folder.iterdir())
            if entries:
                record = None
                if BATCH_RECORD in entries:
                    try:
                        record = read_json(folder / BATCH_RECORD, OutputError, "batch record")
                    except OutputError:
                        record = None
                if not (isinstance(record, dict) and record.get("format") == BATCH_FORMAT):
                    raise OutputError(f"--out {shown} is not a gaitlab batch folder (it holds {entries[0]}); "
                                      "not writing into it", "choose a new or empty folder")
                hashes = _table_hashes(folder)
                for name in TABLES:
                    p = folder / name
                    if p.exists() and (not p.is_file() or file_sha256(p) not in hashes.get(name, [])):
                        raise OutputError(f"{p} was not written by gaitlab batch, or was changed since; "
                                          "not replacing it", "move it out of the folder")
                if (folder / CLIPS_DIR).exists() and not (folder / CLIPS_DIR).is_dir():
                    raise OutputError(f"{folder / CLIPS_DIR} is not a folder; not writing into {shown}")
        (folder / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
        if not (folder / BATCH_RECORD).exists():
            atomic_write(folder / BATCH_RECORD, json.dumps({"format": BATCH_FORMAT, "version": 1, "status": "started"}))
    except OSError as exc:
        raise OutputError(f"cannot write to {shown}: {describe(exc)}") from None
    return folder


def run_batch(pattern: str, out: str | Path, *, workers: int | None = None, scheduler=None, report: bool = False,
              retry_failed: bool = False, height_m: float | None = None, capture_fps: float | None = None,
              model: str | None = None, pose_chunks: int | None = None, progress=None) -> dict:
    """Analyse every video of ``pattern`` into ``out`` (see the module docstring); returns counts
    and timings. ``scheduler``: a Dask scheduler address (or a ``LocalCluster``) to run on.
    ``pose_chunks``: stretches of each clip tracked at once; by default the cores left to each
    local worker (one on a cluster, whose nodes run several clips each)."""
    videos = find_videos(pattern)
    out = prepare_folder(out)
    remove_stale_partials(out / CLIPS_DIR)
    workers = workers or os.cpu_count() or 1
    if pose_chunks is None:
        pose_chunks = 1 if scheduler else max(1, (os.cpu_count() or 1) // workers)
    started = time.perf_counter()
    jobs, skipped, duplicates, unreadable = plan(
        videos, out, report=report, retry_failed=retry_failed, height_m=height_m, capture_fps=capture_fps,
        model=model, pose_chunks=pose_chunks, return_files=bool(scheduler))
    # Most work first, so the last clips to finish are short ones and no worker idles long.
    jobs.sort(key=lambda j: -work_estimate(j.video))
    state = {"done": 0}

    def tick():
        state["done"] += 1
        if progress:
            progress(state["done"], len(jobs), "clips")

    try:
        rows = [_store(row) for row in _execute(jobs, workers, scheduler, tick)] + unreadable
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {describe(exc)}") from None
    transient = [r for r in rows if r.get("transient")]
    tables = combine(out, transient)
    summary = tables["summary"]
    record = {
        "format": BATCH_FORMAT, "version": 1, "status": "done",
        "inputs": pattern, "videos": len(videos), "analysed_now": sum(r["status"] == "done" for r in rows),
        "failed_now": sum(r["status"] == "failed" for r in rows), "skipped": skipped, "duplicates": duplicates,
        "workers": workers if not scheduler else None, "scheduler": str(scheduler) if scheduler else None,
        "pose_chunks": pose_chunks,
        "seconds": round(time.perf_counter() - started, 3),
        "clips_in_table": int(summary[["clip", "sha256"]].drop_duplicates().shape[0]) if not summary.empty else 0,
        "failures_total": int(len(tables["failures"])), "jobs": [asdict(j) for j in jobs],
        "not_tried": [{k: r[k] for k in FAILURE_COLUMNS} for r in transient],
    }
    try:
        _write_tables(out, tables, record)
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {describe(exc)}") from None
    return record
