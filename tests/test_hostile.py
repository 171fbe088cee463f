"""The hostile-input catalogue: what a careless or hostile user can do to gaitlab, case by case.

Every case builds its own small world in a temporary folder (files, links, pipes, folders of
earlier results), runs the real command in-process (``gaitlab.cli.main``; a few cases need a
process of their own) and asserts three things: the exit code, the exact one line on stderr (or
none on success), and that every file that existed before is byte-identical afterwards, with no
half-written temporary file left anywhere. Exit code 70 ("internal error") is never acceptable.

Classes (``CLASS`` of each case, counted in the closing note of the change that added this file):

* ``data-loss``: nothing the user had is deleted or overwritten (``..``, links, copied records,
  files added to a results folder, batch folders, report rewrites, clips sharing a file name).
* ``exit-code``: hangs, crashes and unbounded memory turned into the documented code and one line
  (pipes, devices, huge frame numbers, nesting, full disks, tampered files, broken models).
* ``wrong-answer``: a clip that would give a wrong number with exit 0 is refused with the fix.
* ``cluster``: batch on a real Dask scheduler and workers started from another folder, one killed.
* ``minor``: the issue's small cases (signals, messages, odd names).
* ``own``: cases added beyond the report: fuzzing (hypothesis), signals at every stage, injected
  full disk and permission errors, hostile manifests, concurrent runs.

Not here: the PDF dropping CJK characters and emoji is covered by the report's own tests (the
report renderer and its fonts belong there); see ``COVERED_ELSEWHERE``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLES

COVERED_ELSEWHERE = {
    "pdf-cjk-emoji": "the PDF renders every character the HTML does: the report renderer's tests",
}

SIDE = SAMPLES / "side_left_normal.mp4"


# -- the world each case runs in -----------------------------------------------------------------

def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict:
    """Every entry under ``root`` without following links or opening pipes: files by content,
    links by target, folders and special files by kind."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath, name)
            mode = os.lstat(p).st_mode
            rel = p.relative_to(root).as_posix()
            if stat.S_ISLNK(mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(mode):
                out[rel] = ("file", _digest(p))
            elif stat.S_ISDIR(mode):
                out[rel] = ("dir",)
            else:
                out[rel] = ("special", stat.S_IFMT(mode))
    return out


LEFTOVER = re.compile(r"\.partial-|\.old-|\.tmp-|\.kept-")


@dataclass
class Expect:
    """What a case runs and must give. ``message``: the exact error line after ``gaitlab: error: ``
    (a ``re.Pattern`` to fullmatch where a part varies), or None for success. ``changes``: paths
    (relative to the world) whose old content gaitlab may replace because it wrote them."""

    args: list
    code: int
    message: str | re.Pattern | None = None
    cwd: Path | None = None
    changes: tuple = ()
    after: object = None  # a callable run after the checks, for case-specific assertions


@dataclass
class World:
    tmp: Path
    mp: pytest.MonkeyPatch
    assets: Path
    lm: Path
    cleanups: list = field(default_factory=list)

    def p(self, rel: str) -> Path:
        return self.tmp / rel

    def write(self, rel: str, data: bytes | str) -> Path:
        path = self.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def results(self, rel: str = "res", report: bool = False) -> Path:
        """A copy of a real gaitlab results folder (with a report when asked)."""
        dest = self.p(rel)
        shutil.copytree(self.assets / ("results_report" if report else "results"), dest, symlinks=True)
        return dest

    def video(self, rel: str = "clip.mp4", source: Path = SIDE) -> Path:
        dest = self.p(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dest)
        return dest


CASES: list = []


def case(cls: str):
    """Register a case function ``f(world) -> Expect`` under class ``cls``."""
    def register(fn):
        CASES.append(pytest.param(cls, fn, id=f"{cls}:{fn.__name__}"))
        return fn
    return register


def variants(cls: str, name: str, table: dict):
    """Register one case per entry of ``table`` (id -> case function, or (class, case function)
    for an entry of another class)."""
    for key, fn in table.items():
        own, fn = fn if isinstance(fn, tuple) else (cls, fn)
        fn.__name__ = f"{name}[{key}]"
        case(own)(fn)


# -- shared inputs, made once --------------------------------------------------------------------

@pytest.fixture(scope="module")
def assets(tmp_path_factory, pose_cache, ffmpeg):
    """Read-only inputs shared by the cases: a real landmarks file, results folders written by
    gaitlab from it (with and without a report), short clips with faults only a video can carry,
    and a pose model bundle that MediaPipe cannot load."""
    from gaitlab.pipeline import analyze

    d = tmp_path_factory.mktemp("hostile_assets")
    pose_cache(SIDE).save(d / "side.parquet")
    analyze(None, d / "results", landmarks=[d / "side.parquet"], report=False)
    analyze(None, d / "results_report", landmarks=[d / "side.parquet"], report=True)

    def ff(*args):
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", *map(str, args)], check=True)

    enc = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-an"]
    ff("-i", SIDE, "-t", "1", "-vf", "hflip,vflip", *enc, d / "upside_down.mp4")
    # An upright picture stored with a rotation tag that turns it on its side.
    ff("-i", SIDE, "-t", "1", *enc, d / "upright_1s.mp4")
    ff("-display_rotation", "90", "-i", d / "upright_1s.mp4", "-c", "copy", d / "wrong_tag.mp4")
    ff("-i", SIDE, "-t", "1", "-vf", "scale=64:48", *enc, d / "tiny_64x48.mp4")
    # Two shots joined by a hard cut, no black frame between: facing left, then (mirrored) right.
    ff("-i", SIDE, "-filter_complex",
       "[0:v]trim=0:1.3,setpts=PTS-STARTPTS[a];[0:v]trim=2:3.3,setpts=PTS-STARTPTS,hflip[b];[a][b]concat=n=2:v=1[v]",
       "-map", "[v]", *enc, d / "hard_cut.mp4")
    import zipfile
    with zipfile.ZipFile(d / "broken.task", "w") as z:
        z.writestr("pose_detector.tflite", b"not a flatbuffer" * 64)
        z.writestr("pose_landmarks_detector.tflite", b"not a flatbuffer" * 64)
    for p in d.rglob("*"):
        p.chmod(p.stat().st_mode & ~0o222) if p.is_file() else None
    return d


@pytest.fixture()
def world(tmp_path, monkeypatch, assets):
    w = World(tmp_path / "w", monkeypatch, assets, assets / "side.parquet")
    w.tmp.mkdir()
    monkeypatch.chdir(w.tmp)
    yield w
    for fn in w.cleanups:
        fn()


def run_main(capfd, args) -> tuple[int, str, str]:
    from gaitlab.cli import main

    capfd.readouterr()
    code = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return code, out, err


def check_line(code: int, err: str, expect_code: int, message) -> None:
    assert code != 70, err
    assert code == expect_code, err
    lines = [line for line in err.splitlines() if line.strip()]
    if message is None:
        assert not lines, err
        return
    assert len(lines) == 1, err
    assert "Traceback" not in err
    prefix = "gaitlab: error: " if not (128 < expect_code < 160) else "gaitlab: "
    assert lines[0].startswith(prefix), err
    text = lines[0][len(prefix):]
    if isinstance(message, re.Pattern):
        assert message.fullmatch(text), text
    else:
        assert text == message


def check_untouched(before: dict, after: dict, changes=()) -> None:
    for rel, entry in before.items():
        if any(rel == c or rel.startswith(c.rstrip("/") + "/") for c in changes):
            continue
        assert after.get(rel) == entry, f"{rel} was changed or removed"
    left = [rel for rel in after if LEFTOVER.search(Path(rel).name) and rel not in before]
    assert not left, f"temporary files left behind: {left}"


@pytest.mark.parametrize("cls, make", CASES)
def test_catalogue(cls, make, world, capfd):
    expect = make(world)
    before = snapshot(world.tmp)
    if expect.cwd is not None:
        world.mp.chdir(expect.cwd)
    code, out, err = run_main(capfd, expect.args)
    check_line(code, err, expect.code, expect.message)
    check_untouched(before, snapshot(world.tmp), expect.changes)
    if expect.after is not None:
        expect.after(out)


# ================================================================================================
# data-loss: nothing the user had is deleted or overwritten
# ================================================================================================

def _inside(w, video_rel, out_rel):
    return f"the input {Path(video_rel).name} is inside the output folder {w.p(out_rel)}; choose another --out"


@case("data-loss")
def video_inside_out_named_through_dotdot(w):
    res = w.results("res")
    w.video("res/myclip.mp4")
    (w.p("other")).mkdir()
    return Expect(["analyze", "other/../res/myclip.mp4", "--out", "res", "--overwrite"], 5,
                  _inside(w, "myclip.mp4", "res"))


@case("data-loss")
def video_inside_out_named_through_a_link(w):
    w.results("res")
    w.video("res/myclip.mp4")
    os.symlink(w.p("res"), w.p("link"))
    return Expect(["analyze", "link/myclip.mp4", "--out", "res", "--overwrite"], 5, _inside(w, "myclip.mp4", "res"))


@case("data-loss")
def video_inside_out_given_as_a_link(w):
    w.results("res")
    w.video("res/myclip.mp4")
    os.symlink(w.p("res"), w.p("outlink"))
    return Expect(["analyze", "res/myclip.mp4", "--out", "outlink", "--overwrite"], 5,
                  _inside(w, "myclip.mp4", "outlink"))


@case("data-loss")
def video_linked_from_inside_out(w):
    """The clip sits in the results folder and is named through a link from elsewhere."""
    w.results("res")
    w.video("res/myclip.mp4")
    os.symlink(w.p("res/myclip.mp4"), w.p("shortcut.mp4"))
    return Expect(["analyze", "shortcut.mp4", "--out", "res", "--overwrite"], 5, _inside(w, "shortcut.mp4", "res"))


@case("data-loss")
def compare_folder_named_through_dotdot_is_out(w):
    w.results("week0")
    w.p("x").mkdir()
    return Expect(["analyze", "--landmarks", w.lm, "--compare", "x/../week0", "--out", "week0", "--overwrite"], 5,
                  f"the input week0 is the output folder {w.p('week0')}; choose another --out")


@case("data-loss")
def compare_folder_through_a_link_is_out(w):
    w.results("week0")
    os.symlink(w.p("week0"), w.p("earlier"))
    return Expect(["analyze", "--landmarks", w.lm, "--compare", "earlier", "--out", "week0", "--overwrite"], 5,
                  f"the input earlier is the output folder {w.p('week0')}; choose another --out")


@case("data-loss")
def compare_folder_inside_out(w):
    w.results("all")
    w.results("all/week0")  # an earlier session kept inside: not listed in the outer manifest
    return Expect(["analyze", "--landmarks", w.lm, "--compare", "all/week0", "--out", "all", "--overwrite"], 5,
                  _inside(w, "week0", "all"))


@case("data-loss")
def landmarks_inside_out(w):
    w.results("res")
    return Expect(["analyze", "--landmarks", "res/landmarks.parquet", "--out", "res", "--overwrite"], 5,
                  _inside(w, "landmarks.parquet", "res"))


@case("data-loss")
def landmarks_inside_out_through_dotdot(w):
    w.results("res")
    w.p("a").mkdir()
    return Expect(["analyze", "--landmarks", "a/../res/landmarks.parquet", "--out", "res", "--overwrite"], 5,
                  _inside(w, "landmarks.parquet", "res"))


@case("data-loss")
def home_folder_with_a_copied_run_record(w):
    w.write("home/Documents/thesis.txt", "four years of work")
    shutil.copy(w.assets / "results" / "run.json", w.p("home/run.json"))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "home", "--overwrite"], 5,
                  f"output folder {w.p('home')} exists and was not written by gaitlab; not replacing it")


@case("data-loss")
def home_folder_with_a_copied_run_record_and_manifest(w):
    w.results("home")
    w.write("home/Documents/thesis.txt", "four years of work")
    return Expect(["analyze", "--landmarks", w.lm, "--out", "home", "--overwrite"], 5,
                  f"output folder {w.p('home')} holds Documents/thesis.txt, which gaitlab did not write; not "
                  "replacing it (move that file out of the folder, or choose another --out)")


@case("data-loss")
def notes_added_to_a_results_folder(w):
    w.results("res")
    w.write("res/notes.txt", "patient said the left knee hurts")
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} holds notes.txt, which gaitlab did not write; not replacing it "
                  "(move that file out of the folder, or choose another --out)")


@case("data-loss")
def screenshots_folder_added_to_a_results_folder(w):
    w.results("res")
    w.write("res/look/shot1.png", b"\x89PNG....")
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} holds look/shot1.png, which gaitlab did not write; not replacing it "
                  "(move that file out of the folder, or choose another --out)")


