"""A tiny real search end to end: Tune trials of Ray Train runs on real MP4s, interrupted and
resumed (finished trials are not run again), then the report and the notebook on its folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def write_config(tmp_path: Path, dataset: dict) -> Path:
    cfg = {
        "name": "tinysearch",
        "shape": {"batch": 4, "frames": 4, "crop": 32, "sampling_rate": 1},
        "solver": {"base_lr": 0.05, "steps": [0, 2], "max_epoch": 3},
        "multigrid": {"bn_base_size": 2},
        "dataset": dataset,
        "train": {"workers": 0, "storage_path": str(tmp_path / "results"), "precision": "fp32"},
        # Grid sets whose largest batch fits the 52-clip tiny training set (wu2020's coarsest
        # stage needs 64 clips at once: preflight refuses it, tested in test_cost).
        "search": {"grid_sets": ["two_stage", "short_only"], "repeats": 1,
                   "max_concurrent_trials": 1},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run_rows(exp: Path) -> dict[str, list[dict]]:
    """Every report each trial's training wrote, by run folder name."""
    return {f.parent.name: [json.loads(line) for line in f.read_text().splitlines() if line]
            for f in (exp / "train_runs").glob("train-*/metrics.jsonl")}


def finished_runs(exp: Path) -> dict[str, list[int]]:
    """Report points each trial's training wrote, by trial id, for trials that reached their end."""
    return {name: [r["point"] for r in rows] for name, rows in run_rows(exp).items()
            if rows and rows[-1]["point"] == rows[-1]["points"]}


def checkpointed_unfinished(exp: Path) -> dict[str, tuple[int, int]]:
    """Unfinished runs with a checkpoint: run name -> the newest checkpoint's (iteration,
    point)."""
    from mgsearch.train.checkpoint import saved_in

    done = finished_runs(exp)
    out = {}
    for run in (exp / "train_runs").glob("train-*"):
        saved = saved_in(run)
        if saved and run.name not in done:
            meta = json.loads((saved[0] / "meta.json").read_text())
            out[run.name] = (meta["iteration"], meta["point"])
    return out


def mgsearch(*args: str, env: dict | None = None) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "mgsearch.cli", *args], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own session: the test kills only it


def kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL the driver and everything of its session (its local Ray): no clean-up runs."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def resumed_search(tmp_path_factory, tiny_dataset):
    """Kill the driver (SIGKILL, its whole session) once one trial has finished and the next
    has written a checkpoint, then `--resume`."""
    tmp = tmp_path_factory.mktemp("search")
    cfg = write_config(tmp, tiny_dataset)
    exp = tmp / "results" / "tinysearch"
    first = mgsearch("search", str(cfg))
    deadline = time.time() + 300
    try:
        while not (finished_runs(exp) and checkpointed_unfinished(exp)) and (
                first.poll() is None and time.time() < deadline):
            time.sleep(0.2)
    finally:
        kill_session(first)
    log1 = first.communicate(timeout=120)[0]
    # what the killed driver left (taken after the kill: nothing can write any more)
    done_before, ckpt_before, rows_before = (finished_runs(exp), checkpointed_unfinished(exp),
                                             run_rows(exp))
    second = mgsearch("search", str(cfg), "--resume")
    try:
        log2 = second.communicate(timeout=600)[0]
    finally:
        kill_session(second)
    return {"cfg": cfg, "exp": exp, "done_before": done_before, "ckpt_before": ckpt_before,
            "rows_before": rows_before, "log1": log1, "log2": log2, "rc2": second.returncode}


def test_resume_after_a_killed_driver_reruns_nothing_finished(resumed_search):
    r = resumed_search
    assert r["done_before"] and r["ckpt_before"], (
        "no trial finished and none checkpointed before the kill:\n" + r["log1"][-3000:])
    assert r["rc2"] == 0, r["log2"][-3000:]
    assert "search complete" in r["log2"]
    after = finished_runs(r["exp"])
    assert len(after) == 3  # baseline + two_stage + short_only
    for trial, points in r["done_before"].items():
        # A trial that had finished was not trained again: its points were written once.
        assert after[trial] == points == sorted(set(points)), trial


def test_resume_continues_an_interrupted_trial_from_its_checkpoint(resumed_search):
    r = resumed_search
    rows = run_rows(r["exp"])
    for run, (iteration, point) in r["ckpt_before"].items():
        assert f"resumed after iteration {iteration}" in r["log2"], r["log2"][-3000:]
        resumed = rows[run][len(r["rows_before"][run]):]  # what the second driver wrote
        # Training continued right after the checkpoint, its counters carried on, and every
        # point after it was reported once, to the end.
        assert [x["point"] for x in resumed] == list(range(point + 1, resumed[-1]["points"] + 1))
        assert resumed[0]["iterations"] > iteration
        assert rows[run][-1]["point"] == rows[run][-1]["points"]


