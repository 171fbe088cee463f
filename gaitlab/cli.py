"""The ``gaitlab`` command: argument parsing only; the work is in :mod:`gaitlab.pipeline`.

Every user-caused failure prints one line, ``gaitlab: error: ...``, and exits non-zero with the
code of its :mod:`gaitlab.errors` class.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from pathlib import Path

import click

from . import __version__
from .errors import INTERRUPTED_EXIT_CODE, GaitlabError, Interrupted
from .io.stderr import native_stderr_silenced

INTERNAL_ERROR_EXIT_CODE = 70


def _progress_bar(enabled: bool | None):
    """A progress callback drawing a tqdm bar on stderr (off when stderr is not a terminal)."""
    from tqdm import tqdm

    state = {"bar": None, "stage": None}
    if enabled is None:
        enabled = sys.stderr.isatty()

    def update(done: int, total: int, stage: str):
        if not enabled:
            return
        if state["stage"] != stage:
            if state["bar"] is not None:
                state["bar"].close()
            unit = "frame" if stage.split(" ", 1)[0] in ("pose", "overlay", "render") else "part"
            state["bar"] = tqdm(total=total, desc=stage, unit=unit, file=sys.stderr,
                                dynamic_ncols=True, leave=False)
            state["stage"] = stage
        bar = state["bar"]
        if total != bar.total:
            bar.total = total
        bar.update(done - bar.n)

    def close():
        if state["bar"] is not None:
            state["bar"].close()

    update.close = close
    return update


def _clinic_options(f):
    """Runner and session details shown on the report (all optional)."""
    options = [
        click.option("--runner", "runner_file", type=click.Path(),
                     help="A runner file (.toml or .json) with any of the fields below, reused between sessions; "
                          "options given here win."),
        click.option("--name", default=None, help="Runner's name or code, shown on the report."),
        click.option("--height", default=None, help="Runner's height, e.g. 1.78 or 178cm: gives lengths in cm."),
        click.option("--speed", default=None,
                     help="Treadmill speed or pace: 12 (km/h), 12km/h, 3.3m/s, 7.5mph, 5:30/km, 8:50/mi (a bare 5:30 is per km)."),
        click.option("--age", type=int, default=None, help="Runner's age in years."),
        click.option("--sex", default=None, help="Runner's sex, as the clinic records it."),
        click.option("--injured-side", type=click.Choice(["left", "right", "both", "none"], case_sensitive=False),
                     default=None, help="Side of the complaint."),
        click.option("--shoe", default=None, help="Shoe worn in the clip."),
        click.option("--session", default=None, help="Session number or label, e.g. 3 or 'week 6'."),
        click.option("--clinician", default=None, help="Clinician's name, shown on the report."),
        click.option("--clinic", default=None, help="Clinic's name, shown on the report."),
        click.option("--notes", default=None, help="Free-text notes for the report."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


CLINIC_FIELDS = ("runner_file", "name", "height", "speed", "age", "sex", "injured_side", "shoe", "session",
                 "clinician", "clinic", "notes")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gaitlab")
def cli():
    """Running gait analysis from a phone video of a runner on a treadmill."""


@cli.command()
@click.argument("videos", nargs=-1)
@click.option("--out", "-o", "out", type=click.Path(), default=None,
              help="Results folder (default: <first video name>_gaitlab in the current folder).")
@click.option("--landmarks", type=click.Path(), multiple=True,
              help="Landmarks saved by an earlier run (landmarks.parquet), a movement NetCDF file, an OpenPose "
                   "output folder or an AlphaPose .json file: skips pose estimation. Repeatable.")
@click.option("--keypoints-fps", type=float, default=None,
              help="Frame rate of OpenPose or AlphaPose keypoints given with --landmarks (they record no time).")
@click.option("--model", type=click.Path(), default=None,
              help="A pose landmarker .task bundle to use instead of the bundled BlazePose full model.")
@_clinic_options
@click.option("--capture-fps", type=float, default=None,
              help="Frame rate the phone filmed at, for slow-motion clips (e.g. 240).")
@click.option("--compare", type=click.Path(), default=None,
              help="Results folder of an earlier session of this runner: the report shows what changed.")
@click.option("--report/--no-report", default=True, help="Write the clinician report (HTML, PDF). Default: on.")
@click.option("--overlay/--no-overlay", default=False,
              help="Also write the annotated overlay video (decodes and encodes the clip again). Default: off.")
@click.option("--overwrite", is_flag=True, help="Replace an existing gaitlab results folder.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
def analyze(videos, out, landmarks, keypoints_fps, model, capture_fps, compare, report, overlay, overwrite, progress,
            **clinic):
    """Analyse VIDEOS of one session (e.g. a side and a rear clip of the same run): pose on every
    frame, gait events, metrics, clinician report, all into one results folder."""
    from pathlib import Path

    from .clinic import runner_info
    from .config import AnalysisConfig
    from .errors import UsageError
    from .pipeline import analyze as run
    from .pose.estimate import PoseConfig

    if not videos and not landmarks:
        raise UsageError("give a VIDEO, or --landmarks FILE from an earlier run")
    runner = runner_info(**clinic)
    from .config import FPS_RANGE

    for option, value in (("--capture-fps", capture_fps), ("--keypoints-fps", keypoints_fps)):
        if value is not None and not FPS_RANGE[0] <= value <= FPS_RANGE[1]:
            raise UsageError(f"{option} must be between {FPS_RANGE[0]:g} and {FPS_RANGE[1]:g}")
    first = Path((videos or landmarks)[0])
    stem = first.parent.name if first.name == "landmarks.parquet" else first.stem
    out = out or f"{stem}_gaitlab"
    bar = _progress_bar(progress)
    try:
        folder = run(list(videos), out, pose_config=PoseConfig(model=model), landmarks=list(landmarks), runner=runner,
                     config=AnalysisConfig(capture_fps=capture_fps), overwrite=overwrite, progress=bar,
                     report=report, overlay=overlay, compare=compare, landmarks_fps=keypoints_fps)
    finally:
        bar.close()
    click.echo(f"results: {folder}")
    if report:
        click.echo(f"report:  {Path(folder) / 'report.html'}")


@cli.command("report")
@click.argument("results", type=click.Path())
@click.option("--compare", type=click.Path(), default=None, help="Results folder of an earlier session of this runner.")
@click.option("--overlay/--no-overlay", default=False, help="Also re-render the overlay video (needs the video). Default: off.")
@_clinic_options
def report_command(results, compare, overlay, **clinic):
    """Re-render the clinician report of a RESULTS folder written by `gaitlab analyze`. Runner
    details given here replace the recorded ones field by field."""
    from .clinic import runner_info
    from .pipeline import report as run

    runner_info(**clinic)  # arguments that do not fit are refused before the folder is read
    bar = _progress_bar(None)
    try:
        written = run(results, compare=compare, overlay=overlay, runner_changes=clinic, progress=bar)
    finally:
        bar.close()
    for path in written:
        click.echo(f"wrote: {path}")


@cli.command()
@click.argument("pattern")
@click.option("--out", "-o", "out", type=click.Path(), required=True, help="Batch folder (resumable: rerun to finish).")
@click.option("--workers", "-j", type=int, default=None, help="Processes on this machine (default: one per core).")
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:8786) to run on a cluster.")
@click.option("--report/--no-report", default=False, help="Also write each clip's clinician report. Default: off.")
@click.option("--retry-failed", is_flag=True, help="Try the clips that failed in an earlier run again.")
@click.option("--height", default=None, help="Runners' height, when all clips are of one runner.")
@click.option("--capture-fps", type=float, default=None, help="Frame rate the phone filmed at (slow-motion clips).")
@click.option("--model", type=click.Path(), default=None, help="A pose landmarker .task bundle.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when a terminal).")
def batch(pattern, out, workers, scheduler, report, retry_failed, height, capture_fps, model, progress):
    """Analyse every video in a folder or glob PATTERN into one batch folder, with one combined table."""
    from .batch import run_batch
    from .errors import UsageError

    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    from .clinic import runner_info

    height_m = runner_info(height=height).height_m if height is not None else None
    bar = _progress_bar(progress)
    try:
        record = run_batch(pattern, out, workers=workers, scheduler=scheduler, report=report,
                           retry_failed=retry_failed, height_m=height_m, capture_fps=capture_fps, model=model,
                           progress=bar)
    except KeyboardInterrupt as exc:
        raise Interrupted(getattr(exc, "signum", signal.SIGINT),
                          f"interrupted; the clips finished so far are kept in {out} "
                          "(run the same command again to go on)") from None
    finally:
        bar.close()
    click.echo(f"videos: {record['videos']}; analysed now: {record['analysed_now']}; failed now: {record['failed_now']}; "
               f"skipped (done before): {len(record['skipped'])}; duplicates: {len(record['duplicates'])}")
    click.echo(f"table:  {out}/summary_all.csv ({record['clips_in_table']} clips)")
    if record["failures_total"]:
        click.echo(f"failures: {out}/failures.csv ({record['failures_total']} clips)")


@cli.command()
@click.option("--model", type=click.Path(), default=None, help="Check this .task bundle instead of the bundled one.")
def info(model):
    """Versions, and the pose model in use (checked by sha256)."""
    from .pose.model import FULL_MODEL_SHA256, resolve_model
    from .provenance import versions

    for key, value in versions().items():
        click.echo(f"{key:22s} {value}")
    m = resolve_model(model)
    click.echo(f"{'model':22s} {m.path}")
    click.echo(f"{'model sha256':22s} {m.sha256}")
    state = "bundled, verified" if m.bundled and m.sha256 == FULL_MODEL_SHA256 else "user-supplied"
    click.echo(f"{'model status':22s} {state}")


def _per_side(value: str, name: str):
    from .errors import UsageError

    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        raise UsageError(f"--{name} takes a number or LEFT,RIGHT (got {value!r})") from None
    if len(parts) == 1:
        return (parts[0], parts[0])
    if len(parts) == 2:
        return tuple(parts)
    raise UsageError(f"--{name} takes a number or LEFT,RIGHT (got {value!r})")


@cli.command()
@click.option("--out", "-o", "out", type=click.Path(), required=True, help="Folder for the clip and its truth file.")
@click.option("--name", default=None, help="Clip name (default: from the view and seed).")
@click.option("--view", type=click.Choice(["side_left", "side_right", "rear", "front"]), default="side_left",
              show_default=True, help="side_left: camera on the runner's left, runner faces image-left.")
@click.option("--cadence", type=float, default=170.0, show_default=True, help="Steps per minute.")
@click.option("--speed", type=float, default=3.0, show_default=True, help="Belt speed, m/s.")
@click.option("--overstride", default="8", show_default=True, help="Heel ahead of hip at contact, cm (N or L,R).")
@click.option("--pelvic-drop", default="0", show_default=True, help="Contralateral pelvic drop, deg (N or L,R).")
@click.option("--valgus", default="0", show_default=True, help="Knee FPPA at peak stance flexion, deg (N or L,R).")
@click.option("--foot-angle", default="12", show_default=True, help="Foot angle at contact, deg, + toes up (N or L,R).")
@click.option("--trunk-lean", type=float, default=6.0, show_default=True, help="Forward trunk lean, deg.")
@click.option("--knee-reflexion", type=float, default=0.0, show_default=True,
              help="The knee's straightest point in terminal swing, deg less than its flexion at contact "
                   "(0: straightest at contact).")
@click.option("--reflexion-lead", type=float, default=0.04, show_default=True,
              help="How long before contact the knee is straightest, s (with --knee-reflexion).")
@click.option("--height", "height_m", type=float, default=1.75, show_default=True, help="Runner height, m.")
@click.option("--roll", type=float, default=0.0, show_default=True, help="Camera roll, deg (+ = image turned clockwise).")
@click.option("--distance", type=float, default=None, help="Camera distance, m (default: fit the runner).")
@click.option("--resolution", default="640x480", show_default=True, help="WIDTHxHEIGHT, 640x480 to 1920x1080.")
@click.option("--fps", type=float, default=60.0, show_default=True, help="Frames per second (30, 60, 120, 240).")
@click.option("--duration", type=float, default=6.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--random", "n_random", type=click.IntRange(1, 100000), default=None,
              help="Render N randomised runners (body, look, room, light, camera, gait all drawn from seeds "
                   "SEED..SEED+N-1) instead of one runner set by the options above.")
@click.option("--random-view", type=click.Choice(["side_left", "side_right", "rear", "front"]), default=None,
              help="With --random: only the runners whose drawn camera is this view (the first N such seeds "
                   "from SEED), for a set of one view.")
@click.option("--random-fps", type=click.Choice(["30", "60", "120", "240"]), default=None,
              help="With --random: film every runner at this frame rate instead of the drawn one (30/60/120).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Processes for --random (default: one per core).")
@click.option("--overwrite", is_flag=True, help="Replace an existing clip of the same name.")
def synth(out, name, view, cadence, speed, overstride, pelvic_drop, valgus, foot_angle, trunk_lean, knee_reflexion,
          reflexion_lead, height_m, roll, distance, resolution, fps, duration, seed, n_random, random_view, random_fps, workers, overwrite):
    """Render a synthetic treadmill runner with exact ground truth (mp4 + truth JSON)."""
    from pathlib import Path

    from tqdm import tqdm

    from .errors import OutputError, UsageError
    from .synth import SynthParams, render_clip, render_random_set, truth_path_for

    if n_random:
        from .synth.randomize import seeds_with_view

        seeds = (seeds_with_view(random_view, seed, n_random) if random_view
                 else list(range(seed, seed + n_random)))
        with tqdm(total=n_random, desc="render", unit="clip", file=sys.stderr,
                  disable=not sys.stderr.isatty(), leave=False) as bar:
            videos = render_random_set(out, seeds, workers=workers,
                                       fps=float(random_fps) if random_fps else None,
                                       progress=lambda done, total: bar.update(done - bar.n))
        click.echo(f"{len(videos)} clips with truth in {out} (seeds {', '.join(map(str, seeds))})")
        return

    try:
        w, h = (int(v) for v in resolution.lower().split("x"))
    except ValueError:
        raise UsageError(f"--resolution takes WIDTHxHEIGHT (got {resolution!r})") from None
    try:
        params = SynthParams(
            height_m=height_m, cadence_spm=cadence, speed_mps=speed,
            overstride_cm=_per_side(overstride, "overstride"), pelvic_drop_deg=_per_side(pelvic_drop, "pelvic-drop"),
            knee_valgus_deg=_per_side(valgus, "valgus"), foot_angle_ic_deg=_per_side(foot_angle, "foot-angle"),
            trunk_lean_deg=trunk_lean, knee_reflexion_deg=knee_reflexion, knee_reflexion_lead_s=reflexion_lead,
            view=view, camera_roll_deg=roll, camera_distance_m=distance, width=w, height=h, fps=fps, duration_s=duration, seed=seed)
        from .synth import RunnerModel
        RunnerModel(params)  # checks the motion is feasible before any rendering
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if name is not None and (not name.strip() or name in (".", "..") or "\0" in name or Path(name).name != name
                             or "\\" in name or len(name.encode()) > 200):
        raise UsageError(f"--name is the clip's file name, without a folder (got {name!r})",
                         "choose the folder with --out")
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {exc.strerror.lower() if exc.strerror else exc}") from None
    video = folder / f"{name or f'synth_{view}_{seed}'}.mp4"
    if (video.exists() or truth_path_for(video).exists()) and not overwrite:
        raise OutputError(f"{video} already exists", "use --overwrite to replace it")
    with tqdm(total=params.n_frames, desc="render", unit="frame", file=sys.stderr,
              disable=not sys.stderr.isatty(), leave=False) as bar:
        video, truth = render_clip(params, video, progress=lambda done, total: bar.update(done - bar.n))
    click.echo(f"video: {video}")
    click.echo(f"truth: {truth}")


@cli.command()
@click.argument("truth_sets", nargs=-1, required=True)
@click.option("--out", "-o", "out", type=click.Path(), default="validation_results", show_default=True,
              help="Folder for the tables (CSV and Markdown).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Clips at once (default: one per core).")
@click.option("--cache", type=click.Path(), default=None,
              help="Folder that keeps each clip's landmarks, so a re-run skips the pose model when its code is unchanged.")
def validate(truth_sets, out, workers, cache):
    """Run every clip of truth sets (folders of *.truth.json or *.contacts.json) and print the error tables."""
    from tqdm import tqdm

    from .validation import validate as run_validation

    with tqdm(total=None, desc="validate", unit="clip", file=sys.stderr, disable=not sys.stderr.isatty(),
              leave=False) as bar:
        def progress(done, total, clip):
            bar.total = total
            bar.set_postfix_str(clip[:40])
            bar.update(done - bar.n)

        try:
            tables = run_validation(truth_sets, out, workers=workers, cache=cache, progress=progress)
        except FileNotFoundError as exc:
            from .errors import UsageError

            raise UsageError(str(exc)) from None
    prov = tables["provenance"]
    click.echo(f"{prov['clips']} clips ({prov['refused']} refused) in {prov['seconds']:.0f} s; tables in {out}")
    click.echo((Path(out) / "validation.md").read_text())


def _leave_now(code: int) -> None:
    """End the process without the interpreter's shutdown. Interrupted while the pose model was
    starting, a MediaPipe graph can be left half-built with its native threads running; freeing it
    during shutdown aborts the process. Whatever the run had written is already removed by then."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv=None) -> int:
    """Entry point: runs the CLI and turns every failure into one line and an exit code.

    Native libraries' log lines (MediaPipe, TensorFlow Lite, FFmpeg) are kept off the terminal for
    the whole command, so the last line is always gaitlab's. Run as the console script (``argv``
    None), an interrupt ends the process at once after its message (see :func:`_leave_now`).
    """
    with native_stderr_silenced(), warnings.catch_warnings(), _signals_interrupt():
        # Numerical warnings (an empty slice, a division by zero on a degenerate input) are not
        # for the user: problems are reported in gaitlab's one line.
        warnings.simplefilter("ignore")
        code = _run(argv)
        if code in _INTERRUPT_CODES and argv is None:
            _leave_now(code)
        return code


