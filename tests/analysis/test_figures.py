"""Figure info objects (what is drawn), and that each renderer writes PNG and SVG."""

import pytest

from mgsearch.analysis import (config_summary, curves_info, load_experiment,
                               observed_timeline_info, pareto_info, render_curves, render_pareto,
                               render_throughput, render_timeline, save_figure, throughput_info,
                               timeline_info, trial_summary)
from mgsearch.config import load_config
from mgsearch.schedule import build_schedule

from .builders import ROOT
from .scenario import CURVES, write_search


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    exp = load_experiment(write_search(tmp_path_factory.mktemp("search")))
    trials = trial_summary(exp.reports, exp.trials)
    return exp.reports, trials, config_summary(trials)


def test_curves_baseline_first_with_seed_bands(scenario):
    reports, trials, _ = scenario
    info = curves_info(reports, trials, target=70.5)
    assert info.series[0].label == "baseline" and info.series[0].is_baseline
    assert not any(s.is_baseline for s in info.series[1:])
    base = info.series[0]
    seeds = [CURVES[("baseline", s)] for s in (0, 1)]
    assert base.seeds == (2, 2, 2)
    assert base.time_s == tuple((a[0] + b[0]) / 2 for a, b in zip(*seeds))
    assert base.top1_low == tuple(min(a[1], b[1]) for a, b in zip(*seeds))
    assert base.top1_high == tuple(max(a[1], b[1]) for a, b in zip(*seeds))
    short = next(s for s in info.series if s.label == "short_only")
    assert short.points == (1,) and short.seeds == (1,)
    assert info.target == 70.5


def test_pareto_info_front_is_sorted_by_time(scenario):
    _, _, configs = scenario
    info = pareto_info(configs)
    assert {p.label for p in info.points} == set(configs["label"])
    assert [p.label for p in info.front] == list(
        configs[configs["pareto"]].sort_values("wallclock_mean")["label"])
    assert [p.is_baseline for p in info.points if p.label == "baseline"] == [True]


def test_timeline_from_the_quickstart_schedule():
    sched = build_schedule(load_config(str(ROOT / "experiments" / "quickstart.yaml")), clips=4000)
    info = timeline_info(sched)
    assert info.starts == tuple(float(s.start_epoch) for s in sched.stages)
    assert info.ends[-1] == sched.max_epoch
    assert info.shape_t == tuple(s.grids[-1].t for s in sched.stages)
    assert info.batch == tuple(s.global_batch for s in sched.stages)
    # The LR of every iteration (the quickstart's 740 < 5000 samples), at its epoch, warm-up
    # included.
    assert len(info.lr) == sched.iterations
    assert info.lr == tuple(sched.lr_at_iter(i) for i in range(sched.iterations))
    assert info.lr_epochs == tuple(sched.epoch_at_iter(i) for i in range(sched.iterations))
    assert list(info.lr_epochs) == sorted(info.lr_epochs)


def test_timeline_without_iterations_samples_epochs():
    cfg = load_config(str(ROOT / "experiments" / "quickstart.yaml"),
                      ["multigrid.granularity=epoch"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the quickstart's zero-length stages, at epochs
        sched = build_schedule(cfg)
    info = timeline_info(sched, samples_per_epoch=4)
    assert len(info.lr) == sched.max_epoch * 4
    assert info.lr == tuple(sched.lr_at(e) for e in info.lr_epochs)


def test_observed_timeline_from_reports(scenario):
    reports, trials, _ = scenario
    trial_id = trials.loc[trials["grid_set"] == "wu2020", "trial_id"].iloc[0]
    info = observed_timeline_info(reports, trial_id)
    rows = reports[reports["trial_id"] == trial_id]
    assert info.ends == tuple(float(e) for e in rows["epoch"])
    assert info.shape_t == tuple(rows["shape_t"]) and info.shape_s == tuple(rows["shape_s"])
    assert info.lr[:-1] == tuple(rows["lr"]) and info.lr_steps


def test_throughput_is_the_mean_per_stage(scenario):
    reports, trials, _ = scenario
    info = throughput_info(reports, trials)
    assert info.labels[0] == "baseline"
    bar = next(b for b in info.bars if b.label == "baseline" and b.stage == 0)
    rows = reports[(reports["grid_set"] == "baseline") & (reports["stage"] == 0)]
    assert bar.clips_per_s == pytest.approx(rows["clips_per_s"].mean())
    assert bar.epochs == len(rows) == 2  # one epoch per seed
    assert bar.shape == f"{rows['shape_t'].iloc[0]}×{rows['shape_s'].iloc[0]}² " \
                        f"b{rows['global_batch'].iloc[0]}"


def test_renderers_write_png_and_svg(scenario, tmp_path):
    reports, trials, configs = scenario
    sched = build_schedule(load_config(str(ROOT / "experiments" / "quickstart.yaml")), clips=4000)
    figs = {"curves": render_curves(curves_info(reports, trials)),
            "pareto": render_pareto(pareto_info(configs)),
            "throughput": render_throughput(throughput_info(reports, trials)),
            "timeline": render_timeline(timeline_info(sched))}
    for name, fig in figs.items():
        paths = save_figure(fig, tmp_path, name)
        assert [p.suffix for p in paths] == [".png", ".svg"]
        assert all(p.stat().st_size > 0 for p in paths)
        assert paths[1].read_text().lstrip().startswith("<?xml")
