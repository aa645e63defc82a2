"""mgsearch from Python: a Tune search built by hand from mgsearch's trainable and search space.

    python experiments/python_api.py          # from the repository root, after `make demo`'s venv
    python experiments/python_api.py --quick  # the same on 2 baseline epochs, one seed (a smoke run)

It does what `mgsearch search` does, written out the way a Ray Tune user writes a search: the
quickstart's config, `mgsearch.trainable(cfg)` (one Ray Train run per trial) and
`mgsearch.search_space(cfg)` (its points, the baseline first, each validated before any trial),
a `tune.Tuner` of our own, then the same report `mgsearch report` writes. `--quick` shortens the
schedule (2 baseline epochs, one LR step) and keeps one seed: a smoke run of the API, not
evidence. Writes `results/python_api[_quick]/`; the synthetic set is written first when
`data/gist` is missing (`mgsearch data synth data/gist`, about 1.5 min here).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ray import tune

import mgsearch

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["solver.max_epoch=2", "solver.steps=[0,1]", "solver.lrs=[1.0,0.1]",
         "search.repeats=1", "train.report_points=4", "train.eval_points=2",
         "train.checkpoint_points=2", "train.eval_subset_clips=300"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 baseline epochs, one seed")
    args = parser.parse_args(argv)
    name = "python_api_quick" if args.quick else "python_api"
    cfg = mgsearch.load_config(ROOT / "experiments" / "quickstart.yaml",
                               [f"name={name}", *(QUICK if args.quick else [])])
    cfg = mgsearch.config.with_absolute_paths(cfg, ROOT)  # results/ and data/ of the repository
    if not Path(cfg.dataset.root, "synth.json").exists():
        from mgsearch.data import write_synth

        write_synth(cfg.dataset.root)

    mgsearch.ensure_ray()  # a local Ray, or the cluster in RAY_ADDRESS
    tuner = tune.Tuner(
        mgsearch.trainable(cfg),
        param_space=mgsearch.search_space(cfg),  # {"point": grid_search([...])}, baseline first
        tune_config=tune.TuneConfig(metric=mgsearch.METRIC, mode=mgsearch.MODE,
                                    max_concurrent_trials=1),  # equal load: clocks comparable
        run_config=tune.RunConfig(name=cfg.name, storage_path=cfg.train.storage_path))
    grid = tuner.fit()

    for result in grid:
        point = mgsearch.SearchPoint.from_dict(result.config)
        top1 = (result.metrics or {}).get(mgsearch.METRIC, float("nan"))
        clock = (result.metrics or {}).get(mgsearch.TIME_ATTR, float("nan"))
        print(f"{point.grid_set:>10} seed {point.seed}: top-1 {top1:5.1f}%  clock {clock:6.1f} s"
              f"{'  error' if result.error else ''}")
    paths = mgsearch.write_report(grid.experiment_path)
    print(f"report: {paths[2]}")
    return 1 if grid.errors else 0


if __name__ == "__main__":
    sys.exit(main())