@case("data-loss")
def report_edited_by_the_clinician(w):
    w.results("res", report=True)
    with open(w.p("res/report.pdf"), "ab") as fh:
        fh.write(b"% signed by the clinician\n")
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} holds report.pdf, changed since gaitlab wrote it; not replacing it "
                  "(move that file out of the folder, or choose another --out)")


@case("data-loss")
def listed_file_replaced_by_a_link_to_a_user_file(w):
    w.results("res")
    w.write("precious.csv", "a,b\n1,2\n")
    os.unlink(w.p("res/summary.csv"))
    os.symlink(w.p("precious.csv"), w.p("res/summary.csv"))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} holds summary.csv, which gaitlab did not write; not replacing it "
                  "(move that file out of the folder, or choose another --out)")


@case("data-loss")
def link_to_a_user_folder_inside_results(w):
    w.results("res")
    w.write("photos/p1.jpg", b"\xff\xd8")
    os.symlink(w.p("photos"), w.p("res/photos"))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} holds photos, which gaitlab did not write; not replacing it "
                  "(move that file out of the folder, or choose another --out)")


def _hostile_manifest(entries):
    def make(w):
        w.results("res")
        w.write("victim.txt", "not gaitlab's")
        doc = json.loads(w.p("res/manifest.json").read_text())
        doc["files"].update(entries(w))
        w.p("res/manifest.json").write_text(json.dumps(doc))
        return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                      f"output folder {w.p('res')} exists and was not written by gaitlab; not replacing it")
    return make


_victim = {"bytes": 13, "sha256": hashlib.sha256(b"not gaitlab's").hexdigest()}
variants("own", "hostile_manifest", {
    "dotdot": _hostile_manifest(lambda w: {"../victim.txt": _victim}),
    "absolute": _hostile_manifest(lambda w: {str(w.p("victim.txt")): _victim}),
    "dot-segment": _hostile_manifest(lambda w: {"./x/../../victim.txt": _victim}),
    "bad-hash": _hostile_manifest(lambda w: {"x.txt": {"bytes": 1, "sha256": "zz"}}),
    "not-a-dict": _hostile_manifest(lambda w: {"x.txt": "sha"}),
})


@case("own")
def manifest_of_another_format(w):
    w.results("res")
    w.p("res/manifest.json").write_text(json.dumps({"format": "something-else", "files": {}}))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} exists and was not written by gaitlab; not replacing it")


@case("own")
def manifest_nested_too_deeply(w):
    w.results("res")
    w.p("res/manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} exists and was not written by gaitlab; not replacing it")


@case("data-loss")
def results_folder_of_an_older_gaitlab_without_manifest(w):
    w.results("res")
    os.unlink(w.p("res/manifest.json"))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite"], 5,
                  f"output folder {w.p('res')} exists and was not written by gaitlab; not replacing it")


@case("data-loss")
def out_is_the_input_video_itself(w):
    w.video("clip.mp4")
    return Expect(["analyze", "clip.mp4", "--out", "clip.mp4", "--overwrite"], 5,
                  "the input clip.mp4 is the output folder " + str(w.p("clip.mp4")) + "; choose another --out")


@case("data-loss")
def out_is_a_user_file(w):
    w.write("summary.pdf", b"%PDF-1.4 mine")
    return Expect(["analyze", "--landmarks", w.lm, "--out", "summary.pdf", "--overwrite"], 5,
                  f"--out {w.p('summary.pdf')} is a file, not a folder")


@case("data-loss")
def overwrite_replaces_only_what_gaitlab_wrote(w):
    """A real gaitlab folder is replaced (exit 0); a user's file beside it stays."""
    w.results("res")
    w.write("res_notes.txt", "beside, not inside")

    def after(out):
        assert (w.p("res") / "manifest.json").is_file()
        assert sorted(p.name for p in w.tmp.iterdir()) == ["res", "res_notes.txt"]
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite", "--no-report"], 0,
                  changes=("res",), after=after)


@case("data-loss")
def two_clips_with_the_same_file_name(w):
    """Two clips named alike keep their own names, folders (and overlay files) and report rows."""
    def after(out):
        from gaitlab.pipeline import load_session
        from gaitlab.report import report_content

        session = json.loads(w.p("s/session.json").read_text())
        assert session == {"clips": ["side_left_normal", "side_left_normal_2"],
                           "names": ["side_left_normal.mp4", "side_left_normal_2.mp4"]}
        results, names, _ = load_session(w.p("s"))
        content = report_content(results, names)
        for name in names:
            rows = [r for r in content.rows if r.clip == name]
            assert rows and len({r.metric for r in rows}) == len(rows), f"{name}: rows of another clip"
        assert len({f"{Path(n).stem}_overlay.mp4" for n in names}) == 2
    return Expect(["analyze", "--landmarks", w.lm, "--landmarks", w.lm, "--out", "s", "--no-report"], 0, after=after)


# -- batch folders -----------------------------------------------------------------------------------

def _batch_clips(w, names=("a.mp4",)):
    for name in names:
        w.video(f"clips/{name}")
    return w.p("clips")


def _fake_jobs(w):
    """Batch jobs answered from a real results folder (no pose model): a clip whose bytes start
    with FAIL fails like a clip that is not a video."""
    import gaitlab.batch as batch

    def run_job(job):
        if Path(job.video).read_bytes()[:4] == b"FAIL":
            return {"clip": Path(job.video).name, "sha256": job.sha256, "folder": job.folder, "status": "failed",
                    "exit_code": 3, "reason": f"{Path(job.video).name} is not a readable video", "seconds": 0.0}
        shutil.copytree(w.assets / "results", job.folder)
        for p in Path(job.folder).rglob("*"):
            p.chmod(0o644)
        return {"clip": Path(job.video).name, "sha256": job.sha256, "folder": job.folder, "status": "done",
                "exit_code": 0, "reason": "", "seconds": 0.0}

    w.mp.setattr(batch, "run_job", run_job)
    w.mp.setattr(batch, "work_estimate", lambda video: 0.0)


def _user_file_in_batch_out(name, content):
    def make(w):
        _batch_clips(w)
        _fake_jobs(w)
        w.write(f"study/{name}", content)
        return Expect(["batch", "clips", "--out", "study", "--workers", "1"], 5,
                      f"--out {w.p('study')} is not a gaitlab batch folder (it holds {name}); not writing into it "
                      "(choose a new or empty folder)")
    return make


variants("data-loss", "batch_out_holds_a_user_file", {
    "summary_all.csv": _user_file_in_batch_out("summary_all.csv", "clip,mine\n"),
    "failures.csv": _user_file_in_batch_out("failures.csv", "my own list\n"),
    "batch.json": _user_file_in_batch_out("batch.json", '{"my": "settings"}'),
    "thesis": _user_file_in_batch_out("thesis.docx", b"PK\x03\x04"),
})


@case("data-loss")
def batch_table_edited_since_gaitlab_wrote_it(w):
    _batch_clips(w)
    _fake_jobs(w)
    from gaitlab.batch import run_batch
    run_batch(str(w.p("clips")), w.p("study"), workers=1)
    with open(w.p("study/summary_all.csv"), "a") as fh:
        fh.write("my,own,row\n")
    return Expect(["batch", "clips", "--out", "study", "--workers", "1"], 5,
                  f"{w.p('study/summary_all.csv')} was not written by gaitlab batch, or was changed since; "
                  "not replacing it (move it out of the folder)")


@case("data-loss")
def batch_resumed_keeps_a_user_file_beside_its_tables(w):
    _batch_clips(w, ("a.mp4",))
    _fake_jobs(w)
    from gaitlab.batch import run_batch
    run_batch(str(w.p("clips")), w.p("study"), workers=1)
    w.write("study/my_notes.txt", "read me")
    shutil.copy(w.assets / "upright_1s.mp4", w.p("clips/b.mp4"))

    def after(out):
        assert "analysed now: 1; failed now: 0; skipped (done before): 1" in out
        assert w.p("study/my_notes.txt").read_text() == "read me"
    return Expect(["batch", "clips", "--out", "study", "--workers", "1"], 0,
                  changes=("study/summary_all.csv", "study/summary_all.parquet", "study/steps_all.parquet",
                           "study/failures.csv", "study/batch.json"), after=after)


@case("data-loss")
def batch_clip_folder_holding_a_user_file(w):
    """A clip's folder in the batch holds a file of the user's: that clip fails, the file stays."""
    _batch_clips(w, ("a.mp4",))
    from gaitlab.batch import clip_folder, prepare_folder
    from gaitlab.io.files import file_sha256
    folder = clip_folder(prepare_folder(w.p("study")), Path("a.mp4"), file_sha256(w.p("clips/a.mp4")))
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("keep")
    import gaitlab.batch as batch
    w.mp.setattr(batch, "work_estimate", lambda video: 0.0)

    def after(out):
        failures = pd.read_csv(w.p("study/failures.csv"))
        assert failures.exit_code.tolist() == [5]
        assert failures.reason[0].endswith("exists and was not written by gaitlab; not replacing it")
    return Expect(["batch", "clips", "--out", "study", "--workers", "1"], 0, changes=("study/batch.json",),
                  after=after)


# -- report rewrites -------------------------------------------------------------------------------

