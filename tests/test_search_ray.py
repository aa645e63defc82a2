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


def finished_runs(exp: Path) -> dict[str, list[int]]:
    """Report points each trial's training wrote, by trial id, for trials that reached their end."""
    out = {}
    for f in (exp / "train_runs").glob("train-*/metrics.jsonl"):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        if rows and rows[-1]["point"] == rows[-1]["points"]:
            out[f.parent.name] = [r["point"] for r in rows]
    return out


def mgsearch(*args: str, **kw) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen([sys.executable, "-m", "mgsearch.cli", *args], cwd=str(ROOT), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


@pytest.fixture(scope="module")
def resumed_search(tmp_path_factory, tiny_dataset):
    tmp = tmp_path_factory.mktemp("search")
    cfg = write_config(tmp, tiny_dataset)
    exp = tmp / "results" / "tinysearch"
    first = mgsearch("search", str(cfg))
    deadline = time.time() + 300
    while not finished_runs(exp) and first.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    done_before = finished_runs(exp)
    first.send_signal(signal.SIGINT)  # as a user's Ctrl-C: Tune saves its state and stops
    log1 = first.communicate(timeout=120)[0]
    second = mgsearch("search", str(cfg), "--resume")
    log2 = second.communicate(timeout=600)[0]
    return {"cfg": cfg, "exp": exp, "done_before": done_before, "log1": log1, "log2": log2,
            "rc2": second.returncode}


def test_resume_finishes_without_rerunning_finished_trials(resumed_search):
    r = resumed_search
    assert r["done_before"], "no trial finished before the interrupt:\n" + r["log1"][-3000:]
    assert r["rc2"] == 0, r["log2"][-3000:]
    after = finished_runs(r["exp"])
    assert len(after) == 3  # baseline + two_stage + short_only
    for trial, points in r["done_before"].items():
        # A trial that had finished was not trained again: its points were written once.
        assert after[trial] == points == sorted(set(points)), trial
    assert "trials:" in r["log2"] and "baseline" in r["log2"]


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
