"""`write_report` and `mgsearch report`: files written for finished and running searches."""

import argparse
import json

import pandas as pd
import pytest

from mgsearch.analysis import analyze, write_report
from mgsearch.analysis.cli import register
from mgsearch.errors import ConfigError

from .builders import copy_real_search, point
from .scenario import CURVES, write_search


def _parser():
    parser = argparse.ArgumentParser(prog="mgsearch")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_report_of_the_real_search(tmp_path, capsys):
    root = copy_real_search(tmp_path)
    args = _parser().parse_args(["report", str(root), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    out = tmp_path / "out"
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["grid_set"]) == ["baseline", "long_only", "wu2020"]
    md = (out / "summary.md").read_text()
    # The verdict leads (after the row's name); one seed each: no verdict, no interval.
    assert "| configuration | verdict | Δ top-1 vs baseline (pt) [95% Welch] |" in md
    assert list(summary.columns[:4]) == ["label", "verdict", "top1_diff", "top1_diff_low"]
    assert set(summary.loc[summary["kind"] != "baseline", "verdict"]) == {"too few seeds"}
    for label in summary["label"]:
        assert f"| {label} |" in md
    assert "Provisional" not in md  # every trial finished
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in ["accuracy_vs_time", "pareto", "throughput", "timeline_wu2020"]:
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert "[mgsearch] report:" in capsys.readouterr().out


def test_report_of_a_running_search_is_provisional(tmp_path):
    """Hand-built: short_only has reported 1 of its 3 epochs."""
    root = write_search(tmp_path / "search")
    # δ 0.5: long_only's best (70.4) misses the target 71 − 0.5 (the default δ 1 reaches it)
    paths = write_report(root, delta=0.5)  # default folder: <experiment>/report
    assert paths[0] == root / "report" / "summary.csv"
    md = (root / "report" / "summary.md").read_text()
    running = sum(len(c) < 3 for c in CURVES.values())
    assert f"**Provisional:** {running} of {len(CURVES)} trials" in md
    row = next(line for line in md.splitlines() if line.startswith("| short_only |"))
    assert "not yet (0/1)" in row and "1 (1 running)" in row
    row = next(line for line in md.splitlines() if line.startswith("| long_only |"))
    assert "not reached (0/1)" in row


def test_report_before_any_trial_reported(tmp_path):
    """Hand-built: a search whose two trials have only their params.json so far."""
    for trial_id, grid_set in (("fffff_00000", "baseline"), ("fffff_00001", "wu2020")):
        folder = tmp_path / f"{trial_id}_{grid_set}_s0"
        folder.mkdir()
        (folder / "params.json").write_text(json.dumps({"point": point(grid_set)}))
    write_report(tmp_path, tmp_path / "out")
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "**Provisional:** 2 of 2 trials" in md and "No baseline accuracy yet" in md
    assert len(pd.read_csv(tmp_path / "out" / "summary.csv")) == 2


def test_summary_columns_agree_with_the_tables(tmp_path):
    a = analyze(write_search(tmp_path))
    wu = a.summary.set_index("grid_set").loc["wu2020"]
    assert wu["speedup"] == pytest.approx(wu["baseline_time_to_target_s"]
                                          / wu["time_to_target_s"])
    assert a.summary.set_index("grid_set").loc["baseline", "speedup"] == 1.0
    assert wu["top1_mean"] == a.configs.set_index("grid_set").loc["wu2020", "top1_mean"]


def test_missing_or_empty_folder_is_one_config_error(tmp_path):
    args = _parser().parse_args(["report", str(tmp_path / "missing")])
    with pytest.raises(ConfigError, match="missing does not exist"):
        args.func(args)
    args = _parser().parse_args(["report", str(tmp_path)])
    with pytest.raises(ConfigError, match="no trials in") as err:
        args.func(args)
    assert "\n" not in str(err.value)