def _full_disk_during(target: str, name: str):
    """Make writing any file whose name contains ``name`` fail as on a full disk."""
    def make_open(real_open):
        def fake_open(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax") and name in os.fspath(file):
                raise OSError(errno.ENOSPC, "No space left on device", os.fspath(file))
            return real_open(file, mode, *args, **kwargs)
        return fake_open
    return make_open


def _disk_full_while_writing(w, fragment):
    import builtins
    import io
    w.mp.setattr(builtins, "open", _full_disk_during("", fragment)(builtins.open))
    w.mp.setattr(io, "open", _full_disk_during("", fragment)(io.open))


def _report_disk_full(fragment):
    def make(w):
        w.results("res", report=True)
        _disk_full_while_writing(w, fragment)
        return Expect(["report", "res"], 5, f"cannot write the report to res: no space left on device")
    return make


variants("data-loss", "report_rewrite_on_a_full_disk", {
    "html": _report_disk_full(".report.tmp-"),
})


@case("data-loss")
def report_rewrite_on_a_full_disk_while_the_pdf_is_written(w):
    w.results("res", report=True)
    import gaitlab.report.pdf as pdf
    real = pdf.write_pdf

    def full(html, path):
        Path(path).write_bytes(b"%PDF-1.4 half")
        raise OSError(errno.ENOSPC, "No space left on device")
    w.mp.setattr(pdf, "write_pdf", full)
    return Expect(["report", "res"], 5, "cannot write the report to res: no space left on device")


@case("data-loss")
def report_over_an_edited_report(w):
    w.results("res", report=True)
    w.p("res/report.html").write_text("<p>my corrected report</p>")
    return Expect(["report", "res"], 6, "res/report.html is missing or was changed after gaitlab wrote it "
                                         "(see manifest.json) (analyse the clip again for a complete results folder)")


@case("data-loss")
def report_over_a_user_pdf_in_a_folder_without_manifest(w):
    w.results("res")
    os.unlink(w.p("res/manifest.json"))
    record = json.loads(w.p("res/run.json").read_text())
    record["outputs"] = [o for o in record["outputs"] if not o.startswith("report")]
    w.p("res/run.json").write_text(json.dumps(record))
    w.write("res/report.pdf", b"%PDF-1.4 the user's own")
    return Expect(["report", "res"], 5, f"{w.p('res') / 'report.pdf'} was not written by gaitlab; not replacing it "
                                        "(move it out of the folder first)".replace(str(w.p('res')), "res"))


# -- synth names ---------------------------------------------------------------------------------

def _synth_name(name):
    def make(w):
        w.p("out").mkdir()
        return Expect(["synth", "--out", "out", "--name", name, "--duration", "1"], 2,
                      f"--name is the clip's file name, without a folder (got {name!r}) (choose the folder with --out)")
    return make


variants("minor", "synth_name_outside_out", {
    "dotdot-x": _synth_name("../x"),
    "subfolder": _synth_name("a/b"),
    "absolute": _synth_name("/tmp/x"),
    "dotdot": _synth_name(".."),
    "nul": _synth_name("a\0b"),
    "blank": _synth_name("\t"),
    "too-long": _synth_name("n" * 250),
})


# ================================================================================================
# exit-code: hangs, crashes and unbounded memory end in the documented code and one line
# ================================================================================================

def _fifo(w, rel):
    path = w.p(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def _socket(w, rel):
    path = w.p(rel)
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    w.cleanups.append(s.close)
    return path


def _loop(w, rel):
    path = w.p(rel)
    os.symlink(path.name + ".b", path)
    os.symlink(path.name, path.with_name(path.name + ".b"))
    return path


LONG = "x" * 300


def _video_input(make_path, code, message):
    def make(w):
        path = make_path(w)
        return Expect(["analyze", path, "--out", "res"], code, message(w, path) if callable(message) else message)
    return make


variants("exit-code", "video_that_is_not_a_regular_file", {
    "fifo": _video_input(lambda w: _fifo(w, "clip.mp4"), 3, lambda w, p: f"{p} is a named pipe, not a video file"),
    "dev-zero": ("minor", _video_input(lambda w: Path("/dev/zero"), 3, "/dev/zero is a device, not a video file")),
    "dev-null": _video_input(lambda w: Path("/dev/null"), 3, "/dev/null is a device, not a video file"),
    "folder": _video_input(lambda w: w.p("clips.mp4").mkdir() or w.p("clips.mp4"), 3,
                           lambda w, p: f"{p} is a folder, not a video file"),
    "socket": _video_input(lambda w: _socket(w, "clip.mp4"), 3, lambda w, p: f"{p} is a socket, not a video file"),
    "link-loop": ("minor", _video_input(lambda w: _loop(w, "clip.mp4"), 3,
                                        lambda w, p: f"cannot use video {p}: it is a loop of symbolic links")),
    "dangling-link": _video_input(lambda w: os.symlink("gone.mp4", w.p("clip.mp4")) or w.p("clip.mp4"), 3,
                                  lambda w, p: f"video not found: {p}"),
    "through-a-file": _video_input(lambda w: w.write("notes.txt", "x") / "clip.mp4", 3,
                                   lambda w, p: f"video not found: {p}"),
    "name-300-chars": _video_input(lambda w: w.p(LONG + ".mp4"), 3, re.compile(
        r"video .*: a file name in the path is longer than the file system allows \(255 bytes\) "
        r"\(rename it or choose a shorter name\)")),
    "dash-named": ("minor", _video_input(lambda w: w.video("-clip.mp4").name, 2,
                               "No such option '-c'. (to give the file -clip.mp4, write ./-clip.mp4 or put -- before it)")),
})


@case("exit-code")
def video_unreadable(w):
    """Permission denied on the clip (as the root user cannot be refused, the error is injected)."""
    video = w.video("clip.mp4")
    video.chmod(0)
    real = os.open

    def deny(path, flags, *args, **kwargs):
        if os.path.abspath(os.fspath(path)) == str(video):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kwargs)
    w.mp.setattr(os, "open", deny)
    return Expect(["analyze", "clip.mp4", "--out", "res"], 3, "cannot open clip.mp4: permission denied")


def _landmarks_input(make_path, message, code=6, extra=()):
    def make(w):
        path = make_path(w)
        return Expect(["analyze", "--landmarks", path, *extra, "--out", "res"], code,
                      message(w, path) if callable(message) else message)
    return make


variants("exit-code", "landmarks_that_are_not_a_regular_file", {
    "fifo": _landmarks_input(lambda w: _fifo(w, "lm.parquet"), lambda w, p: f"{p} is a named pipe, not a landmarks file"),
    "dev-zero": _landmarks_input(lambda w: Path("/dev/zero"), "/dev/zero is a device, not a landmarks file"),
    "link-loop": _landmarks_input(lambda w: _loop(w, "lm.parquet"),
                                  lambda w, p: f"cannot use landmarks {p}: it is a loop of symbolic links"),
    "name-300-chars": _landmarks_input(lambda w: w.p(LONG + ".parquet"), re.compile(
        r"landmarks .*: a file name in the path is longer than the file system allows \(255 bytes\) "
        r"\(rename it or choose a shorter name\)")),
    "fifo-json": _landmarks_input(lambda w: _fifo(w, "alphapose.json"),
                                  lambda w, p: f"{p} is a named pipe, not an AlphaPose results file",
                                  extra=("--keypoints-fps", "30")),
    "fifo-in-openpose-folder": _landmarks_input(
        lambda w: _fifo(w, "op/run_000000000000_keypoints.json").parent,
        lambda w, p: f"{p / 'run_000000000000_keypoints.json'} is a named pipe, not an OpenPose JSON file",
        extra=("--keypoints-fps", "30")),
})


# -- AlphaPose and OpenPose files ---------------------------------------------------------------

def _person(scale=1.0, n=17):
    """One COCO-17 person, standing, about 300 px tall."""
    pts = np.array([[320, 100], [325, 95], [315, 95], [330, 100], [310, 100], [340, 140], [300, 140],
                    [345, 190], [295, 190], [350, 230], [290, 230], [335, 240], [305, 240], [335, 320],
                    [305, 320], [335, 400], [305, 400]], float)[:n] * scale
    return np.column_stack([pts, np.full(len(pts), 0.9)]).ravel().tolist()


def _ap_case(doc, message, code=6, fps="30", raw=False):
    def make(w):
        path = w.write("alphapose.json", doc if raw else json.dumps(doc))
        return Expect(["analyze", "--landmarks", path, "--keypoints-fps", fps, "--out", "res"], code, message)
    return make


_det = lambda i, kp=None: {"image_id": f"{i}.jpg", "keypoints": _person() if kp is None else kp, "score": 2.9}  # noqa: E731
variants("exit-code", "alphapose_file", {
    "image-id-999999999999999": _ap_case([_det(0), _det("999999999999999")],
                                         "alphapose.json: image_id 999999999999999.jpg is not a frame number gaitlab "
                                         "reads (give the AlphaPose results of one clip, with image_id = <frame "
                                         "number>.jpg)"),
    "image-id-30000000": _ap_case([_det(i) for i in range(5)] + [_det(30000000)],
                                  "alphapose.json: its image_id numbers run to frame 30000000 but only 6 frames hold a "
                                  "detection (give the AlphaPose results of one clip, with image_id = <frame "
                                  "number>.jpg)"),
    "image-id-5000-digits": _ap_case([_det(0), _det("9" * 5000)],
                                     re.compile(r"alphapose\.json: image_id 9{30}\.\.\.\.jpg is not a frame number "
                                                r"gaitlab reads \(.*\)")),
    "not-json": _ap_case("this is not json", "alphapose.json is not a readable AlphaPose results file (not valid JSON)",
                         raw=True),
    "not-utf8": _ap_case(b"\xff\xfe\x00[", "alphapose.json is not a readable AlphaPose results file (not valid JSON)",
                         raw=True),
    "nested-100000": _ap_case("[" * 100_000 + "]" * 100_000,
                              "alphapose.json is not a readable AlphaPose results file (JSON nested too deeply)",
                              raw=True),
    "an-object": _ap_case({"keypoints": []}, "alphapose.json is not an AlphaPose results file (a list of detections)"),
    "empty-list": _ap_case([], "alphapose.json is not an AlphaPose results file (a list of detections)"),
    "keypoints-text": _ap_case([_det(0), _det(1, "abc")],
                               "alphapose.json is not an AlphaPose results file (a detection without keypoints)"),
    "keypoints-ragged": _ap_case([_det(0), _det(1, [[1, 2], [3]])],
                                 "alphapose.json is not an AlphaPose results file (a detection without keypoints)"),
    "no-keypoints-key": _ap_case([_det(0), {"image_id": "1.jpg"}],
                                 "alphapose.json is not an AlphaPose results file (a detection without keypoints)"),
    "detection-not-object": _ap_case([_det(0), 5],
                                     "alphapose.json is not an AlphaPose results file (a detection without keypoints)"),
    "ten-keypoints": _ap_case([_det(0, _person(n=10))],
                              "alphapose.json: 10 keypoints per person is not a layout gaitlab reads (OpenPose BODY_25 "
                              "or COCO-18, AlphaPose COCO-17 or Halpe-26)"),
    "two-frames": _ap_case([_det(0), _det(1)], "the runner is visible in too few frames to analyse", code=4),
    "one-frame": _ap_case([_det(0)], "alphapose.json holds 1 frame; gaitlab needs a clip of several seconds"),
    "all-confidence-zero": _ap_case([_det(i, [0.0] * 51) for i in range(40)],
                                    "the runner is visible in too few frames to analyse", code=4),
    "nan-and-infinity": _ap_case("[" + ",".join(json.dumps(_det(i)) for i in range(3)) +
                                 ',{"image_id": "3.jpg", "keypoints": [NaN, Infinity, -Infinity' + ", 1" * 48 + "]}]",
                                 "the runner is visible in too few frames to analyse", code=4, raw=True),
    "coordinates-1e308": _ap_case([_det(i, [1e308] * 51) for i in range(20)],
                                  "the runner is visible in too few frames to analyse", code=4),
    "keypoints-fps-1e9": _ap_case([_det(0), _det(1)], "--keypoints-fps must be between 1 and 10000", code=2, fps="1e9"),
    "keypoints-fps-zero": _ap_case([_det(0), _det(1)], "--keypoints-fps must be between 1 and 10000", code=2, fps="0"),
    "keypoints-fps-negative": _ap_case([_det(0), _det(1)], "--keypoints-fps must be between 1 and 10000", code=2,
                                       fps="-30"),
    "keypoints-fps-nan": _ap_case([_det(0), _det(1)], "--keypoints-fps must be between 1 and 10000", code=2, fps="nan"),
    "keypoints-fps-inf": _ap_case([_det(0), _det(1)], "--keypoints-fps must be between 1 and 10000", code=2, fps="inf"),
    "keypoints-fps-text": _ap_case([_det(0), _det(1)],
                                   "Invalid value for '--keypoints-fps': 'thirty' is not a valid float. (see gaitlab "
                                   "--help)", code=2, fps="thirty"),
})


@case("exit-code")
def keypoints_without_frame_rate(w):
    path = w.write("alphapose.json", json.dumps([_det(0), _det(1)]))
    return Expect(["analyze", "--landmarks", path, "--out", "res"], 6,
                  "alphapose.json: keypoint files record no time (give the clip's frame rate with --keypoints-fps)")


def _op_case(files: dict, message, code=6):
    def make(w):
        for name, doc in files.items():
            w.write(f"op/{name}", doc if isinstance(doc, (str, bytes)) else json.dumps(doc))
        return Expect(["analyze", "--landmarks", "op", "--keypoints-fps", "30", "--out", "res"], code,
                      message(w) if callable(message) else message)
    return make


def _op_person(n=25):
    return {"people": [{"pose_keypoints_2d": (_person() + [320, 400, 0.9] * 8)[:3 * n]}]}


variants("exit-code", "openpose_folder", {
    "nested-100000": _op_case({"a_000000000000_keypoints.json": "[" * 100_000 + "]" * 100_000},
                              "a_000000000000_keypoints.json is not a readable OpenPose JSON file (JSON nested too "
                              "deeply)"),
    "not-json": _op_case({"a_000000000000_keypoints.json": "{"},
                         "a_000000000000_keypoints.json is not a readable OpenPose JSON file (not valid JSON)"),
    "people-not-a-list": _op_case({"a_000000000000_keypoints.json": {"people": 5}},
                                  "a_000000000000_keypoints.json is not a readable OpenPose JSON file"),
    "a-list": _op_case({"a_000000000000_keypoints.json": [1, 2]},
                       "a_000000000000_keypoints.json is not a readable OpenPose JSON file"),
    "keypoints-text": _op_case({"a_000000000000_keypoints.json": {"people": [{"pose_keypoints_2d": "abc"}]}},
                               "a_000000000000_keypoints.json is not a readable OpenPose JSON file"),
    "nobody": ("minor", _op_case({f"a_{i:012d}_keypoints.json": {"people": []} for i in range(3)},
                                 "op: no person in any frame")),
    "empty-folder": _op_case({"notes.txt": "x"}, "op holds no OpenPose *_keypoints.json files"),
    "one-frame": _op_case({"a_000000000000_keypoints.json": _op_person()},
                          "op holds 1 frame; gaitlab needs a clip of several seconds"),
    "folder-named-like-a-frame": _op_case({"a_000000000000_keypoints.json/x": "{}"},
                                          lambda w: f"op/a_000000000000_keypoints.json is a folder, not an OpenPose "
                                                    "JSON file"),
})


# -- gaitlab landmarks files with damaged content -------------------------------------------------

def _parquet_with(w, table=None, meta=None, rel="lm.parquet"):
    """A copy of the real landmarks file with its table and/or gaitlab metadata replaced."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(w.lm)
    schema_meta = dict(t.schema.metadata or {})
    if meta is not None:
        schema_meta[b"gaitlab"] = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    if table is not None:
        df = table(t.to_pandas())
        t = pa.Table.from_pandas(df, preserve_index=False)
    t = t.replace_schema_metadata(schema_meta)
    path = w.p(rel)
    pq.write_table(t, path)
    return path


def _meta(w):
    import pyarrow.parquet as pq
    return json.loads(pq.read_schema(w.lm).metadata[b"gaitlab"])


def _lm_meta_case(change, message):
    def make(w):
        meta = _meta(w)
        meta = change(meta)
        path = _parquet_with(w, meta=meta)
        return Expect(["analyze", "--landmarks", path, "--out", "res"], 6, message)
    return make


def _set(path, value):
    def change(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return meta
    return change


_DAMAGED = "lm.parquet is a damaged gaitlab landmarks file (its metadata entry {!r} is not what gaitlab writes)"
variants("exit-code", "tampered_landmarks_metadata", {
    "not-json": _lm_meta_case(lambda m: b"{not json", "lm.parquet is not a gaitlab landmarks file"),
    "a-list": _lm_meta_case(lambda m: [m], "lm.parquet is not a gaitlab landmarks file"),
    "nested-deeply": _lm_meta_case(lambda m: b"[" * 100_000 + b"]" * 100_000, "lm.parquet is not a gaitlab landmarks file"),
    "format-missing": _lm_meta_case(lambda m: {k: v for k, v in m.items() if k != "format"},
                                    "lm.parquet is not a gaitlab landmarks file"),
    "version-text": _lm_meta_case(_set(["version"], "one"),
                                  "lm.parquet is a damaged gaitlab landmarks file (its format version is not a number)"),
    "version-newer": _lm_meta_case(_set(["version"], 99), "lm.parquet was written by a newer gaitlab (format 99)"),
    "attrs-a-list": _lm_meta_case(_set(["attrs"], [1, 2]),
                                  "lm.parquet is a damaged gaitlab landmarks file (its metadata is not a JSON object)"),
    "video-text": _lm_meta_case(_set(["attrs", "video"], "clip.mp4"), _DAMAGED.format("video")),
    "video-width-text": _lm_meta_case(_set(["attrs", "video", "width"], "wide"), _DAMAGED.format("video")),
    "video-height-float": _lm_meta_case(_set(["attrs", "video", "height"], 480.5), _DAMAGED.format("video")),
    "video-rotation-null": _lm_meta_case(_set(["attrs", "video", "rotation_deg"], None), _DAMAGED.format("video")),
    "subject-fraction-text": _lm_meta_case(_set(["attrs", "subject", "runner_height_fraction"], "0.3"),
                                           _DAMAGED.format("subject")),
    "time-scale-number": _lm_meta_case(_set(["attrs", "time_scale"], 4), _DAMAGED.format("time_scale")),
    "processing-object": _lm_meta_case(_set(["attrs", "processing"], {"a": 1}), _DAMAGED.format("processing")),
    "model-bundled-text": _lm_meta_case(_set(["attrs", "model", "bundled"], "yes"), _DAMAGED.format("model")),
    "first-frame-time-text": _lm_meta_case(_set(["attrs", "first_frame_time_s"], "0"),
                                           _DAMAGED.format("first_frame_time_s")),
})


def _lm_table_case(change, message, code=6):
    def make(w):
        path = _parquet_with(w, table=change)
        return Expect(["analyze", "--landmarks", path, "--out", "res"], code, message)
    return make


def _col(name, fn):
    def change(df):
        df[name] = fn(df[name])
        return df
    return change


variants("exit-code", "damaged_landmarks_table", {
    "column-missing": _lm_table_case(lambda df: df.drop(columns=["y_px"]), "landmarks table lacks columns: y_px"),
    "unknown-keypoint": _lm_table_case(_col("keypoint", lambda s: s.astype(str).replace("nose", "snout")),
                                       "landmarks table has unknown keypoint names"),
    "duplicate-rows": _lm_table_case(lambda df: pd.concat([df, df.iloc[:33]]),
                                     "landmarks table is incomplete: every frame needs all 33 keypoints"),
    "keypoint-twice-in-a-frame": _lm_table_case(
        lambda df: df.assign(keypoint=df.keypoint.astype(str).where(df.index != 1, "nose")),
        "landmarks table is incomplete: every frame needs all 33 keypoints"),
    "no-rows": _lm_table_case(lambda df: df.iloc[:0], "lm.parquet holds 0 frames; gaitlab needs a clip of several seconds"),
    "one-frame": _lm_table_case(lambda df: df[df.frame == df.frame.min()],
                                "lm.parquet holds 1 frame; gaitlab needs a clip of several seconds"),
    "time-nan": _lm_table_case(_col("time_s", lambda s: s.where(s.index > 100, np.nan)),
                               "lm.parquet is damaged: its frame times do not increase"),
    "time-backwards": _lm_table_case(_col("time_s", lambda s: -s), "lm.parquet is damaged: its frame times do not increase"),
    "coordinates-text": _lm_table_case(_col("x_px", lambda s: s.astype(str).where(s.index != 5, "left")),
                                       "landmarks table column x_px holds values that are not numbers"),
    "frame-fractional": _lm_table_case(_col("frame", lambda s: s + 0.5),
                                       "landmarks table column frame holds values that are not frame numbers"),
    "frame-negative": _lm_table_case(_col("frame", lambda s: s - 10_000),
                                     "landmarks table column frame holds values that are not frame numbers"),
    "frame-1e30": _lm_table_case(_col("frame", lambda s: s.astype(float) * 1e30),
                                 "landmarks table column frame holds values that are not frame numbers"),
    "time-jumps-a-year": _lm_table_case(_col("time_s", lambda s: s.where(s < 3.3, s + 3e7)),
                                        "the clip's frame times jump by 30000000 s after 3.3 s: 360 frames would span "
                                        "30000006 s (trim the clip to one continuous recording)", code=4),
    "time-in-microseconds-as-seconds": _lm_table_case(_col("time_s", lambda s: s / 1e6),
                                                      "the frame times say 6e+07 frames per second, faster than any "
                                                      "camera films (at most 10000) (the clip's or the landmarks' "
                                                      "times are damaged)", code=4),
    "coordinates-infinite": _lm_table_case(_col("x_px", lambda s: s * np.inf), "the runner is visible in too few frames "
                                                                               "to analyse", code=4),
    "coordinates-1e30": _lm_table_case(_col("y_px", lambda s: s * 1e30), "the runner is visible in too few frames to "
                                                                         "analyse", code=4),
})


@case("exit-code")
def landmarks_not_parquet(w):
    path = w.write("lm.parquet", "frame,time\n1,2\n")
    return Expect(["analyze", "--landmarks", path, "--out", "res"], 6,
                  "lm.parquet is not a gaitlab landmarks file (not Parquet)")


@case("exit-code")
def landmarks_truncated(w):
    path = w.write("lm.parquet", w.lm.read_bytes()[:50_000])
    return Expect(["analyze", "--landmarks", path, "--out", "res"], 6,
                  "lm.parquet is not a gaitlab landmarks file (not Parquet)")


@case("exit-code")
def landmarks_netcdf_garbage(w):
    path = w.write("lm.nc", b"CDF\x01" + os.urandom(200))
    return Expect(["analyze", "--landmarks", path, "--out", "res"], 6, "lm.nc is not a readable NetCDF file")


# -- results folders given to `gaitlab report` (and --compare) ------------------------------------

def _resign(folder: Path) -> None:
    """Rewrite a results folder's manifest after an edit, as a hostile user would, so that the
    file's content (not only its changed hash) is what the check meets."""
    from gaitlab.io.outdir import write_manifest
    write_manifest(folder)


def _report_case(edit, message, code=6, resign=True, args=()):
    def make(w):
        res = w.results("res")
        edit(w, res)
        if resign:
            _resign(res)
        return Expect(["report", "res", *args], code, message(w) if callable(message) else message)
    return make


def _json_edit(name, change):
    def edit(w, res):
        path = res / name
        doc = json.loads(path.read_text())
        path.write_text(json.dumps(change(doc)))
    return edit


def _write_edit(name, data):
    def edit(w, res):
        (res / name).parent.mkdir(parents=True, exist_ok=True)
        (res / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return edit


_RESULT = "res/result.json is not a gaitlab result file ({})"
variants("exit-code", "report_on_a_malformed_result_file", {
    "not-json": _report_case(_write_edit("result.json", "{"), "result.json is not a readable gaitlab result file "
                                                               "(not valid JSON)"),
    "empty": _report_case(_write_edit("result.json", ""), "result.json is not a readable gaitlab result file "
                                                           "(not valid JSON)"),
    "nested-deeply": _report_case(_write_edit("result.json", "[" * 100_000 + "]" * 100_000),
                                  "result.json is not a readable gaitlab result file (JSON nested too deeply)"),
    "a-list": _report_case(_json_edit("result.json", lambda d: [d]), _RESULT.format("not a JSON object")),
    "view-missing": _report_case(_json_edit("result.json", lambda d: {k: v for k, v in d.items() if k != "view"}),
                                 _RESULT.format("its view is not side, rear or front")),
    "view-kind-sideways": _report_case(_json_edit("result.json", lambda d: {**d, "view": {**d["view"], "kind": "top"}}),
                                       _RESULT.format("its view is not side, rear or front")),
    "view-facing-text": _report_case(_json_edit("result.json", lambda d: {**d, "view": {**d["view"], "facing": "L"}}),
                                     _RESULT.format("its view is not side, rear or front")),
    "cadence-text": _report_case(_json_edit("result.json", lambda d: {**d, "cadence_spm": {"both": "fast"}}),
                                 _RESULT.format("its cadence is not a number per side")),
    "cadence-list": _report_case(_json_edit("result.json", lambda d: {**d, "cadence_spm": [170]}),
                                 _RESULT.format("its cadence is not a number per side")),
    "quality-text": _report_case(_json_edit("result.json", lambda d: {**d, "quality": "good"}),
                                 _RESULT.format("its capture quality is not what gaitlab writes")),
    "quality-roll-number": _report_case(
        _json_edit("result.json", lambda d: {**d, "quality": {**d["quality"], "camera_roll": 4}}),
        _RESULT.format("its capture quality is not what gaitlab writes")),
    "quality-fps-text": _report_case(
        _json_edit("result.json", lambda d: {**d, "quality": {**d["quality"], "fps": "60"}}),
        _RESULT.format("its capture quality is not what gaitlab writes")),
    "runner-text": _report_case(_json_edit("result.json", lambda d: {**d, "runner": "Ann"}),
                                _RESULT.format("its runner details are not what gaitlab writes")),
    "runner-height-99": _report_case(_json_edit("result.json", lambda d: {**d, "runner": {"height_m": 99}}),
                                     _RESULT.format("its runner details are not what gaitlab writes")),
    "runner-unknown-key": _report_case(_json_edit("result.json", lambda d: {**d, "runner": {"shoe": 42}}),
                                       _RESULT.format("its runner details are not what gaitlab writes")),
    "config-unknown-key": _report_case(_json_edit("result.json", lambda d: {**d, "config": {"turbo": True}}),
                                       _RESULT.format("its config details are not what gaitlab writes")),
    "config-capture-fps-0": _report_case(_json_edit("result.json", lambda d: {**d, "config": {"capture_fps": 0}}),
                                         _RESULT.format("its config details are not what gaitlab writes")),
    "edited-without-manifest": _report_case(
        _json_edit("result.json", lambda d: {**d, "cadence_spm": {"both": 999.0}}),
        "res/result.json is missing or was changed after gaitlab wrote it (see manifest.json) (analyse the clip "
        "again for a complete results folder)", resign=False),
})


_TABLE = "res/{} is not a gaitlab table ({})"
variants("exit-code", "report_on_a_malformed_table", {
    "summary-empty": _report_case(_write_edit("summary.csv", ""), "res/summary.csv is not a readable gaitlab table "
                                                                   "(empty or damaged)"),
    "summary-column-missing": _report_case(
        lambda w, res: pd.read_csv(res / "summary.csv").drop(columns=["median"]).to_csv(res / "summary.csv", index=False),
        _TABLE.format("summary.csv", "no column median")),
    "summary-numbers-text": _report_case(
        lambda w, res: pd.read_csv(res / "summary.csv").assign(median="high").to_csv(res / "summary.csv", index=False),
        _TABLE.format("summary.csv", "column median holds a value that is not a number")),
    "summary-steps-fraction": _report_case(
        lambda w, res: pd.read_csv(res / "summary.csv").assign(n_steps=2.5).to_csv(res / "summary.csv", index=False),
        _TABLE.format("summary.csv", "column n_steps holds a value that is not a whole number")),
    "summary-sides-renamed": _report_case(
        lambda w, res: pd.read_csv(res / "summary.csv").replace({"side": {"both": "all"}}).to_csv(
            res / "summary.csv", index=False),
        "res/summary.csv is not a gaitlab summary (its sides are not left, right and both)"),
    "summary-a-folder": _report_case(lambda w, res: (os.unlink(res / "summary.csv"), (res / "summary.csv").mkdir()),
                                     "res/summary.csv is a folder, not a results table file"),
    "steps-not-parquet": _report_case(_write_edit("steps.parquet", "step,side\n"),
                                      "res/steps.parquet is not a readable gaitlab table (empty or damaged)"),
    "events-missing": _report_case(lambda w, res: os.unlink(res / "events.csv"),
                                   "results table not found: res/events.csv"),
    "events-frame-text": _report_case(
        lambda w, res: pd.read_csv(res / "events.csv").assign(frame="ten").to_csv(res / "events.csv", index=False),
        _TABLE.format("events.csv", "column frame holds a value that is not a whole number")),
    "landmarks-missing": _report_case(lambda w, res: os.unlink(res / "landmarks.parquet"),
                                      "landmarks file not found: res/landmarks.parquet"),
})


def _session(change):
    def edit(w, res):
        (res / "clip").mkdir()
        for p in list(res.iterdir()):
            if p.name not in ("clip", "run.json", "manifest.json"):
                p.rename(res / "clip" / p.name)
        (res / "session.json").write_text(json.dumps(change({"clips": ["clip"], "names": ["clip.mp4"]})))
    return edit


_SESSION = "res/session.json is not a gaitlab session file (a list of clip subfolders and their names)"
variants("exit-code", "report_on_a_malformed_session", {
    "not-json": _report_case(_write_edit("session.json", "clips: [a]"),
                             "session.json is not a readable gaitlab session file (not valid JSON)"),
    "clips-text": _report_case(_session(lambda s: {**s, "clips": "clip"}), _SESSION),
    "clip-outside": _report_case(_session(lambda s: {"clips": ["../clip"], "names": ["x.mp4"]}), _SESSION),
    "clip-absolute": _report_case(_session(lambda s: {"clips": ["/etc"], "names": ["x.mp4"]}), _SESSION),
    "names-short": _report_case(_session(lambda s: {**s, "names": []}), _SESSION),
    "names-numbers": _report_case(_session(lambda s: {**s, "names": [5]}), _SESSION),
    "clip-twice": _report_case(_session(lambda s: {"clips": ["clip", "clip"], "names": ["a", "b"]}), _SESSION),
    "thousand-clips": _report_case(_session(lambda s: {"clips": [f"c{i}" for i in range(1000)],
                                                       "names": [f"c{i}" for i in range(1000)]}), _SESSION),
    "clip-missing": _report_case(_session(lambda s: {"clips": ["gone"], "names": ["gone.mp4"]}),
                                 "gaitlab result not found: res/gone/result.json"),
})


variants("exit-code", "report_on_a_malformed_run_record", {
    "not-json": _report_case(_write_edit("run.json", "not json"),
                             "run.json is not a readable gaitlab run record file (not valid JSON)"),
    "a-list": _report_case(_write_edit("run.json", "[1]"), "res/run.json is not a gaitlab run record"),
    "runner-text": _report_case(_json_edit("run.json", lambda d: {**d, "runner": "Ann Smith"}),
                                "res/run.json is not a gaitlab run record (its runner details are not what gaitlab "
                                "writes)"),
    "runner-height-text": _report_case(_json_edit("run.json", lambda d: {**d, "runner": {"height_m": "tall"}}),
                                       "res/run.json is not a gaitlab run record (its runner details are not what "
                                       "gaitlab writes)"),
    "runner-list": _report_case(_json_edit("run.json", lambda d: {**d, "runner": [1]}),
                                "res/run.json is not a gaitlab run record (its runner details are not what gaitlab "
                                "writes)"),
})


@case("exit-code")
def report_clips_with_a_video_path_that_is_a_number(w):
    """A run record whose clip entries are not what gaitlab writes: the report is drawn without the video."""
    res = w.results("res")
    record = json.loads((res / "run.json").read_text())
    record["clips"] = [{"name": 5, "video": {"path": 7}}]
    (res / "run.json").write_text(json.dumps(record))
    _resign(res)
    return Expect(["report", "res"], 0, changes=("res/manifest.json",),
                  after=lambda out: json.loads((res / "manifest.json").read_text())["files"]["report.pdf"])


def _report_path(make_path, message, code=6, args=()):
    def make(w):
        path = make_path(w)
        return Expect(["report", path, *args], code, message(w, path) if callable(message) else message)
    return make


variants("exit-code", "report_on_something_that_is_not_a_results_folder", {
    "missing": _report_path(lambda w: "nowhere", "results folder not found: nowhere"),
    "a-file": _report_path(lambda w: w.write("r.txt", "x").name, "r.txt is a file, not a gaitlab results folder"),
    "a-fifo": _report_path(lambda w: _fifo(w, "pipe").name, "pipe is a named pipe, not a gaitlab results folder"),
    "empty-folder": _report_path(lambda w: w.p("empty").mkdir() or "empty",
                                 "empty is not a gaitlab results folder (no result.json or session.json)"),
    "link-loop": _report_path(lambda w: _loop(w, "loop").name,
                              "cannot use results folder loop: it is a loop of symbolic links"),
    "name-300-chars": _report_path(lambda w: LONG, re.compile(r"results folder x+\.\.\.x+: a file name in the path is "
                                                              r"longer than the file system allows \(255 bytes\) "
                                                              r"\(rename it or choose a shorter name\)")),
    "batch-folder": _report_path(lambda w: w.write("study/batch.json", '{"format": "gaitlab-batch"}').parent.name,
                                 "study is not a gaitlab results folder (no result.json or session.json)"),
    "compare-missing": _report_path(lambda w: w.results("res").name, "results folder not found: week0",
                                    args=("--compare", "week0")),
    "compare-damaged": _report_path(lambda w: (w.results("res"), w.results("week0"),
                                               w.write("week0/result.json", "{"))[0].name,
                                    "week0/result.json is missing or was changed after gaitlab wrote it (see "
                                    "manifest.json) (analyse the clip again for a complete results folder)",
                                    args=("--compare", "week0")),
})


@case("exit-code")
def analyze_compare_with_a_damaged_folder(w):
    w.results("week0")
    w.write("week0/summary.csv", "")
    return Expect(["analyze", "--landmarks", w.lm, "--compare", "week0", "--out", "res", "--no-report"], 6,
                  "week0/summary.csv is missing or was changed after gaitlab wrote it (see manifest.json) (analyse "
                  "the clip again for a complete results folder)")


@case("exit-code")
def report_into_a_read_only_folder(w):
    """The report cannot be written (a read-only folder, a lost permission): 5, old report intact."""
    w.results("res", report=True)
    import builtins
    import io
    real = io.open

    def read_only(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax") and \
                os.path.abspath(os.fspath(file)).startswith(str(w.p("res"))):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(file))
        return real(file, mode, *args, **kwargs)
    w.mp.setattr(builtins, "open", read_only)
    w.mp.setattr(io, "open", read_only)
    return Expect(["report", "res"], 5, "cannot write the report to res: read-only file system")


# -- where results go (exit 5) --------------------------------------------------------------------

def _out_case(make_out, message, code=5, extra=(), changes=()):
    def make(w):
        out = make_out(w)
        return Expect(["analyze", "--landmarks", w.lm, "--out", out, "--no-report", *extra], code,
                      message(w, out) if callable(message) else message, changes=changes)
    return make


variants("exit-code", "output_folder", {
    "name-300-chars": _out_case(lambda w: LONG, re.compile(
        r"--out .*: a file name in the path is longer than the file system allows \(255 bytes\) \(rename it or "
        r"choose a shorter name\)")),
    "under-a-file": _out_case(lambda w: w.write("f.txt", "x") / "res",
                              lambda w, out: f"cannot write to {out}: the folder {out.parent} is a file"),
    "parent-missing": _out_case(lambda w: w.p("a/b/res"),
                                lambda w, out: f"cannot write to {out}: the folder {out.parent} does not exist"),
    "a-fifo": _out_case(lambda w: _fifo(w, "res"), lambda w, out: f"--out {out} is a named pipe, not a folder"),
    "dev-null": _out_case(lambda w: "/dev/null", "--out /dev/null is a device, not a folder"),
    "link-loop": _out_case(lambda w: _loop(w, "res"), lambda w, out: f"cannot use --out {out}: it is a loop of "
                                                                      "symbolic links"),
    "proc": _out_case(lambda w: "/proc/gaitlab-results", re.compile(r"cannot write to /proc/gaitlab-results: .*")),
    "name-250-chars": _out_case(lambda w: "r" * 250, None, code=0),
    "existing-empty-folder": _out_case(lambda w: w.p("res").mkdir() or "res", None, code=0, changes=("res",)),
})


@case("exit-code")
def output_parent_not_writable(w):
    w.p("ro").mkdir()
    real = os.access
    w.mp.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == w.p("ro") else real(path, mode, **kw))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "ro/res", "--no-report"], 5,
                  f"cannot write to {w.p('ro/res')}: permission denied")


