"""Benchmark: gaitlab's throughput and peak memory against the pose model's own speed.

    python -m gaitlab.bench                 # 720p and 1080p clips, and a 10-minute clip against a 10-second one
    python -m gaitlab.bench --quick         # without the 10-minute clip
    python -m gaitlab.bench --work DIR      # where the benchmark clips are made and kept (default ~/.cache/gaitlab-bench)
    python -m gaitlab.bench --batch         # gaitlab batch on 10 clips: 1 and 2 workers, and clips split over cores

For each clip, on this machine in one run:

* *model*: frames/s of one BlazePose alone (VIDEO mode, frames decoded beforehand, one thread):
  the most a pipeline that tracks the clip as one stream can reach. gaitlab's pose stage tracks
  several stretches of a clip at once (one per core), so on two or more cores it can pass it;
* *end-to-end*: frames/s of ``gaitlab analyze`` from video to report (a fresh process, as a user
  runs it), the ratio to the model's rate, the time of each stage, and the process's peak memory.

The clips are made from the real treadmill clip ``zzzhushi_male_side.mp4`` in ``../shared/videos``
(or ``--source``): looped to 30 s at 720p, scaled to 1080p, and looped to 10 minutes and to
10 seconds for the memory check. Making them needs ffmpeg (the ``imageio-ffmpeg`` package of the
dev extra).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .io.files import atomic_path

DEFAULT_SOURCE = Path(__file__).resolve().parents[1].parent / "shared" / "videos" / "zzzhushi_male_side.mp4"
#: Frames timed for the model's own rate.
MODEL_FRAMES = 300


def _ffmpeg() -> str:
    try:
        import imageio_ffmpeg
    except ImportError:
        sys.exit("the benchmark makes its clips with ffmpeg: pip install imageio-ffmpeg (or gaitlab[dev])")
    return imageio_ffmpeg.get_ffmpeg_exe()


def make_clip(source: Path, out: Path, seconds: float, height: int | None = None) -> Path:
    """``source`` looped to ``seconds`` (and scaled to ``height`` rows), H.264, kept for next time."""
    if out.is_file():
        return out
    vf = ["-vf", f"scale=-2:{height}"] if height else []
    with atomic_path(out) as tmp:  # keeps the .mp4 suffix, by which ffmpeg picks the format
        subprocess.run([_ffmpeg(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(source), "-t", str(seconds),
                        *vf, "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                        str(tmp)], check=True)
    return out


def model_fps(video: Path, frames: int = MODEL_FRAMES) -> float:
    """BlazePose alone on ``frames`` frames decoded beforehand (VIDEO mode, as gaitlab runs it)."""
    import cv2

    from .io.stderr import native_stderr_silenced
    from .pose.mediapipe_backend import BlazePose
    from .pose.model import resolve_model

    cap = cv2.VideoCapture(str(video))
    decoded = []
    while len(decoded) < frames + 10:
        ok, bgr = cap.read()
        if not ok:
            break
        decoded.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    with native_stderr_silenced(), BlazePose(resolve_model(None)) as pose:
        for i, rgb in enumerate(decoded[:10]):  # warm-up
            pose.detect(rgb, i / fps)
        t = time.perf_counter()
        for i, rgb in enumerate(decoded[10:]):
            pose.detect(rgb, (i + 10) / fps)
        return (len(decoded) - 10) / (time.perf_counter() - t)


def _child(video: str, out: str, report: bool) -> None:
    """Run one analysis in this (fresh) process and print its timings and peak memory as JSON."""
    from .pipeline import analyze

    t = time.perf_counter()
    analyze(video, out, report=report, overwrite=True)
    wall = time.perf_counter() - t
    record = json.loads((Path(out) / "run.json").read_text())
    print(json.dumps({"wall_s": wall, "timings_s": record["timings_s"], "frames": record["frames_decoded"],
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _in_child(*args: str) -> dict:
    """Run ``python -m gaitlab.bench ARGS`` in a fresh process (so each measurement's peak memory
    is its own: Linux carries a parent's peak over into a child) and return its JSON line."""
    r = subprocess.run([sys.executable, "-m", "gaitlab.bench", *args], capture_output=True, text=True,
                       env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if r.returncode != 0:
        raise SystemExit(f"benchmark step {' '.join(args)} failed: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def end_to_end(video: Path, report: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return _in_child("--child", str(video), str(Path(tmp) / "out"), "--report" if report else "--no-report")


def _row(name: str, model: float, e2e: dict) -> str:
    t = e2e["timings_s"]
    fps = e2e["frames"] / e2e["wall_s"]
    stages = ", ".join(f"{k} {t[k]:.2f}" for k in ("pose", "analysis", "write", "report") if k in t)
    return (f"{name:24s} {e2e['frames']:6d} {model:8.1f} {fps:8.1f} {fps / model:7.1%}  {e2e['peak_mb']:7.0f}  "
            f"{e2e['wall_s']:7.1f}  {stages}")


#: Clips of the batch benchmark: the committed samples and real clips from ../shared/videos.
BATCH_SHARED = ("zzzhushi_male_side.mp4", "radluy_posterior_overground_openpose_overlay.mp4",
                "radluy_sagittal_overground_openpose_overlay.mp4", "jacky1107_jog_in_place_anterior_A.mp4",
                "jacky1107_walk_anterior_control.mp4")


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (user + system)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def batch_speedup(work: Path, source_dir: Path) -> None:
    """``gaitlab batch`` on 10 clips, with 1 worker and with 2, each into a fresh folder."""
    import shutil

    from .batch import run_batch

    samples = Path(__file__).resolve().parents[1] / "sample_videos"
    folder = work / "batch_clips"
    folder.mkdir(parents=True, exist_ok=True)
    clips = sorted(samples.glob("*.mp4")) + [source_dir / name for name in BATCH_SHARED]
    for clip in clips:
        if not (folder / clip.name).exists():
            shutil.copy(clip, folder / clip.name)
    times = {}
    # Worker scaling with each clip tracked in one stretch, then gaitlab's default for one worker
    # (each clip split over the cores).
    for workers, chunks in ((1, 1), (2, 1), (1, None)):
        out = work / f"batch_out_{workers}"
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        cpu0 = _cpu_seconds()
        record = run_batch(str(folder), out, workers=workers, pose_chunks=chunks)
        times[workers, chunks] = time.perf_counter() - t
        cores = (_cpu_seconds() - cpu0) / times[workers, chunks]
        print(f"batch of {record['videos']} clips, {workers} worker(s), {record['pose_chunks']} stretch(es) per clip: "
              f"{times[workers, chunks]:.1f} s, {cores:.2f} cores busy on average "
              f"({record['clips_in_table']} in the table, {record['failures_total']} failed)", flush=True)
    print(f"speed-up with 2 workers (one stretch per clip): {times[1, 1] / times[2, 1]:.2f}x; "
          f"one worker with clips split over the cores: {times[1, 1] / times[1, None]:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gaitlab.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path.home() / ".cache" / "gaitlab-bench")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--quick", action="store_true", help="skip the 10-minute clip")
    ap.add_argument("--batch", action="store_true", help="only the batch benchmark (10 clips, 1 and 2 workers)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the 720p and 1080p clips")
    ap.add_argument("--child", nargs=2, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--child-model", metavar="VIDEO", help=argparse.SUPPRESS)
    ap.add_argument("--report", dest="report", action="store_true", default=True, help=argparse.SUPPRESS)
    ap.add_argument("--no-report", dest="report", action="store_false", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child, report=args.report)
        return 0
    if args.child_model:
        print(json.dumps({"model_fps": model_fps(Path(args.child_model))}))
        return 0
    if not args.source.is_file():
        sys.exit(f"benchmark source clip not found: {args.source} (give --source)")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.batch:
        batch_speedup(args.work, args.source.parent)
        return 0
    s = int(args.seconds)
    clips = {f"720p, {s} s": make_clip(args.source, args.work / f"bench_720p_{s}s.mp4", args.seconds),
             f"1080p, {s} s": make_clip(args.source, args.work / f"bench_1080p_{s}s.mp4", args.seconds, 1920)}
    if not args.quick:
        clips["720p, 10 s"] = make_clip(args.source, args.work / "bench_720p_10s.mp4", 10)
        clips["720p, 10 min"] = make_clip(args.source, args.work / "bench_720p_600s.mp4", 600)
    import cv2

    from .pose.estimate import MIN_CHUNK_FRAMES, pose_chunks

    print(f"gaitlab benchmark on {os.cpu_count()} cores; source {args.source.name}; the pose stage tracks "
          f"clips of {MIN_CHUNK_FRAMES}+ frames in up to {pose_chunks(10 ** 9)} stretches at once, "
          "the model's rate is one BlazePose")
    print(f"{'clip':24s} {'frames':>6s} {'model/s':>8s} {'e2e/s':>8s} {'ratio':>7s}  {'peak MB':>7s}  {'wall s':>7s}  stages (s)")
    model_rates = {}
    results = {}
    for name, path in clips.items():
        cap = cv2.VideoCapture(str(path))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cap.release()
        results[name] = end_to_end(path)
        if size not in model_rates:
            model_rates[size] = _in_child("--child-model", str(path))["model_fps"]
        print(_row(f"{name} {size[0]}x{size[1]}", model_rates[size], results[name]), flush=True)
    if "720p, 10 min" in results:
        ratio = results["720p, 10 min"]["peak_mb"] / results["720p, 10 s"]["peak_mb"]
        print(f"peak memory, 10 min against 10 s: {ratio:.2f}x")
    analysis = {k: v["timings_s"].get("analysis", 0.0) for k, v in results.items()}
    print("analysis stage (events, metrics, summary): " + ", ".join(f"{k} {v:.3f} s" for k, v in analysis.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
