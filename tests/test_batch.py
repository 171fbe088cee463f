"""Batch processing: combined table, failures listed instead of stopping, content-hash resume after
a kill, and the same jobs on a Dask cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import SAMPLES, run_cli


@pytest.fixture()
def folder(tmp_path):
    clips = tmp_path / "clips in"
    clips.mkdir()
    for name in ("side_left_normal", "rear_normal"):
        shutil.copy(SAMPLES / f"{name}.mp4", clips / f"{name}.mp4")
    shutil.copy(SAMPLES / "side_left_normal.mp4", clips / "copy of side_left_normal.mp4")  # same content
    (clips / "notes.mp4").write_text("not a video")
    return clips


def test_batch_combines_clips_lists_failures_and_skips_done_clips(folder, tmp_path):
    out = tmp_path / "batch"
    r = run_cli("batch", folder, "--out", out, "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "videos: 4; analysed now: 2; failed now: 1; skipped (done before): 0; duplicates: 1" in r.stdout
    table = pd.read_parquet(out / "summary_all.parquet")
    # Files in name order; the copy comes first, so the original is the duplicate.
    assert json.loads((out / "batch.json").read_text())["duplicates"] == [
        {"clip": "side_left_normal.mp4", "same_as": "copy of side_left_normal.mp4"}]
    assert sorted(table["clip"].unique()) == ["copy of side_left_normal.mp4", "rear_normal.mp4"]
    assert list(table.columns[:3]) == ["clip", "sha256", "view"]
    assert table.groupby("clip")["view"].first().to_dict() == {"copy of side_left_normal.mp4": "side",
                                                               "rear_normal.mp4": "rear"}
    assert pd.read_parquet(out / "steps_all.parquet").groupby("clip").size().min() >= 10
    failures = pd.read_csv(out / "failures.csv")
    assert failures.to_dict("records") == [{
        "clip": "notes.mp4", "sha256": failures.sha256[0], "exit_code": 3,
        "reason": "notes.mp4 is not a readable video (no decodable video stream) (gaitlab reads mp4, mov, webm, avi and mkv)"}]
    # Rerun: nothing is analysed again, failures are remembered (and retried only when asked).
    r = run_cli("batch", folder, "--out", out)
    assert "analysed now: 0; failed now: 0; skipped (done before): 3" in r.stdout
    r = run_cli("batch", folder, "--out", out, "--retry-failed")
    assert "analysed now: 0; failed now: 1; skipped (done before): 2" in r.stdout


def test_killed_batch_resumes_with_only_the_rest(folder, tmp_path):
    (folder / "notes.mp4").unlink()
    (folder / "copy of side_left_normal.mp4").unlink()
    shutil.copy(SAMPLES / "front_drop_valgus.mp4", folder / "front_drop_valgus.mp4")
    out = tmp_path / "batch"
    exe = [sys.executable, "-m", "gaitlab", "batch", str(folder), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(exe, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "clips").glob("*/run.json"))) < 1:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # like a killed job: no clean-up runs
    proc.wait()
    done_before = len(list((out / "clips").glob("*/run.json")))
    assert 1 <= done_before < 3
    r = run_cli("batch", folder, "--out", out, "--workers", "1")
    assert r.returncode == 0, r.stderr
    record = json.loads((out / "batch.json").read_text())
    assert record["analysed_now"] == 3 - done_before and len(record["skipped"]) == done_before
    assert record["clips_in_table"] == 3
    assert not list((out / "clips").glob(".*partial*"))  # the killed run's half-written folder is gone


def test_batch_runs_on_a_dask_cluster(folder, tmp_path):
    from distributed import LocalCluster

    from gaitlab.batch import run_batch

    (folder / "rear_normal.mp4").unlink()
    out = tmp_path / "batch"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        record = run_batch(str(folder), out, scheduler=cluster.scheduler_address)
    assert record["scheduler"] == cluster.scheduler_address
    assert record["analysed_now"] == 1 and record["failed_now"] == 1 and record["clips_in_table"] == 1