def _enospc_at(stage):
    """The disk fills up while the results are written (at one of several files), or when the
    finished folder is renamed into place."""
    def make(w):
        import builtins
        import io

        import pyarrow.parquet as pq

        if stage == "parquet":
            real = pq.ParquetWriter.__init__

            def full(self, where, *a, **k):
                raise OSError(errno.ENOSPC, "No space left on device")
            w.mp.setattr(pq.ParquetWriter, "__init__", full)
        elif stage == "rename":
            real_replace = os.replace

            def full(src, dst, *a, **k):
                if ".partial-" in Path(src).name:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real_replace(src, dst, *a, **k)
            w.mp.setattr(os, "replace", full)
        else:
            fake = _full_disk_during("", stage)
            w.mp.setattr(builtins, "open", fake(builtins.open))
            w.mp.setattr(io, "open", fake(io.open))
        report = ["--no-report"] if stage not in ("report.tmp", ".report.tmp-") else []
        return Expect(["analyze", "--landmarks", w.lm, "--out", "res", *report], 5,
                      f"cannot write{' the results' if stage != 'rename' else ''} to {w.p('res')}: no space left "
                      "on device")
    return make


variants("own", "full_disk_while_writing", {
    "landmarks-parquet": _enospc_at("parquet"),
    "events-csv": _enospc_at("events.csv"),
    "result-json": _enospc_at("result.json"),
    "run-json": _enospc_at("run.json"),
    "manifest": _enospc_at("manifest.tmp-"),
    "report-html": _enospc_at(".report.tmp-"),
    "rename-into-place": _enospc_at("rename"),
})


