"""The mgsearch command: schedule table, JSON, SlowFast import, and one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys

from mgsearch.cli import main
from mgsearch.config import load_config

from .conftest import ROOT

QUICKSTART = str(ROOT / "experiments" / "quickstart.yaml")


def test_schedule_table(capsys):
    assert main(["schedule", QUICKSTART]) == 0
    out = capsys.readouterr().out
    assert "grid set wu2020" in out and "predicted speed-up" in out
    # wu2020's coarsest long-cycle shape of the quickstart's B x T x S²: 8x the clips, T/4 frames,
    # S/sqrt(2) px (8·2·23² from 8 x 8 x 32²).
    shape = load_config(QUICKSTART).shape
    assert f"8·{shape.frames // 4}·{round(shape.crop / math.sqrt(2))}²" in out


def test_schedule_json_schema(capsys):
    assert main(["schedule", QUICKSTART, "--json", "--clips", "500"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "mgsearch.schedule/2"
    assert doc["granularity"] == "iteration" and doc["clips"] == 500
    for key in ("stages", "lr_table", "max_epoch", "baseline", "totals"):
        assert key in doc
    stage = doc["stages"][0]
    for key in ("lr_step", "shape", "start_epoch", "end_epoch", "start_iter", "end_iter",
                "global_batch", "short_cycle_global_batches", "lr"):
        assert key in stage
    assert len(stage["shape"]) == 3
    assert doc["baseline"]["kind"] == "baseline"
    assert doc["totals"]["speedup_iterations"] > 1
    assert doc["cost"]["clips_per_epoch"] == 500
    # Report points: the last one at the run's end, evaluations at 12 of the 24.
    assert doc["points"][-1]["iteration"] == doc["iterations"] == doc["totals"]["iterations"]
    assert sum(p["evaluate"] for p in doc["points"]) == 12 == sum(
        p["evaluate"] for p in doc["baseline"]["points"])


def test_set_overrides_reach_the_schedule(capsys):
    assert main(["schedule", QUICKSTART, "--json", "--set", "multigrid.grid_set=short_only"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["grid_set"] == "short_only"
    shape = load_config(QUICKSTART).shape  # short_only keeps the full shape in every stage
    assert {tuple(s["shape"]) for s in doc["stages"]} == {(1, shape.frames, shape.crop)}


def test_slowfast_config(tmp_path, capsys):
    from .test_slowfast import KINETICS_YAML

    path = tmp_path / "k.yaml"
    path.write_text(KINETICS_YAML)
    # Kinetics-400 size: the 8 workers' shards must hold the coarsest batch (1024 clips).
    assert main(["schedule", "--slowfast-config", str(path), "--json", "--clips", "240000"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["max_epoch"] == 358 and doc["granularity"] == "epoch"


def test_bad_config_exits_2_with_one_line_and_no_output(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("solver:\n  bse_lr: 1\n")
    proc = subprocess.run([sys.executable, "-m", "mgsearch.cli", "schedule", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgsearch: error: ")
    assert "solver.bse_lr" in lines[0] and "solver.base_lr" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing written


def test_bad_override_exits_2(capsys):
    assert main(["schedule", QUICKSTART, "--set", "multigrid.grid_set=wu2012"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'wu2020'" in err


def test_subcommand_modules_do_not_import_the_top_level_cli():
    """mgsearch.cli imports the subcommands to register them; they take the shared arguments
    from mgsearch.cliargs, never from mgsearch.cli (no import circle)."""
    import ast

    for rel in ("mgsearch/train/cli.py", "mgsearch/data/cli.py", "mgsearch/analysis/cli.py",
                "mgsearch/cliargs.py"):
        tree = ast.parse((ROOT / rel).read_text())
        imported = {(n.level, n.module) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {(0, a.name) for n in ast.walk(tree) if isinstance(n, ast.Import)
                     for a in n.names}
        assert not {m for m in imported if m in ((2, "cli"), (0, "mgsearch.cli"))}, rel


def test_shared_config_args_on_every_subcommand():
    from mgsearch.cli import build_parser

    parser = build_parser()
    for argv in (["train", "x.yaml"], ["search", "x.yaml"], ["schedule", "x.yaml"],
                 ["data", "preview", "x.yaml", "--out", "p.png"], ["data", "info", "root"]):
        args = parser.parse_args([*argv, "--set", "a=1", "--set", "b=2"])
        assert args.overrides == ["a=1", "b=2"], argv
    assert parser.parse_args(["schedule"]).config is None
