"""What the embedded `gist` task lets each grid learn: the properties a task for multigrid needs.

    python bench/gist_task.py run                      # every variant's search, one after another
    python bench/gist_task.py run --only coarsest long_only
    python bench/gist_task.py report --out docs/evidence/gist_task

Each variant is `experiments/quickstart.yaml` trained at one fixed shape, 3 seeds, as its own
search (`results/task-<variant>`, baseline only, one trial at a time on every core), read
against the quickstart's own baseline (`results/quickstart`, `make demo`):

- `coarsest`: only the quickstart's coarsest long-cycle grid, 2 x 23² at batch 64 (b·t·s² of the
  full shape), spread over the same span, LR scaled by sqrt(64/8) as multigrid scales it; the
  crop's jitter and test scale follow the grid's, so the view is the one multigrid trains on.
  Should learn clearly above chance (the scene and the travel are visible on it).
- `single_frame`: one frame of 32² at batch 8 (every iteration of the baseline: all the chances a
  one-frame model can get). Should stay well below the baseline (it sees the scene only).
- `batch4x`: the full shape at 4x the batch (32), LR x sqrt(4), the same epochs, 1/4 of the
  iterations: the paper's premise that larger batches at equal epochs keep the accuracy.

- `long_only`, `short_only`: the paper's other two grid sets, 3 seeds each (the demo runs
  `wu2020` only, to stay within its 25 minutes).

The report prints one table (verdicts against the baseline with the yardstick of
`mgsearch.analysis`) and the properties: the baseline's change over the last quarter of training
against its seed spread, when its seed-mean curve first left chance, and the coarsest and
single-frame runs against chance and the baseline.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd
from searches import combine, run_searches, set_args

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "experiments/quickstart.yaml"
BASE_LR = 3e-4  # experiments/quickstart.yaml solver.base_lr (the variants scale it)

VARIANTS: dict[str, dict[str, str]] = {
    "coarsest": {"shape.frames": "2", "shape.crop": "23", "shape.batch": "64",
                 "shape.sampling_rate": "28", "dataset.jitter_scales": "[23,40]",
                 "dataset.test_scale": "23", "solver.base_lr": f"{BASE_LR * math.sqrt(8):.6g}"},
    "single_frame": {"shape.frames": "1", "shape.sampling_rate": "1"},
    "batch4x": {"shape.batch": "32", "solver.base_lr": f"{BASE_LR * 2:.6g}"},
}
# The paper's other grid sets, as the quickstart runs wu2020 (kept out of `make demo` for time).
GRID_SETS = ("long_only", "short_only")


def overrides(name: str) -> list[str]:
    if name in GRID_SETS:
        sets = {"search.grid_sets": f"[{name}]", "search.baseline": "false"}
    else:
        sets = {**VARIANTS[name], "search.grid_sets": "[]", "search.baseline": "true"}
    sets = {**sets, "search.repeats": "3", "search.name": f"task-{name}"}
    return set_args(sets)


def run(names: list[str]) -> None:
    run_searches(CONFIG, {name: overrides(name) for name in names})


def combined(results: Path, names: list[str], demo: str):
    """One Experiment: the demo's trials as they are, each variant's relabelled as a grid set."""
    from mgsearch.analysis.load import load_experiment

    def relabel(name, frame):
        if name not in GRID_SETS:  # a fixed-shape run, read as a configuration of its own
            frame["grid_set"], frame["kind"] = name, "multigrid"

    return combine(results, {n: f"task-{n}" for n in names}, relabel,
                   base=load_experiment(results / demo), path=str(results / "task-*"))


def _curve(reports: pd.DataFrame, ids) -> pd.DataFrame:
    """Evaluations of the trials `ids`: budget fraction x seed, top-1 and whether a subset."""
    ev = reports[reports["trial_id"].isin(ids) & reports["val_top1"].notna()]
    return ev.pivot_table(index="baseline_budget_fraction", columns="trial_id",
                          values="val_top1").sort_index()


def properties(a) -> list[str]:
    """The task's measured properties, as Markdown lines."""
    from mgsearch.analysis.figures import chance_level, recorded_classes

    trials, reports = a.trials, a.experiment.reports
    chance = chance_level(recorded_classes(reports)) or math.nan
    lines = [f"Chance: {chance:.1f}% top-1."]
    base = trials[trials["kind"] == "baseline"]
    if len(base):
        curve = _curve(reports, base["trial_id"])
        final = base["final_top1"]
        q3 = curve[curve.index <= 0.75 + 1e-9].iloc[-1]
        change = final.mean() - q3.mean()
        lines.append(
            f"Baseline: final {final.mean():.1f}% (seeds {', '.join(f'{v:.1f}' for v in final)}; "
            f"SD {final.std():.2f}); at 3/4 of training {q3.mean():.1f}% (validation subset), "
            f"a change of {change:+.1f} points over the last quarter against a seed SD of "
            f"{final.std():.2f}.")
        mean = curve.mean(axis=1)
        left = mean[mean > 2 * chance]
        if len(left):
            lines.append(f"The baseline's seed-mean curve is above twice chance from "
                         f"{left.index[0]:.2f} of training on (first evaluation: "
                         f"{mean.iloc[0]:.1f}% at {mean.index[0]:.2f}).")
    lines += coarse_losses(trials, reports)
    for name, what in (("coarsest", "coarsest grid only"), ("single_frame", "one frame"),
                       ("batch4x", "4x batch")):
        row = a.summary[a.summary["label"].astype(str).str.startswith(name)]
        if row.empty:
            continue
        r = row.iloc[0]
        lines.append(f"{what}: {r['top1_mean']:.1f}% ({int(r['seeds'])} seeds, "
                     f"{r['top1_min']:.1f}-{r['top1_max']:.1f}), {r['top1_mean'] / chance:.1f}x "
                     f"chance, {r['top1_diff']:+.1f} points against the baseline "
                     f"[{r['top1_diff_low']:+.1f}, {r['top1_diff_high']:+.1f}]: {r['verdict']}.")
    return lines