@case("own")
def full_disk_replacing_earlier_results(w):
    """--overwrite on a full disk: the earlier results stay exactly as they were."""
    w.results("res")
    fake = _full_disk_during("", "steps.csv")
    import builtins
    import io
    w.mp.setattr(builtins, "open", fake(builtins.open))
    w.mp.setattr(io, "open", fake(io.open))
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite", "--no-report"], 5,
                  f"cannot write the results to {w.p('res')}: no space left on device")


# -- the pose model ---------------------------------------------------------------------------------

def _model_case(make_model, message):
    def make(w):
        model = make_model(w)
        return Expect(["analyze", "clip.mp4", "--model", model, "--out", "res"], 2,
                      message(w, model) if callable(message) else message)
    return make


def _with_clip(fn):
    def make(w):
        w.video("clip.mp4", w.assets / "upright_1s.mp4")
        return fn(w)
    return make


variants("exit-code", "pose_model", {
    "a-folder": _model_case(_with_clip(lambda w: w.p("m.task").mkdir() or w.p("m.task")),
                            lambda w, m: f"{m} is a folder, not a pose model file"),
    "a-fifo": _model_case(_with_clip(lambda w: _fifo(w, "m.task")), lambda w, m: f"{m} is a named pipe, not a pose model file"),
    "not-a-zip": _model_case(_with_clip(lambda w: w.write("m.task", "weights")),
                             "m.task is not a pose landmarker .task bundle (it must be a zip holding pose_detector.tflite "
                             "and pose_landmarks_detector.tflite)"),
    "name-300-chars": _model_case(_with_clip(lambda w: LONG + ".task"), re.compile(
        r"pose model x+\.\.\.x+\.task: a file name in the path is longer than the file system allows \(255 bytes\) "
        r"\(rename it or choose a shorter name\)")),
})


# -- command-line numbers -----------------------------------------------------------------------------

def _usage(args, message):
    def make(w):
        return Expect(list(args), 2, message)
    return make


