"""The answer paragraph and the experiment file it proposes. The analyses here are hand-built
summary tables (a stand-in for `report.analyze`: the subject is how the answer reads them);
the files they write are loaded back by the real config loader and search planner."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pandas as pd
import pytest

from mgsearch.analysis.answer import FINALISTS_FILE, FOUND_FILE, answer, write_answer
from mgsearch.analysis.speedup import BaselineTarget
from mgsearch.config import SearchConfig, load_config
from mgsearch.contract import CONFIG_KEYS, SearchPoint, listed_points
from mgsearch.search import search_points

from ..conftest import ROOT

QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
NAN = math.nan


def row(label, kind="multigrid", verdict="matches", top1=99.0, clock=100.0, speedup=2.0,
        seeds=3, finished=3, **point):
    p = SearchPoint(**{"grid_set": "wu2020", **point})
    return {**{k: getattr(p, k) for k in CONFIG_KEYS}, "label": label, "kind": kind,
            "verdict": verdict, "top1_mean": top1, "top1_ci": 0.5 if seeds >= 3 else NAN,
            "seeds": seeds, "finished": finished, "top1_diff": top1 - 99.3,
            "top1_diff_low": top1 - 100.3 if seeds >= 3 else NAN,
            "top1_diff_high": top1 - 98.3 if seeds >= 3 else NAN,
            "speedup": speedup, "speedup_low": speedup * 0.8 if seeds >= 3 else NAN,
            "speedup_high": speedup * 1.2 if seeds >= 3 else NAN, "wallclock_mean": clock,
            "wallclock_ci": 5.0 if seeds >= 3 else NAN, "predicted_speedup": 3.0}


def analysis(rows, seeds=3, active=0):
    base = row("baseline", kind="baseline", verdict="baseline", top1=99.3, clock=240.0,
               speedup=1.0, seeds=seeds, finished=seeds, grid_set="baseline")
    return SimpleNamespace(
        summary=pd.DataFrame([base] + rows), delta=1.0, complete=active == 0,
        baseline=BaselineTarget(top1=99.3, wallclock_s=240.0, delta=1.0, seeds=seeds,
                                complete=True),
        trials=pd.DataFrame({"active": [True] * active + [False]}))


def test_a_match_names_the_fastest_matching_schedule_and_writes_a_file_that_trains_it(tmp_path):
    fast = dict(long_shapes=3, long_t=0.5, long_s=0.8, long_cycles=2, fine_tune_fraction=0.2,
                lr_policy="steps", lr_scaling="sqrt", epoch_factor=1.25, lr_multiplier=0.8)
    a = analysis([row("slow", speedup=1.5, clock=150.0),
                  row("fast", speedup=2.6, clock=95.0, **fast),
                  row("bad", verdict="worse", top1=90.0, speedup=NAN, clock=60.0)])
    base = load_config(QUICKSTART)
    ans = answer(a, base)
    assert ans.kind == "found" and ans.file == FOUND_FILE
    assert "`fast` matches" in ans.text and "**2.60×** [2.08–3.12" in ans.text
    assert "1 other configuration(s) match too" in ans.text
    written = write_answer(ans, tmp_path, cwd=ROOT)
    assert [p.name for p in written] == ["answer.md", FOUND_FILE]
    cfg = load_config(written[-1])  # the real loader reads what was written
    assert cfg.search.algorithm == "grid" and cfg.search.repeats == 3 and cfg.search.baseline
    assert cfg.dataset.root == base.dataset.root == "data/gist"  # relative, as the user wrote it
    found = SearchPoint(grid_set="wu2020", **fast)
    # `mgsearch search found.yaml`: the baseline's 3 seeds, then the found schedule's
    got = search_points(cfg)
    assert [p.grid_set for p in got] == ["baseline"] * 3 + ["wu2020"] * 3
    assert got[3:] == [SearchPoint(**{**found.as_dict(), "seed": s}) for s in range(3)]
    # `mgsearch train found.yaml` trains search.points[0]: the config the search trial trained
    trains = [dataclasses.replace(c, search=SearchConfig())
              for c in (listed_points(cfg)[0].apply(cfg), found.apply(base))]
    assert trains[0] == trains[1]  # (the search sections differ: what to run next)


def test_no_match_says_what_was_tried_and_the_closest():
    a = analysis([row("wu2020", verdict="worse", top1=72.2, speedup=NAN),
                  row("long_only", verdict="undecided", top1=97.0, speedup=NAN)])
    ans = answer(a, load_config(QUICKSTART))
    assert ans.kind == "none" and ans.config is None and ans.file is None
    assert "No configuration matches" in ans.text and "1 worse, 1 undecided" in ans.text
    assert "Closest: `long_only`" in ans.text


def test_one_seed_per_schedule_proposes_the_fastest_that_reached_the_target(tmp_path):
    rows = [row("a", verdict="too few seeds", top1=98.9, clock=120.0, seeds=1, finished=1,
                long_shapes=2, long_t=0.5),
            row("b", verdict="too few seeds", top1=98.5, clock=90.0, seeds=1, finished=1,
                long_shapes=3, long_t=0.25),
            row("c", verdict="too few seeds", top1=97.0, clock=50.0, seeds=1, finished=1,
                long_shapes=4, long_t=0.25),  # fastest, but below the 98.3% target
            row("d", verdict="too few seeds", top1=99.5, clock=200.0, seeds=1, finished=1,
                long_shapes=5, long_t=0.5)]
    ans = answer(analysis(rows), load_config(QUICKSTART))
    assert ans.kind == "candidates" and ans.file == FINALISTS_FILE
    assert [p.long_shapes for p in ans.points] == [3, 2]  # reached the target, fastest first
    assert "3 of 4 finished reached" in ans.text and "`b`" in ans.text
    cfg = load_config(write_answer(ans, tmp_path, cwd=ROOT)[-1])
    listed = [(p.grid_set, p.long_shapes) for p in listed_points(cfg)]
    # the finalists, then the config's named grid sets as references, 3 seeds each + baseline
    assert listed == [("wu2020", 3), ("wu2020", 2), ("wu2020", None)]
    reference = listed_points(cfg)[2]  # the config's own epoch factor, not SearchPoint's 1.0
    assert reference.epoch_factor == cfg.multigrid.epoch_factor == 1.5
    assert cfg.search.repeats == 3 and len(search_points(cfg)) == 3 * 4


@pytest.mark.parametrize("rows, kind", [([], "no trials")])
def test_nothing_to_answer_yet(rows, kind):
    assert answer(analysis(rows)).kind == kind
    a = analysis([row("x")])
    assert answer(SimpleNamespace(**{**vars(a), "baseline": None})).kind == "no baseline"
