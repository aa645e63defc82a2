"""Before and after the schedule-engine changes, on the quickstart: what each change moved.

    python bench/schedule_changes.py run                 # every variant's search, in turn
    python bench/schedule_changes.py run --only after before
    python bench/schedule_changes.py report --out docs/evidence/schedule_changes

Four changes make multigrid work at the budgets of one machine: iteration-granular stages
(`multigrid.granularity`), a multigrid LR policy against an unchanged baseline recipe
(`multigrid.lr_policy` + `solver.lrs`), precise BatchNorm before evaluation
(`train.precise_bn_clips`) and span-preserving temporal sampling (`dataset.temporal_sampling`).
Each variant below is `experiments/quickstart.yaml` with every one of these keys set explicitly
(so the variants do not depend on what the YAML holds), run as its own search
(`results/changes-<variant>`, seeds 0-2, `--resume`), one search after another with two trials
at a time on the 2 cores: every variant runs under the same load. `after` is everything on;
`before` is everything off (the engine of 2026-11-29, whose evidence is in the README); each
`no-*` variant is `after` with one change reverted, on `wu2020` only. The baseline runs once, in
`after` (none of the changes alters a fixed-shape run except precise BN, which it gets), and the
report reads every variant against it: grid sets are relabelled `<grid set> (<variant>)`.
Measured on the 2-core machine: about 70 minutes for all variants.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from searches import combine, run_searches, set_args

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "experiments/quickstart.yaml"

OLD = {"multigrid.granularity": "epoch", "multigrid.lr_policy": "null", "solver.lrs": "null",
       "train.precise_bn_clips": "0", "dataset.temporal_sampling": "stride"}
NEW = {"multigrid.granularity": "iteration", "multigrid.lr_policy": "steps",
       "solver.lrs": "[1.0,1.0,0.1]", "train.precise_bn_clips": "200",
       "dataset.temporal_sampling": "span"}
ALL_SETS = "[wu2020,long_only,short_only]"

VARIANTS: dict[str, dict[str, str]] = {
    "after": {**NEW, "search.grid_sets": ALL_SETS, "search.baseline": "true"},
    "before": {**OLD, "search.grid_sets": ALL_SETS, "search.baseline": "false"},
    "no-iteration": {**NEW, "multigrid.granularity": "epoch"},
    "no-lr-policy": {**NEW, "multigrid.lr_policy": "null", "solver.lrs": "null"},
    "no-precise-bn": {**NEW, "train.precise_bn_clips": "0"},
    "no-span": {**NEW, "dataset.temporal_sampling": "stride"},
    "cosine-per-cycle": {**NEW, "multigrid.lr_policy": "cosine_per_cycle", "solver.lrs": "null"},
}
ONE_SET = {"search.grid_sets": "[wu2020]", "search.baseline": "false"}


def overrides(name: str) -> list[str]:
    sets = {**ONE_SET, **VARIANTS[name]} if name not in ("after", "before") else VARIANTS[name]
    sets = {**sets, "search.repeats": "3", "search.name": f"changes-{name}"}
    return set_args(sets)


def run(names: list[str]) -> None:
    run_searches(CONFIG, {name: overrides(name) for name in names})


def combined(results: Path, names: list[str]):
    """One Experiment of every variant's trials, grid sets relabelled by variant."""
    def relabel(name, frame):
        mine = frame["grid_set"] != "baseline"
        frame.loc[mine, "grid_set"] = frame.loc[mine, "grid_set"] + f" ({name})"

    return combine(results, {n: f"changes-{n}" for n in names}, relabel,
                   path=str(results / "changes-*"))


def report(results: Path, out: Path, names: list[str]) -> None:
    from mgsearch.analysis.report import write_report

    paths = write_report(combined(results, names), out)
    summary = next(p for p in paths if p.name == "summary.md")
    print(summary.read_text().split("\n## Figures")[0])
    print(f"\nwrote {len(paths)} files to {out}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", choices=("run", "report"))
    p.add_argument("--only", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--results", default=str(ROOT / "results"), help="train.storage_path")
    p.add_argument("--out", default=str(ROOT / "results" / "changes-report"))
    args = p.parse_args()
    if args.command == "run":
        run(args.only)
    else:
        report(Path(args.results), Path(args.out), args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