variants("exit-code", "numbers_out_of_range", {
    "capture-fps-nan": _usage(["analyze", "x.mp4", "--capture-fps", "nan"], "--capture-fps must be between 1 and 10000"),
    "capture-fps-inf": _usage(["analyze", "x.mp4", "--capture-fps", "inf"], "--capture-fps must be between 1 and 10000"),
    "capture-fps-0": _usage(["analyze", "x.mp4", "--capture-fps", "0"], "--capture-fps must be between 1 and 10000"),
    "height-abc": _usage(["analyze", "x.mp4", "--height", "abc"],
                         "--height takes a number with an optional unit (m, cm), got 'abc'"),
    "height-negative": _usage(["analyze", "x.mp4", "--height", "-5"],
                              "--height takes a number with an optional unit (m, cm), got '-5'"),
    "height-huge": _usage(["analyze", "x.mp4", "--height", "9" * 400],
                          "height must be between 0.9 and 2.3 m (give it in metres or with --height 178cm)"),
    "height-nan": _usage(["analyze", "x.mp4", "--height", "nan"],
                         "--height takes a number with an optional unit (m, cm), got 'nan'"),
    "speed-99": _usage(["analyze", "x.mp4", "--speed", "99"], "speed must be between 0 and 45 km/h"),
    "speed-unit": _usage(["analyze", "x.mp4", "--speed", "12furlongs"],
                         "--speed takes a speed (12, 12km/h, 3.3m/s, 7.5mph) or a pace (5:30/km, 8:50/mi), got '12furlongs'"),
    "workers-0": _usage(["batch", "x", "--out", "o", "--workers", "0"], "--workers must be at least 1"),
    "workers-negative": _usage(["batch", "x", "--out", "o", "--workers", "-3"], "--workers must be at least 1"),
    "report-height": _usage(["report", "res", "--height", "3m"],
                            "height must be between 0.9 and 2.3 m (give it in metres or with --height 178cm)"),
    "no-input": _usage(["analyze"], "give a VIDEO, or --landmarks FILE from an earlier run"),
})


# -- batch ----------------------------------------------------------------------------------------

def _batch_case(setup, code, message, counts=None, failures=None, extra=(), changes=("study",), pattern="clips"):
    """``counts``: the printed counts line; ``failures``: [(clip, exit code, reason start)] expected
    in failures.csv, which with the summary must agree with the counts printed."""
    def make(w):
        _fake_jobs(w)
        setup(w)

        def after(out):
            if counts:
                assert counts in out, out
            if failures is not None:
                table = pd.read_csv(w.p("study/failures.csv"), dtype={"exit_code": "Int64"})
                got = [(r.clip, None if pd.isna(r.exit_code) else int(r.exit_code), r.reason) for r in table.itertuples()]
                assert len(got) == len(failures), got
                for (clip, code_, reason), want in zip(sorted(got), sorted(failures, key=str)):
                    assert want[0] in (None, clip) and code_ == want[1] and reason.startswith(want[2]), (clip, code_, reason)
                record = json.loads(w.p("study/batch.json").read_text())
                assert record["failures_total"] == len(table)
                assert f"failures: study/failures.csv ({len(table)} clips)" in out or not len(table)
                summary = pd.read_csv(w.p("study/summary_all.csv"))
                clips = summary[["clip", "sha256"]].drop_duplicates().shape[0] if len(summary) else 0
                assert f"table:  study/summary_all.csv ({clips} clips)" in out
        return Expect(["batch", pattern, "--out", "study", "--workers", "1", *extra], code,
                      message(w) if callable(message) else message, changes=changes, after=after)
    return make


def _unreadable_clip(w):
    _batch_clips(w, ("a.mp4",))
    shutil.copy(w.assets / "upright_1s.mp4", w.p("clips/b.mp4"))
    import gaitlab.batch as batch
    real = batch.file_sha256

    def deny(path, *a, **k):
        if Path(path).name == "b.mp4":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *a, **k)
    w.mp.setattr(batch, "file_sha256", deny)


variants("exit-code", "batch", {
    "one-clip-unreadable": _batch_case(_unreadable_clip, 0, None,
                                       "videos: 2; analysed now: 1; failed now: 1",
                                       [("b.mp4", 3, "cannot read clips/b.mp4: permission denied")]),
    "a-fifo-named-like-a-clip": _batch_case(lambda w: (_batch_clips(w), _fifo(w, "clips/live.mp4")), 0, None,
                                            "videos: 2; analysed now: 1; failed now: 1",
                                            [("live.mp4", 3, "clips/live.mp4 is a named pipe, not a video file")]),
    "a-dangling-link": _batch_case(lambda w: (_batch_clips(w), os.symlink("gone.mp4", w.p("clips/gone_link.mp4"))),
                                   0, None, "videos: 2; analysed now: 1; failed now: 1",
                                   [("gone_link.mp4", 3, "video not found: clips/gone_link.mp4")]),
    "a-clip-that-fails": _batch_case(lambda w: (_batch_clips(w, ("a.mp4", "b.mp4")), w.write("clips/c.mp4", "FAIL")),
                                     0, None, "videos: 3; analysed now: 1; failed now: 1; skipped (done before): 0; "
                                              "duplicates: 1", [("c.mp4", 3, "c.mp4 is not a readable video")]),
    "out-a-file": _batch_case(lambda w: (_batch_clips(w), w.write("study", "x")), 5,
                              lambda w: f"--out {w.p('study')} is a file, not a folder"),
    "out-300-chars": _batch_case(_batch_clips, 5, re.compile(r"--out .*: a file name in the path is longer than the "
                                                             r"file system allows \(255 bytes\) \(rename it or choose a "
                                                             r"shorter name\)"), extra=("--out", LONG)),
    "out-under-a-file": _batch_case(lambda w: (_batch_clips(w), w.write("f", "x")), 5,
                                    lambda w: f"cannot write to {w.p('f/study')}: not a directory",
                                    extra=("--out", "f/study")),
    "out-in-proc": _batch_case(_batch_clips, 5, re.compile(r"cannot write to /proc/gaitlab-study: .*"),
                               extra=("--out", "/proc/gaitlab-study")),
    "pattern-matches-nothing": _batch_case(lambda w: w.p("clips").mkdir(), 2,
                                           "no videos found in clips (gaitlab batch reads .mp4, .mov, .m4v, .webm, .avi, "
                                           ".mkv files)"),
    "pattern-300-chars": _batch_case(lambda w: None, 2, re.compile(
        r"the batch input .*: a file name in the path is longer than the file system allows \(255 bytes\) \(rename it "
        r"or choose a shorter name\)"), pattern=LONG),
    "damaged-results-of-a-done-clip": _batch_case(
        lambda w: (_batch_clips(w), _fake_jobs(w), __import__("gaitlab.batch").batch.run_batch(
            str(w.p("clips")), w.p("study"), workers=1),
            [p.write_text("{") for p in w.p("study/clips").glob("*/result.json")]), 0, None,
        "videos: 1; analysed now: 0; failed now: 0; skipped (done before): 1",
        [(None, 6, "its results folder is damaged")]),
})


# ================================================================================================
# wrong-answer: clips that gave a wrong number with exit 0 are refused with the fix
# ================================================================================================

def _transformed(w, change, rel="changed.parquet"):
    from gaitlab.landmarks import Landmarks
    lm = Landmarks.load(w.lm)
    change(lm).save(w.p(rel))
    return w.p(rel)


def _rotated(lm, quarter_turns: int):
    """The picture turned clockwise by 90 deg ``quarter_turns`` times (as a clip whose rotation
    tag is missing shows it), keypoints and all."""
    img = lm.image.copy()
    width, height = lm.width, lm.height
    for _ in range(quarter_turns % 4):
        x, y = img[..., 0].copy(), img[..., 1].copy()
        img[..., 0], img[..., 1] = height - y, x
        width, height = height, width
    video = {**lm.attrs["video"], "width": width, "height": height}
    return lm.replace(image=img, attrs={**lm.attrs, "video": video})


def _mirrored_second_half(lm):
    from gaitlab.schema import KEYPOINTS
    swap = [KEYPOINTS.index(k.replace("left", "@").replace("right", "left").replace("@", "right")) for k in KEYPOINTS]
    img, half = lm.image.copy(), lm.n_frames // 2
    second = img[half:][:, swap]
    second[..., 0] = lm.width - second[..., 0]
    img[half:] = second
    return lm.replace(image=img, visibility=np.concatenate([lm.visibility[:half], lm.visibility[half:][:, swap]]))


def _wrong(change, message, code=4, extra=(), after=None):
    def make(w):
        path = _transformed(w, change)
        return Expect(["analyze", "--landmarks", path, "--out", "res", "--no-report", *extra], code, message,
                      after=after(w) if after else None)
    return make


_UPRIGHT = ("(turn the clip upright without re-encoding: ffmpeg -display_rotation {} -i side_left_normal.mp4 -c copy "
            "upright.mp4, then analyse upright.mp4)")


def _cadence_of(w, lo, hi):
    def check(out):
        cadence = json.loads(w.p("res/result.json").read_text())["cadence_spm"]["both"]
        assert lo <= cadence <= hi, cadence
    return check


variants("wrong-answer", "landmarks", {
    "upside-down": _wrong(lambda lm: _rotated(lm, 2), "the picture is upside down: the clip's rotation tag is missing "
                                                      "or wrong " + _UPRIGHT.format(180)),
    "on-its-side-clockwise": _wrong(lambda lm: _rotated(lm, 1),
                                    "the picture is on its side (the runner's head points right): the clip's rotation "
                                    "tag is missing or wrong " + _UPRIGHT.format(90)),
    "on-its-side-anticlockwise": _wrong(lambda lm: _rotated(lm, 3),
                                        "the picture is on its side (the runner's head points left): the clip's "
                                        "rotation tag is missing or wrong " + _UPRIGHT.format(-90)),
    "plays-2x-too-fast": _wrong(lambda lm: lm.replace(time=lm.time / 2),
                                "cadence 344 steps/min is faster than anyone runs: the clip plays faster than it was "
                                "filmed (the file says 120 fps) (give the frame rate the phone filmed at, e.g. "
                                "--capture-fps 60)"),
    "plays-3x-too-fast": _wrong(lambda lm: lm.replace(time=lm.time / 3),
                                "cadence 516 steps/min is faster than anyone runs: the clip plays faster than it was "
                                "filmed (the file says 180 fps) (give the frame rate the phone filmed at, e.g. "
                                "--capture-fps 60)"),
    "plays-4x-too-fast": _wrong(lambda lm: lm.replace(time=lm.time / 4),
                                "cadence 688 steps/min is faster than anyone runs: the clip plays faster than it was "
                                "filmed (the file says 240 fps) (give the frame rate the phone filmed at, e.g. "
                                "--capture-fps 60)"),
    "4x-with-a-wrong-capture-fps": _wrong(lambda lm: lm.replace(time=lm.time / 4),
                                          "cadence 688 steps/min at --capture-fps 240 is faster than anyone runs: the clip "
                                          "plays faster than it was filmed (the file says 240 fps) (give the frame rate "
                                          "the phone filmed at, e.g. --capture-fps 60)", extra=("--capture-fps", "240")),
    "4x-with-its-capture-fps": _wrong(lambda lm: lm.replace(time=lm.time / 4), None, code=0,
                                      extra=("--capture-fps", "60"), after=lambda w: _cadence_of(w, 171.5, 173)),
    "two-shots-facing-opposite-ways": _wrong(_mirrored_second_half,
                                             "the runner faces the other way from 3.0 s on: the video joins two "
                                             "shots, or the runner turned around (trim it to one stretch of running "
                                             "one way)"),
    "runner-too-small": _wrong(lambda lm: lm.replace(image=lm.image * np.float32(0.4)),
                               "the runner is only 119 pixels tall in the 640x480 picture: too small to measure steps "
                               "and angles (gaitlab needs at least 140) (film closer, or at a higher resolution, so the "
                               "runner fills most of the frame height)"),
    "upright-control": _wrong(lambda lm: lm, None, code=0, after=lambda w: _cadence_of(w, 171.5, 173)),
})


POSE_CASES = {
    "upside-down": ("upside_down.mp4", "the picture is upside down: the clip's rotation tag is missing or wrong (turn the "
                                       "clip upright without re-encoding: ffmpeg -display_rotation 180 -i upside_down.mp4 "
                                       "-c copy upright.mp4, then analyse upright.mp4)"),
    "wrong-rotation-tag": ("wrong_tag.mp4", "the picture is on its side (the runner's head points left): the clip's "
                                            "rotation tag is missing or wrong (turn the clip upright without "
                                            "re-encoding: ffmpeg -display_rotation 0 -i wrong_tag.mp4 -c copy "
                                            "upright.mp4, then analyse upright.mp4)"),
    "a-64x48-clip": ("tiny_64x48.mp4", re.compile(r"the runner is only \d+ pixels tall in the 64x48 picture: too small "
                                                  r"to measure steps and angles \(gaitlab needs at least 140\) \(film "
                                                  r"closer, or at a higher resolution, so the runner fills most of the "
                                                  r"frame height\)")),
    "hard-cut": ("hard_cut.mp4", "the runner faces the other way from 1.3 s on: the video joins two shots, or the "
                                 "runner turned around (trim it to one stretch of running one way)"),
}
#: Cases of the exit-code class that need the pose model too: (clip, exit code, message, options).
POSE_EXIT_CASES = {
    "broken-model-bundle": ("upright_1s.mp4", 2, "broken.task is not a pose landmarker model MediaPipe can load (The "
                                                 "model is not a valid Flatbuffer buffer) (give a pose landmarker .task "
                                                 "bundle, or leave out --model for the bundled one)",
                            ["--model", "broken.task"]),
}