def test_report_on_the_real_search(resumed_search, tmp_path):
    from mgsearch.cli import main

    assert main(["report", str(resumed_search["exp"]), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "summary.md").read_text()
    for name in ("baseline", "two_stage", "short_only"):
        assert name in md
    assert (tmp_path / "rep" / "figures" / "accuracy_vs_time.png").exists()


def test_notebook_runs_on_the_real_search(resumed_search, tmp_path):
    from mgsearch.analysis import execute_notebook

    nb = execute_notebook(resumed_search["exp"], out=tmp_path / "executed.ipynb", timeout_s=180)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "3 trials, 3 finished" in "".join(o.get("text", "") for o in outputs)


def test_a_search_on_file_uri_storage_is_reported(ray_local, tmp_path, tiny_dataset):
    """Storage given as a URI: Tune's trials, the Train runs and metrics.jsonl all land under it
    (not in a `file:` folder inside a trial's working directory), and `mgsearch report URI`
    reads it."""
    from mgsearch.cli import main
    from mgsearch.config import load_config
    from mgsearch.search import experiment_path, run_search

    cfg_path = write_config(tmp_path, tiny_dataset)
    uri = (tmp_path / "uri results").as_uri()  # file:///...uri%20results
    cfg = load_config(cfg_path, [f"train.storage_path={uri}", "search.grid_sets=[two_stage]",
                                 "search.baseline=false"])
    grid = run_search(cfg, clips=52)
    path = experiment_path(cfg)  # what `mgsearch search` prints (Tune's experiment_path is local)
    assert path == uri + "/tinysearch" and not grid.errors
    runs = list((tmp_path / "uri results" / "tinysearch" / "train_runs").glob(
        "train-*/metrics.jsonl"))
    lines = runs[0].read_text().splitlines() if len(runs) == 1 else []
    assert lines and len(lines) == json.loads(lines[-1])["points"]  # every report point, once
    assert not list(tmp_path.rglob("file:*"))
    assert main(["report", path, "--out", str(tmp_path / "rep")]) == 0
    assert "two_stage" in (tmp_path / "rep" / "summary.md").read_text()


def test_a_killed_trial_is_retried_from_its_checkpoint(tiny_dataset, tmp_path):
    """The trial's own process SIGKILLs itself mid-run (tests/usermodels/tiny3d.py): the search
    says "error" and exits 1; `--resume --retry-errored` continues that trial from its last
    checkpoint and completes."""
    from mgsearch.config import load_config
    from mgsearch.contract import predict
    from mgsearch.search import search_points

    sets = ["--set", "train.loss=tests.usermodels.tiny3d:ce_killed_after_env", "--set",
            "train.ref_step=false", "--set", "search.baseline=false", "--set",
            "search.grid_sets=[short_only]"]
    cfg = write_config(tmp_path, tiny_dataset)
    base = load_config(cfg, [a for a in sets if a != "--set"])
    (point,) = search_points(base)
    schedule, _ = predict(point.apply(base), clips=52)  # what the one trial trains
    ckpt = next(p for p in schedule.points if p.checkpoint)  # the first checkpoint
    assert ckpt.iteration + 2 < schedule.iterations
    first = mgsearch("search", str(cfg), *sets,
                     env={"MGSEARCH_TEST_KILL_AFTER": str(ckpt.iteration + 2)})
    try:
        log1 = first.communicate(timeout=300)[0]
    finally:
        kill_session(first)
    assert first.returncode == 1, log1[-3000:]
    assert "error" in log1 and "search NOT complete: 0 of 1 trials finished" in log1
    second = mgsearch("search", str(cfg), *sets, "--resume", "--retry-errored")
    try:
        log2 = second.communicate(timeout=300)[0]
    finally:
        kill_session(second)
    assert second.returncode == 0, log2[-3000:]
    assert f"resumed after iteration {ckpt.iteration}" in log2 and "search complete" in log2
    (rows,) = run_rows(tmp_path / "results" / "tinysearch").values()
    points = [r["point"] for r in rows]
    assert points[-1] == rows[-1]["points"] and sorted(set(points)) == list(
        range(1, rows[-1]["points"] + 1))  # every point reported; the ones after the
    # checkpoint that the killed process had reported, again by the resumed one