def coarse_losses(trials: pd.DataFrame, reports: pd.DataFrame) -> list[str]:
    """wu2020's training loss, mean over seeds, at each report of its first long cycle: does it
    fall on the coarse grids (ln 12 = 2.48 is chance, ln 4 = 1.39 the scene alone)?"""
    ids = trials.loc[trials["grid_set"] == "wu2020", "trial_id"]
    rows = reports[reports["trial_id"].isin(ids) & reports["train_loss"].notna()]
    if rows.empty:
        return []
    full = rows["shape_t"].max()
    first_full = rows.loc[rows["shape_t"] == full, "point"].min()
    rows = rows[rows["point"] <= first_full]
    table = rows.groupby("point").agg(stage=("stage", "first"), t=("shape_t", "first"),
                                      s=("shape_s", "first"), loss=("train_loss", "mean"),
                                      seeds=("trial_id", "nunique"))
    cells = ", ".join(f"{r.t}x{r.s}² {r.loss:.2f}" for r in table.itertuples())
    return [f"wu2020's training loss through its first long cycle (mean of "
            f"{int(table['seeds'].max())} seeds, per report: shape and loss; chance ln 12 = 2.48, "
            f"the scene alone ln 4 = 1.39): {cells}."]


def report(results: Path, out: Path, names: list[str], demo: str) -> None:
    from mgsearch.analysis.report import analyze, write_report

    exp = combined(results, names, demo)
    paths = write_report(exp, out)
    summary = next(p for p in paths if p.name == "summary.md")
    props = "\n".join(f"- {line}" for line in properties(analyze(exp)))
    text = summary.read_text().replace("\n## Figures", f"\n## Task properties\n\n{props}\n"
                                                       f"\n## Figures", 1)
    summary.write_text(text)
    print(text.split("\n## Figures")[0])
    print(f"\nwrote {len(paths)} files to {out}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("run", "report"))
    names = list(VARIANTS) + list(GRID_SETS)
    p.add_argument("--only", nargs="+", choices=names, default=names)
    p.add_argument("--results", default=str(ROOT / "results"), help="train.storage_path")
    p.add_argument("--demo", default="quickstart", help="the demo's experiment under --results")
    p.add_argument("--out", default=str(ROOT / "results" / "task-report"))
    args = p.parse_args()
    if args.command == "run":
        run(args.only)
    else:
        report(Path(args.results), Path(args.out), args.only, args.demo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