_RUN_MANY = """
import json, os, sys, tempfile
from gaitlab.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    with tempfile.TemporaryFile() as err:
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)
        try:
            code = main(argv)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sys.stderr = sys.__stderr__
        err.seek(0)
        results.append([code, err.read().decode(errors="replace")])
print(json.dumps(results))
"""


def run_many(commands: list[list], cwd: Path, patch: str = "", timeout: int = 600) -> list[tuple[int, str]]:
    """Several commands through ``gaitlab.cli.main`` in one fresh process (one start-up for all),
    each with its own stderr captured at the file-descriptor level (native log lines included),
    numerical warnings switched on (``PYTHONWARNINGS=always``); ``patch`` runs first."""
    r = subprocess.run([sys.executable, "-c", patch + _RUN_MANY, json.dumps([[str(a) for a in c] for c in commands])],
                       cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "PYTHONWARNINGS": "always"})
    assert r.returncode == 0, r.stderr
    return [tuple(x) for x in json.loads(r.stdout.strip().splitlines()[-1])]


#: Run first in the process of the real clips: numerical warnings (an empty slice's mean, a division
#: by zero) on the way to every error, as degenerate inputs raise them. The minor case "numpy
#: warnings reach stderr": with PYTHONWARNINGS=always, the one line must still be all there is.
_NUMERICAL_WARNINGS = """
import numpy as np, gaitlab.pipeline as p
real = p.analyze_landmarks
def warn(*a, **k):
    np.mean(np.array([]))
    np.array([1.0]) / 0
    return real(*a, **k)
p.analyze_landmarks = warn
"""


def test_wrong_answer_real_clips(assets, tmp_path, ffmpeg):
    """wrong-answer class (and a broken model bundle of the exit-code class), through the real
    command with the pose model, in a process of its own (native log lines would show): each clip
    is refused in one line with exit 4, and where the fix is a command, running it turns the clip
    upright (its first frame then matches the upright original)."""
    from gaitlab.io.video import read_frame

    cases = [(name, 4, message, []) for name, message in POSE_CASES.values()] + list(POSE_EXIT_CASES.values())
    for name in {c[0] for c in cases} | {"broken.task"}:
        shutil.copy(assets / name, tmp_path / name)
    before = snapshot(tmp_path)
    outcomes = run_many([["analyze", name, "--out", f"res_{i}", "--no-report", *extra]
                         for i, (name, _, _, extra) in enumerate(cases)], tmp_path, patch=_NUMERICAL_WARNINGS)
    for i, ((name, expect_code, message, _), (code, err)) in enumerate(zip(cases, outcomes)):
        check_line(code, err, expect_code, message)
        assert not (tmp_path / f"res_{i}").exists()
        if "ffmpeg" in err:
            command = re.search(r"ffmpeg (.*?), then", err).group(1).split()
            subprocess.run([ffmpeg, "-y", "-loglevel", "error", *command], cwd=tmp_path, check=True)
            fixed = read_frame(tmp_path / "upright.mp4", 0).astype(float)
            upright = read_frame(assets / "upright_1s.mp4", 0).astype(float)
            assert fixed.shape == upright.shape and np.abs(fixed - upright).mean() < 10
            (tmp_path / "upright.mp4").unlink()
    check_untouched(before, snapshot(tmp_path))


# ================================================================================================
# minor, and signals at every stage
# ================================================================================================

_STAGES = {
    # stage -> (object, attribute) whose call starts it
    "loading-landmarks": ("gaitlab.pipeline", "Landmarks"),
    "analysis": ("gaitlab.pipeline", "analyze_landmarks"),
    "writing-results": ("gaitlab.result", "AnalysisResult.save"),
    "report": ("gaitlab.report", "write_report"),
    "committing": ("gaitlab.io.outdir", "write_manifest"),
}
_SIGNALS = {"SIGINT": (signal.SIGINT, 130, "interrupted; no results were written"),
            "SIGTERM": (signal.SIGTERM, 143, "stopped by SIGTERM; no results were written"),
            "SIGHUP": (signal.SIGHUP, 129, "stopped by SIGHUP; no results were written")}


def _signal_at(stage, sig):
    """A real signal sent to this process when a stage starts: the run stops cleanly (nothing
    half-written left, the earlier results untouched)."""
    def make(w):
        import importlib

        module_name, attr = _STAGES[stage]
        module = importlib.import_module(module_name)
        owner, name = (module, attr) if "." not in attr else (getattr(module, attr.split(".")[0]), attr.split(".")[1])
        real = getattr(owner, name)
        signum, code, message = _SIGNALS[sig]

        if stage == "loading-landmarks":
            class Stopped(real):
                @classmethod
                def load(cls, *a, **k):
                    os.kill(os.getpid(), signum)
                    return real.load(*a, **k)
            w.mp.setattr(owner, name, Stopped)
        else:
            def stop(*a, **k):
                os.kill(os.getpid(), signum)
                time.sleep(0.05)
                return real(*a, **k)
            w.mp.setattr(owner, name, stop)
        w.results("res")
        report = [] if stage == "report" else ["--no-report"]
        return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite", *report], code, message)
    return make


variants("own", "signal", {f"{sig}-while-{stage}": _signal_at(stage, sig) for stage in _STAGES for sig in _SIGNALS})


@case("minor")
def sigterm_while_rewriting_a_report(w):
    w.results("res", report=True)
    import gaitlab.report.pdf as pdf
    real = pdf.write_pdf

    def stop(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return real(*a, **k)
    w.mp.setattr(pdf, "write_pdf", stop)
    return Expect(["report", "res"], 143, "stopped by SIGTERM; no results were written")


def _partial(w, name, mark):
    d = w.p(name)
    d.mkdir()
    (d / "landmarks.parquet").write_bytes(b"half")
    if mark is not None:
        (d / ".gaitlab-partial").write_text(mark)
    return d


@case("minor")
def leftover_partial_of_a_killed_run_is_removed(w):
    _partial(w, ".res.partial-4000000-abcdef", f"{socket.gethostname()} 4000000\n")

    def after(out):
        assert not w.p(".res.partial-4000000-abcdef").exists()
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--no-report"], 0,
                  changes=(".res.partial-4000000-abcdef",), after=after)