#: Signals that stop a run the way Ctrl-C does (whatever was half-written is removed first).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
_INTERRUPT_CODES = {INTERRUPTED_EXIT_CODE} | {128 + int(s) for s in STOP_SIGNALS}


class _signals_interrupt:
    """SIGTERM and SIGHUP raise :class:`~gaitlab.errors.Interrupted` in the main thread while the
    command runs (the handlers before are put back after)."""

    def __enter__(self):
        import threading

        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.previous[sig] = signal.signal(sig, _stop)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def _stop(signum, frame):
    raise Interrupted(signum)


def _dash_file_hint(argv) -> str:
    """For an unknown option that is really a file whose name starts with '-': how to name it."""
    for arg in (argv if argv is not None else sys.argv[1:]):
        if isinstance(arg, str) and arg.startswith("-") and arg != "-" and os.path.lexists(arg):
            return f" (to give the file {arg}, write ./{arg} or put -- before it)"
    return ""


def _run(argv) -> int:
    try:
        cli.main(args=argv, prog_name="gaitlab", standalone_mode=False)
        return 0
    except GaitlabError as exc:
        click.echo(f"gaitlab: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        hint = _dash_file_hint(argv) if isinstance(exc, click.NoSuchOption) else ""
        hint = hint or " (see gaitlab --help)"
        click.echo(f"gaitlab: error: {' '.join(exc.format_message().split())}{hint}", err=True)
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        if isinstance(exc, click.exceptions.Abort) and isinstance(exc.__cause__, KeyboardInterrupt):
            exc = exc.__cause__  # click turns an interrupt into Abort; the signal and message are on the cause
        message = getattr(exc, "message", None)
        if message is None:
            signum = getattr(exc, "signum", signal.SIGINT)
            stopped = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
            message = f"{stopped}; no results were written"
        click.echo(f"gaitlab: {message}", err=True)
        return getattr(exc, "exit_code", INTERRUPTED_EXIT_CODE)
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("GAITLAB_DEBUG"):
            raise
        click.echo(f"gaitlab: internal error: {type(exc).__name__}: {exc} "
                   "(please report it; set GAITLAB_DEBUG=1 to see the traceback)", err=True)
        return INTERNAL_ERROR_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