variants("own", "hidden_folder_that_looks_like_a_partial", {
    "without-gaitlab-mark": lambda w: (_partial(w, ".res.partial-4000000-abcdef", None),
                                       Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--no-report"], 0))[1],
    "of-a-running-process": lambda w: (_partial(w, f".res.partial-{os.getpid()}-abcdef",
                                                f"{socket.gethostname()} {os.getpid()}\n"),
                                       Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--no-report"], 0))[1],
    "of-another-host": lambda w: (_partial(w, ".res.partial-4000000-abcdef", "elsewhere 4000000\n"),
                                  Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--no-report"], 0))[1],
    "of-another-folder": lambda w: (_partial(w, ".other.partial-4000000-abcdef", f"{socket.gethostname()} 4000000\n"),
                                    Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--no-report"], 0))[1],
})


@case("minor")
def ctrl_c_during_a_batch_keeps_finished_clips(w):
    _batch_clips(w, ("a.mp4",))
    shutil.copy(w.assets / "upright_1s.mp4", w.p("clips/b.mp4"))
    _fake_jobs(w)
    import gaitlab.batch as batch
    done = batch.run_job

    def run_job(job):
        if Path(job.video).name == "b.mp4":
            raise KeyboardInterrupt
        return done(job)
    w.mp.setattr(batch, "run_job", run_job)

    def after(out):
        assert len(list(w.p("study/clips").glob("a_*/manifest.json"))) == 1
    return Expect(["batch", "clips", "--out", "study", "--workers", "1"], 130,
                  "interrupted; the clips finished so far are kept in study (run the same command again to go on)",
                  after=after)


@case("minor")
def out_is_the_current_folder(w):
    w.results("res")
    return Expect(["analyze", "--landmarks", w.lm, "--out", ".", "--overwrite"], 5,
                  f"--out {w.p('res')} is the folder this command runs in (or holds it); gaitlab never replaces it "
                  "(choose a new folder for the results)", cwd=w.p("res"))


@case("minor")
def out_holds_the_current_folder(w):
    w.results("res")
    w.p("res/sub").mkdir()
    return Expect(["analyze", "--landmarks", w.lm, "--out", "..", "--overwrite"], 5,
                  f"--out {w.p('res')} is the folder this command runs in (or holds it); gaitlab never replaces it "
                  "(choose a new folder for the results)", cwd=w.p("res/sub"))


@case("minor")
def out_through_a_link_is_replaced_behind_the_link(w):
    w.results("real")
    os.symlink("real", w.p("res"))

    def after(out):
        assert os.readlink(w.p("res")) == "real" and (w.p("real") / "manifest.json").is_file()
        assert sorted(p.name for p in w.tmp.iterdir()) == ["real", "res"]
    return Expect(["analyze", "--landmarks", w.lm, "--out", "res", "--overwrite", "--no-report"], 0,
                  changes=("real",), after=after)


@case("minor")
def empty_keypoints_do_not_say_nan_fps(w):
    w.write("op/a_000000000000_keypoints.json", json.dumps({"people": []}))
    w.write("op/a_000000000001_keypoints.json", json.dumps(_op_person()))
    return Expect(["analyze", "--landmarks", "op", "--keypoints-fps", "30", "--out", "res"], 4,
                  "the runner is visible in too few frames to analyse")


def _run_patched(tmp: Path, patch: str, args: list, timeout=120) -> subprocess.CompletedProcess:
    """The console command (``main()`` as the entry point calls it) in a process of its own, with
    ``patch`` run first (to reach a stage or provoke a warning)."""
    code = f"import sys\n{patch}\nfrom gaitlab.cli import main\nsys.argv = ['gaitlab'] + {[str(a) for a in args]!r}\n" \
           "sys.exit(main())"
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True, text=True, timeout=timeout, env=env)


def test_minor_sigterm_in_the_report_stage_of_the_console_command(assets, tmp_path):
    """minor: SIGTERM (as a job scheduler or `kill` sends it) while the report is written, to the
    console command: exit 143, one line, no hidden half-written folder left."""
    patch = ("import os, signal, time, gaitlab.report as r\n"
             "real = r.write_report\n"
             "def stop(*a, **k):\n"
             "    os.kill(os.getpid(), signal.SIGTERM)\n"
             "    time.sleep(1)\n"
             "    return real(*a, **k)\n"
             "r.write_report = stop\n")
    (tmp_path / "lm.parquet").write_bytes((assets / "side.parquet").read_bytes())
    before = snapshot(tmp_path)
    r = _run_patched(tmp_path, patch, ["analyze", "--landmarks", "lm.parquet", "--out", "res"])
    check_line(r.returncode, r.stderr, 143, "stopped by SIGTERM; no results were written")
    check_untouched(before, snapshot(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lm.parquet"]


# ================================================================================================
# own: concurrent runs, and fuzzing of every file format gaitlab reads (hypothesis)
# ================================================================================================

def _owned(folder: Path) -> bool:
    from gaitlab.io.outdir import foreign_file, read_manifest
    manifest = read_manifest(folder)
    return manifest is not None and foreign_file(folder, manifest) is None and "run.json" in manifest


@pytest.mark.parametrize("overwrite", [False, True], ids=["new-folder", "overwrite"])
def test_own_concurrent_runs_into_one_folder(assets, tmp_path, overwrite):
    """Three runs write the same folder at once: each ends in success or exit 5 in one line; the
    folder ends complete and gaitlab's; nothing half-written is left beside it."""
    from gaitlab.errors import GaitlabError
    from gaitlab.pipeline import analyze

    out = tmp_path / "res"
    if overwrite:
        shutil.copytree(assets / "results", out)
        for p in out.rglob("*"):
            p.chmod(0o644)
    outcomes, barrier = [], threading.Barrier(3)

    def run():
        barrier.wait()
        try:
            analyze(None, out, landmarks=[assets / "side.parquet"], report=False, overwrite=overwrite)
            outcomes.append(0)
        except GaitlabError as exc:
            assert "\n" not in exc.one_line()
            outcomes.append((exc.exit_code, exc.one_line()))
    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == 3 and all(o == 0 or o[0] == 5 for o in outcomes), outcomes
    assert outcomes.count(0) >= 1 and (overwrite or outcomes.count(0) == 1), outcomes
    assert _owned(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                    max_leaves=12)


def _gaitlab_error_or_value(fn):
    """Call ``fn``: a GaitlabError with one line (not exit 70) or a value; anything else fails."""
    from gaitlab.errors import GaitlabError
    try:
        return fn()
    except GaitlabError as exc:
        assert exc.exit_code in (2, 3, 4, 5, 6) and "\n" not in exc.one_line(), exc.one_line()
        return None


@given(edits=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1, max_size=24),
       cut=st.none() | st.integers(8, 40_000))
@FUZZ
def test_own_fuzzed_video_headers(assets, tmp_path_factory, edits, cut):
    """Bytes of a clip's header changed (and the clip cut short): reading it ends in a video error
    or a video, never a crash or a hang."""
    from gaitlab.io.video import VideoReader, probe

    data = bytearray((assets / "upright_1s.mp4").read_bytes())
    for i, b in edits:
        data[i % len(data)] = b
    path = tmp_path_factory.mktemp("fz") / "clip.mp4"
    path.write_bytes(bytes(data[:cut] if cut else data))
    info = _gaitlab_error_or_value(lambda: probe(path))
    if info is not None:
        def read():
            with VideoReader(path) as reader:
                return sum(1 for _, _ in zip(range(8), reader))
        _gaitlab_error_or_value(read)


_KEYPOINT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                      st.text(max_size=3), st.none())
_DETECTION = st.fixed_dictionaries({
    "image_id": st.one_of(st.integers(0, 60).map(lambda i: f"{i}.jpg"), st.text(max_size=12),
                          st.integers(-5, 10**18).map(str)),
    "keypoints": st.one_of(st.builds(lambda base, noise: [v + n for v, n in zip(base, noise)],
                                     st.just(_person()), st.lists(st.floats(-50, 50), min_size=51, max_size=51)),
                           st.lists(_KEYPOINT, max_size=60), st.lists(st.lists(_KEYPOINT, max_size=3), max_size=20),
                           JSON)}, optional={"score": JSON})


@given(doc=st.one_of(st.lists(_DETECTION, max_size=30), JSON))
@FUZZ
def test_own_fuzzed_alphapose_files(tmp_path_factory, doc):
    """An AlphaPose results file of any shape: read and analysed, it ends in a one-line error or a
    result; memory stays bounded by what the file holds."""
    from gaitlab.pipeline import analyze_clip

    path = tmp_path_factory.mktemp("fz") / "alphapose.json"
    path.write_text(json.dumps(doc))
    _gaitlab_error_or_value(lambda: analyze_clip(landmarks=str(path), landmarks_fps=30.0))


@given(frames=st.lists(st.one_of(st.builds(lambda p: {"people": p}, st.lists(st.fixed_dictionaries(
    {"pose_keypoints_2d": st.one_of(st.just(_op_person()["people"][0]["pose_keypoints_2d"]),
                                    st.lists(_KEYPOINT, max_size=80), JSON)}), max_size=3)), JSON), min_size=1, max_size=6))
@FUZZ
def test_own_fuzzed_openpose_folders(tmp_path_factory, frames):
    from gaitlab.pipeline import analyze_clip

    folder = tmp_path_factory.mktemp("fz") / "op"
    folder.mkdir()
    for i, doc in enumerate(frames):
        (folder / f"run_{i:012d}_keypoints.json").write_text(json.dumps(doc))
    _gaitlab_error_or_value(lambda: analyze_clip(landmarks=str(folder), landmarks_fps=30.0))


@pytest.fixture(scope="module")
def short_landmarks(assets, tmp_path_factory):
    """The first 2.5 s of the real landmarks (quicker to analyse) and its gaitlab metadata."""
    import pyarrow.parquet as pq

    from gaitlab.landmarks import Landmarks
    path = tmp_path_factory.mktemp("short") / "short.parquet"
    Landmarks.load(assets / "side.parquet").select(slice(0, 150)).save(path)
    return pq.read_table(path), json.loads(pq.read_schema(path).metadata[b"gaitlab"])


_ATTR_KEYS = st.sampled_from(["video", "model", "subject", "time_scale", "imported_from", "processing", "pose_config",
                              "first_frame_time_s", "frames_decoded", "detected_fraction", "timestamps", "other"])


@given(changes=st.lists(st.tuples(_ATTR_KEYS, st.one_of(JSON, st.dictionaries(
    st.sampled_from(["width", "height", "name", "path", "rotation_deg", "fps_nominal", "runner_height_fraction",
                     "factor", "software", "layout", "bundled"]), JSON, max_size=3))), max_size=3))
@settings(parent=FUZZ, max_examples=15)
def test_own_fuzzed_landmarks_metadata(short_landmarks, tmp_path_factory, changes):
    """A gaitlab landmarks file whose provenance was edited into any shape: loading it refuses it in
    one line, or it is analysed and its report content drawn up without a crash."""
    import pyarrow.parquet as pq

    from gaitlab.pipeline import analyze_clip
    from gaitlab.report import report_content

    table, meta = short_landmarks
    attrs = json.loads(json.dumps(meta["attrs"]))
    for key, value in changes:
        attrs[key] = {**attrs[key], **value} if isinstance(attrs.get(key), dict) and isinstance(value, dict) else value
    path = tmp_path_factory.mktemp("fz") / "lm.parquet"
    pq.write_table(table.replace_schema_metadata({b"gaitlab": json.dumps({**meta, "attrs": attrs}).encode()}), path)
    result = _gaitlab_error_or_value(lambda: analyze_clip(landmarks=str(path))[0])
    if result is not None:
        report_content([result], ["clip.mp4"])


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@given(which=st.sampled_from(["result.json", "run.json"]), pick=st.integers(0, 10**6), value=JSON)
@settings(parent=FUZZ, max_examples=30)
def test_own_fuzzed_results_files(assets, tmp_path_factory, monkeypatch, which, pick, value):
    """A results folder whose result.json or run.json was edited (and its manifest re-signed, as a
    hostile user would): `gaitlab report` refuses it in one line, or gets as far as the report's
    content without a crash (the drawing itself is left out for speed)."""
    import gaitlab.pipeline as pipeline
    import gaitlab.report as report
    from gaitlab.io.outdir import write_manifest

    res = tmp_path_factory.mktemp("fz") / "res"
    shutil.copytree(assets / "results", res)
    for p in res.rglob("*"):
        p.chmod(0o644)
    doc = json.loads((res / which).read_text())
    paths = list(_paths(doc))
    path = paths[pick % len(paths)]
    if not path:
        doc = value
    else:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    (res / which).write_text(json.dumps(doc))
    write_manifest(res)
    drawn = []
    monkeypatch.setattr(report, "write_report", lambda results, names, folder, runner=None, earlier=None, videos=None,
                        overlay=False, **more: drawn.append(report.report_content(results, names, runner, earlier)) or {})
    _gaitlab_error_or_value(lambda: pipeline.report(res))


# ================================================================================================
# cluster: real `dask scheduler` and `dask worker` processes started from another folder
# ================================================================================================

def test_cluster_batch_returns_results_to_the_client_even_when_a_worker_is_killed(assets, tmp_path, ffmpeg):
    """The batch runs from its folder with relative paths; the scheduler and two workers run from
    another folder, as on a cluster. One worker is killed (SIGKILL) in the middle of analysing a
    clip. Every clip still ends in the table or in failures.csv, the counts printed match them,
    and nothing is written where the workers run."""
    pytest.importorskip("distributed")
    from distributed import Client

    dask = Path(sys.executable).with_name("dask")
    here, elsewhere = tmp_path / "client", tmp_path / "elsewhere"
    (here / "clips").mkdir(parents=True)
    elsewhere.mkdir()
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", SIDE, "-t", "2.5", "-c:v", "libx264", "-preset",
                    "ultrafast", "-crf", "18", "-an", here / "clips" / "run.mp4"], check=True)
    (here / "clips" / "notes.mp4").write_text("not a video")
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": elsewhere}
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", scheduler_file, "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard"], **quiet)]
    try:
        deadline = time.time() + 60
        while not scheduler_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                    "--host", "127.0.0.1"], **quiet) for _ in range(2)]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            pids = client.run(os.getpid)
            batch = subprocess.Popen([Path(sys.executable).with_name("gaitlab"), "batch", "clips", "--out", "study",
                                      "--scheduler", address], cwd=here, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
            # Once a job has run 1.5 s (the clip that is not a video has failed by then), kill its worker.
            killed, first_busy, deadline = None, None, time.time() + 120
            while killed is None and time.time() < deadline and batch.poll() is None:
                busy = [w for w, keys in client.processing().items() if keys]
                first_busy = first_busy or (time.time() if busy else None)
                if busy and time.time() - first_busy > 1.5:
                    killed = busy[0]
                    os.kill(pids[killed], signal.SIGKILL)
                time.sleep(0.1)
            out, err = batch.communicate(timeout=300)
        assert killed is not None, "no worker was busy long enough to be killed"
        assert batch.returncode == 0, err
        assert "Traceback" not in err
        failures = pd.read_csv(here / "study" / "failures.csv", dtype={"exit_code": "Int64"})
        summary = pd.read_csv(here / "study" / "summary_all.csv")
        clips = summary[["clip", "sha256"]].drop_duplicates().shape[0] if len(summary) else 0
        record = json.loads((here / "study" / "batch.json").read_text())
        print(f"killed {killed}; {out.strip()}")
        assert clips + len(failures) == 2
        assert f"analysed now: {record['analysed_now']}; failed now: {record['failed_now']}" in out
        assert record["analysed_now"] == clips and record["failed_now"] == len(failures)
        assert f"({clips} clips)" in out
        assert "notes.mp4" in failures["clip"].tolist()
        # The killed clip was run again by the surviving worker (Dask retries a lost task).
        assert clips == 1 and summary["clip"].unique().tolist() == ["run.mp4"]
        assert list(elsewhere.iterdir()) == [] or all(p.name.startswith("dask-") for p in elsewhere.iterdir())
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _cluster_rows(w, files_of):
    """Batch jobs answered as cluster workers answer: the results folder's files, returned."""
    import gaitlab.batch as batch

    def execute(jobs, workers, scheduler, progress):
        for job in jobs:
            yield {"clip": Path(job.video).name, "sha256": job.sha256, "folder": job.folder, "status": "done",
                   "exit_code": 0, "reason": "", "seconds": 0.0, "files": files_of(job)}
    w.mp.setattr(batch, "_execute", execute)
    w.mp.setattr(batch, "work_estimate", lambda video: 0.0)


def _returned(w):
    return lambda job: {p.relative_to(w.assets / "results").as_posix(): p.read_bytes()
                        for p in (w.assets / "results").rglob("*") if p.is_file() and p.name != "manifest.json"}


def _cluster_case(setup, files, failures):
    def make(w):
        _batch_clips(w, ("a.mp4",))
        setup(w)
        _cluster_rows(w, files(w))

        def after(out):
            table = pd.read_csv(w.p("study/failures.csv"))
            assert len(table) == len(failures)
            for r, (code, pattern) in zip(table.itertuples(), failures):
                assert r.exit_code == code and re.fullmatch(pattern, r.reason), r.reason
            assert (not failures) == (len(pd.read_csv(w.p("study/summary_all.csv"))) > 0)
        # The user's file in the clip's folder is among what must stay byte-identical.
        return Expect(["batch", "clips", "--out", "study"], 0, changes=("study/batch.json",), after=after)
    return make


def _user_file_in_clip_folder(w):
    from gaitlab.batch import clip_folder, prepare_folder
    from gaitlab.io.files import file_sha256
    folder = clip_folder(prepare_folder(w.p("study")), Path("a.mp4"), file_sha256(w.p("clips/a.mp4")))
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("keep")


variants("cluster", "results_returned_by_workers", {
    "stored-by-the-client": _cluster_case(lambda w: None, _returned, []),
    "clip-folder-holds-a-user-file": _cluster_case(
        _user_file_in_clip_folder, _returned,
        [(5, r"output folder .*/study/clips/a_[0-9a-f]{10} exists and was not written by gaitlab; not replacing it")]),
    "a-file-outside-the-clip-folder": _cluster_case(
        lambda w: None, lambda w: (lambda job: {"../../../evil.txt": b"x"}),
        [(5, "a worker returned a file outside the clip's folder")]),
})
