"""Every bad config is one line, exit 2, before anything is written; every good one still works.

Each case runs the real command in-process (`mgsearch.cli.main`) in an empty working directory:
a bad one must print exactly one `mgsearch: error: ...` line naming the key (and the file or
`--set` it came from), no traceback, and leave nothing behind but the index pass's probe memo
(`<cache_dir>/probe-*.json`, which `mgsearch schedule` writes for any config). Ray is replaced by
a tripwire: validation happens before Ray starts, so no case may reach it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from mgsearch.cli import main
from mgsearch.config import load_config

from .conftest import ROOT

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
SLOWFAST = sorted((ROOT / "tests" / "fixtures" / "slowfast").rglob("*.yaml"))
REFUSED_SLOWFAST = {"MVITv2_S_16x4.yaml"}  # SOLVER.COSINE_AFTER_WARMUP: True (refused by design)

# A small config on the tiny real dataset (52 train clips of 16 frames at 64x64 px).
BASE = {
    "name": "bad",
    "shape": {"batch": 2, "frames": 4, "crop": 32, "sampling_rate": 1},
    "solver": {"steps": [0, 2, 4], "max_epoch": 5},
    "train": {"workers": 0, "storage_path": "results"},
    "search": {"grid_sets": ["long_only"], "repeats": 1},
}


def _merge(base: dict, edit: dict) -> dict:
    out = dict(base)
    for k, v in edit.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.fixture
def workdir(tmp_path, monkeypatch, tiny_dataset):
    """An empty cwd with exp.yaml (BASE on the tiny dataset, caches under ./cache); Ray trips."""
    monkeypatch.chdir(tmp_path)

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray started: validation must fail before it")

    monkeypatch.setattr("mgsearch.search.ensure_ray", no_ray)
    monkeypatch.setattr("mgsearch.train.launch.ensure_ray", no_ray)
    (tmp_path / "weights.yaml").write_text("a: 1\nb: [2, 3]\n")
    (tmp_path / "weights.txt").write_text("hello\n")
    dataset = {**tiny_dataset, "cache_dir": "cache"}

    def write(edit: dict | None = None, text: str | None = None) -> str:
        data = _merge({**BASE, "dataset": dataset}, edit or {})
        (tmp_path / "exp.yaml").write_text(text if text is not None else yaml.safe_dump(data))
        return "exp.yaml"

    write()
    return tmp_path, write


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# (id, command line with {cfg} for the config file, edit of BASE or raw YAML text, what the
# line must name). Source: "file" (exp.yaml named), "--set" (the override named), or None.
BAD = [
    # clip shape against the videos and the scales
    ("crop-over-videos-schedule", "schedule {cfg}",
     {"shape": {"crop": 70}, "dataset": {"jitter_scales": [80, 90], "test_scale": 80}},
     ["shape.crop = 70", "upsampled"], "file"),
    ("crop-over-videos-train", "train {cfg}",
     {"shape": {"crop": 70}, "dataset": {"jitter_scales": [80, 90], "test_scale": 80}},
     ["shape.crop = 70", "64 px"], "file"),
    ("crop-over-videos-search", "search {cfg}",
     {"shape": {"crop": 70}, "dataset": {"jitter_scales": [80, 90], "test_scale": 80}},
     ["shape.crop = 70"], "file"),
    ("crop-over-videos-resume", "search {cfg} --resume", {"shape": {"sampling_rate": 6}},
     ["shape.sampling_rate = 6"], "file"),
    ("search-point-needs-more-clips", "search {cfg}",
     {"shape": {"batch": 4}, "search": {"grid_sets": ["wu2020"]}},
     ["search point", "'grid_set': 'wu2020'", "at least 64"], "file"),
    ("train-needs-more-clips", "train {cfg} --set multigrid.grid_set=wu2020",
     {"shape": {"batch": 4}}, ["needs batches of [64, 32, 32] clips", "52 clips"], "--set"),
    ("crop-over-cache-side", "train {cfg}",
     {"shape": {"crop": 60}, "dataset": {"cache_short_side": 48}},
     ["shape.crop = 60", "dataset.cache_short_side"], "file"),
    ("test-scale-below-crop", "schedule {cfg} --clips 1000", {"dataset": {"test_scale": 16}},
     ["dataset.test_scale = 16", "shape.crop = 32"], "file"),
    ("jitter-below-crop", "train {cfg}", {"dataset": {"jitter_scales": [16, 72]}},
     ["dataset.jitter_scales", "shape.crop = 32"], "file"),
    ("span-over-videos-schedule", "schedule {cfg}", {"shape": {"sampling_rate": 6}},
     ["shape.sampling_rate = 6", "19 source frames", "sampling_rate <= 5"], "file"),
    ("span-over-videos-train", "train {cfg} --set shape.sampling_rate=6", None,
     ["shape.sampling_rate = 6"], "--set"),
    # numbers that cannot be meant
    ("time-budget-negative", "search {cfg}", {"search": {"time_budget_s": -5}},
     ["search.time_budget_s = -5"], "file"),
    ("epoch-factor-inf", "schedule {cfg} --clips 1000", None,
     ["multigrid.epoch_factor", "finite"], "file", "multigrid:\n  epoch_factor: .inf\n"),
    ("base-lr-inf-set", "schedule {cfg} --clips 1000 --set solver.base_lr=.inf", None,
     ["solver.base_lr", "finite"], "--set"),
    ("base-lr-nan", "train {cfg}", None, ["solver.base_lr", "finite"], "file",
     "solver:\n  base_lr: .nan\n"),
    ("lrs-inf", "schedule {cfg} --clips 1000 --set solver.lrs=[1.0,.inf,0.1]", None,
     ["solver.lrs", "finite"], "--set"),
    ("seed-negative", "train {cfg}", {"train": {"seed": -1}}, ["train.seed = -1"], "file"),
    ("storage-path-empty", "train {cfg}", {"train": {"storage_path": ""}},
     ["train.storage_path = ''"], "file"),
    ("workers-negative", "train {cfg} --workers -1", None, ["train.workers = -1"], "--set"),
    ("clips-zero", "schedule {cfg} --clips 0", None, ["--clips 0"], None),
    # YAML itself
    ("duplicate-key", "schedule {cfg} --clips 1000", None,
     ["'crop' is given twice", "line 3", "line 2"], "file",
     "shape:\n  crop: 32\n  crop: 48\n"),
    ("duplicate-section", "train {cfg}", None, ["'shape' is given twice", "line 3", "line 1"],
     "file", "shape:\n  crop: 32\nshape:\n  batch: 4\n"),
    ("not-yaml", "schedule {cfg}", None, ["not valid YAML", "line"], "file",
     "shape: [1, 2\nsolver: {\n"),
    ("top-level-list", "schedule {cfg}", None, ["top level must be a mapping"], "file",
     "- shape\n- solver\n"),
    ("file-not-found", "train missing.yaml", None, ["'missing.yaml' not found"], None),
    # keys and types
    ("unknown-key", "train {cfg}", {"solver": {"base_lrr": 0.1}},
     ["solver.base_lrr", "did you mean 'solver.base_lr'"], "file"),
    ("typo-section", "search {cfg}", {"solvr": {"base_lr": 0.1}}, ["'solvr'"], "file"),
    ("wrong-type", "schedule {cfg}", {"shape": {"batch": "eight"}},
     ["shape.batch = 'eight'", "whole number"], "file"),
    ("set-unknown-key", "train {cfg} --set solver.nope=1", None, ["solver.nope"], "--set"),
    ("set-no-equals", "schedule {cfg} --set solver.base_lr", None,
     ["solver.base_lr", "key=value"], "--set"),
    ("set-into-value", "schedule {cfg} --set name.x=1", None, ["name.x"], "--set"),
    ("steps-not-increasing", "schedule {cfg}", {"solver": {"steps": [0, 3, 2]}},
     ["solver.steps = [0, 3, 2]", "increase"], "file"),
    ("batch-not-divisible", "schedule {cfg}", {"shape": {"batch": 3}, "train": {"workers": 2}},
     ["shape.batch = 3", "train.workers=2"], "file"),
    ("grid-set-typo", "schedule {cfg} --set multigrid.grid_set=wu2012", None,
     ["multigrid.grid_set", "wu2012"], "--set"),
    ("search-grid-set-unknown", "search {cfg}", {"search": {"grid_sets": ["nope"]}},
     ["search.grid_sets = 'nope'"], "file"),
    ("bn-base-sizes-zero", "search {cfg}", {"search": {"bn_base_sizes": [0]}},
     ["search.bn_base_sizes = [0]"], "file"),
    ("bn-two-authorities", "search {cfg}",
     {"multigrid": {"bn_base_size": 16}, "search": {"bn_base_sizes": [4]}},
     ["multigrid.bn_base_size = 16", "search.bn_base_sizes = [4]"], "file"),
    ("bn-two-authorities-set", "schedule {cfg} --clips 1000 --set search.bn_base_sizes=[4]",
     {"multigrid": {"bn_base_size": 8}},
     ["multigrid.bn_base_size = 8", "search.bn_base_sizes = [4]"], "--set"),
    # the data
    ("dataset-root-missing", "train {cfg}", {"dataset": {"root": "no/such/folder"}},
     ["dataset.root", "no/such/folder"], "file"),
    ("dataset-format-typo", "train {cfg}", {"dataset": {"format": "synthtic"}},
     ["dataset.format = 'synthtic'"], "file"),
    ("eval-subset-too-big", "train {cfg}", {"train": {"eval_subset_clips": 500}},
     ["train.eval_subset_clips = 500"], "file"),
    # models and weights
    ("model-name-typo-search", "search {cfg}", {"model": {"name": "resnet3d_smal"}},
     ["model.name = 'resnet3d_smal'", "did you mean 'resnet3d_small'"], "file"),
    ("model-name-typo-train", "train {cfg} --set model.name=resnet3d_smal", None,
     ["model.name = 'resnet3d_smal'"], "--set"),
    ("weights-yaml-train", "train {cfg}", {"model": {"weights_path": "weights.yaml"}},
     ["model.weights_path", "weights.yaml", "not a PyTorch weights file"], "file"),
    ("weights-text-search", "search {cfg}", {"model": {"weights_path": "weights.txt"}},
     ["model.weights_path", "weights.txt", "not a PyTorch weights file"], "file"),
    ("weights-missing", "train {cfg} --set model.weights_path=none.pt", None,
     ["model.weights_path", "none.pt", "not found"], "--set"),
    ("loss-not-importable", "train {cfg} --set train.loss=nowhere.mod:fn", None,
     ["train.loss"], "--set"),
    # names are names, not paths
    ("search-name-escapes", "search {cfg} --set search.name=../../escaped", None,
     ["search.name = '../../escaped'", "not a name"], "--set"),
    ("search-name-slash-file", "search {cfg}", {"search": {"name": "a/b"}},
     ["search.name = 'a/b'"], "file"),
    ("train-name-absolute", "train {cfg} --name /abs/path", None,
     ["--name = '/abs/path'", "not a name"], None),
    ("name-with-slash", "train {cfg}", {"name": "a/b"}, ["name = 'a/b'", "not a name"], "file"),
    ("name-with-slash-schedule", "schedule {cfg} --clips 1000 --set name=a/b", None,
     ["name = 'a/b'"], "--set"),
    # listed points (a found schedule's file)
    ("points-without-grid-set", "search {cfg}", {"search": {"points": [{"long_shapes": 3}]}},
     ["search.points[0]", "needs a grid_set"], "file"),
    ("points-with-a-distribution", "search {cfg}",
     {"search": {"points": [{"grid_set": "long_only", "long_s": {"uniform": [0.5, 1.0]}}]}},
     ["points[0].long_s", "plain values"], "file"),
    ("points-with-optuna", "search {cfg} --set search.algorithm=optuna",
     {"search": {"points": [{"grid_set": "long_only"}]}}, ["search.algorithm", "grid"], "--set"),
    ("points-misspelt-key", "search {cfg}",
     {"search": {"points": [{"grid_set": "long_only", "long_shape": 3}]}}, ["long_shape"], "file"),
    ("points-impossible-shape", "search {cfg}",
     {"search": {"points": [{"grid_set": "long_only", "long_shapes": 2, "long_s": 0.05}]}},
     ["search point", "long_s"], "file"),
    ("train-point-out-of-range", "train {cfg} --point 3",
     {"search": {"points": [{"grid_set": "long_only"}]}}, ["--point 3", "lists 1"], None),
    ("schedule-point-none-listed", "schedule {cfg} --clips 1000 --point 0", None,
     ["--point 0", "lists no search.points"], None),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_config_is_one_line_and_writes_nothing(case, workdir, capsys):
    _, argv, edit, needles, source, *text = case
    root, write = workdir
    cfg = write(edit, text[0] if text else None)
    before = _files(root)
    code = main(argv.format(cfg=cfg).split())
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("mgsearch: error:")]
    assert code == 2, err
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    line = errors[0]
    for needle in needles:
        assert needle in line, line
    if source == "file":
        assert cfg in line, line
    elif source == "--set":
        assert "--set" in line, line
    new = _files(root) - before
    assert {Path(f).name.startswith("probe-") and f.startswith("cache") for f in new} <= {True}, new
    assert not (root / "results").exists()


# -- what must keep working -------------------------------------------------------------------

# Override forms users write, each on exp.yaml (`mgsearch schedule --clips 1000`).
GOOD_SETS = [
    ["solver.base_lr=1e-3"], ["solver.base_lr=1E-3"], ["solver.base_lr=5e-1"],
    ["solver.base_lr=.05"], ["solver.base_lr=1"], ["solver.weight_decay=1e-4"],
    ["solver.warmup_epochs=0"], ["solver.warmup_epochs=0.5", "solver.warmup_start_lr=1e-5"],
    ["solver.steps=[0, 3, 4]"], ["solver.steps=[0,1]", "solver.max_epoch=3"],
    ["solver.lrs=null"], ["solver.lrs=[1, 0.5, 0.1]"], ["solver.nesterov=false"],
    ["solver.policy=cosine"], ["train.loss=null"], ["train.channels_last=no"],
    ["train.use_gpu=false"], ["train.seed=0"], ["train.seed=7"],
    ["train.storage_path=elsewhere/results"], ["model.weights_path=null"],
    ["multigrid.lr_policy=null"], ["multigrid.grid_set=baseline"],
    ["multigrid.grid_set=short_only"], ["multigrid.epoch_factor=2"],
    ["search.time_budget_s=600"], ["search.time_budget_s=null"],
    ["search.bn_base_sizes=[4, 8]"], ["search.bn_base_sizes=null"],
    ["search.bn_base_sizes=[8]", "multigrid.bn_base_size=8"], ["multigrid.bn_base_size=4"],
    ["search.name=quick-2.b"], ["search.name=null"], ["name=run_1"],
    ["search.grid_sets=[wu2020, long_only]"], ["search.lr_multipliers=[0.5, 1, 2e0]"],
]


@pytest.mark.parametrize("sets", GOOD_SETS, ids=[" ".join(s) for s in GOOD_SETS])
def test_good_overrides_are_accepted(sets, workdir, capsys):
    _, write = workdir
    argv = ["schedule", write(), "--clips", "1000", "--json"]
    for s in sets:
        argv += ["--set", s]
    code = main(argv)
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.name for p in EXPERIMENTS])
def test_every_experiment_loads_and_schedules(path, capsys):
    cfg = load_config(path)
    assert cfg.name
    assert main(["schedule", str(path), "--clips", "40000"]) == 0, capsys.readouterr().err
    assert main(["schedule", str(path), "--clips", "40000", "--baseline", "--json"]) == 0


@pytest.mark.parametrize("path", SLOWFAST, ids=[p.name for p in SLOWFAST])
def test_real_slowfast_configs_keep_loading(path, capsys):
    """Published PySlowFast configs repeat keys (MVITv2_S_16x4: SOLVER.COSINE_AFTER_WARMUP
    twice; BYOL_SlowR50_8x8: MODEL.ARCH twice): PySlowFast keeps the last, and so do we."""
    from mgsearch.slowfast import read_slowfast_yaml

    assert read_slowfast_yaml(path)
    code = main(["schedule", "--slowfast-config", str(path), "--clips", "240000"])
    assert code == (2 if path.name in REFUSED_SLOWFAST else 0), capsys.readouterr().err


# Clip shapes at the edge of the tiny videos (64x64 px, 16 frames), read from the data.
GOOD_DATA = [
    {"shape": {"crop": 64}},  # the whole short side
    {"shape": {"sampling_rate": 5}},  # (4 - 1) * 5 + 1 = 16 frames: the whole video
    {"dataset": {"cache": False}, "shape": {"crop": 64}},
]


@pytest.mark.parametrize("edit", GOOD_DATA, ids=[str(e) for e in GOOD_DATA])
def test_shapes_the_videos_hold_are_accepted(edit, workdir, capsys):
    _, write = workdir
    code = main(["schedule", write(edit)])
    err = capsys.readouterr().err
    assert code == 0 and "mgsearch: warning: shape" not in err, err


@pytest.fixture(scope="module")
def mixed_dataset(tiny_dataset, tmp_path_factory) -> dict:
    """The tiny set plus 8 videos of 8 frames at 32x32 px in its classes."""
    from mgsearch.data.synth import write_synth

    base = tmp_path_factory.mktemp("mixed")
    shutil.copytree(tiny_dataset["root"], base / "synth")
    write_synth(base / "small", clips=8, classes=4, frames=8, size=(32, 32), seed=2, workers=1,
                progress=False, task="motion", val=4)
    for video in (base / "small" / "train").rglob("*.mp4"):
        target = base / "synth" / video.relative_to(base / "small")
        shutil.copy(video, target.with_name("small_" + target.name))
    return {**tiny_dataset, "root": str(base / "synth")}


@pytest.mark.parametrize("edit, warning", [
    ({"shape": {"crop": 48}, "dataset": {"jitter_scales": [48, 56], "test_scale": 48}},
     "have a short side below it"),
    ({"shape": {"sampling_rate": 5}}, "have fewer frames than a clip spans (16;"),
], ids=["crop-over-some-videos", "span-over-some-videos"])
def test_some_videos_too_small_is_one_warning(edit, warning, workdir, mixed_dataset, capsys):
    _, write = workdir
    code = main(["schedule", write(_merge(edit, {"dataset": {"root": mixed_dataset["root"]}}))])
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if warning in line]
    assert code == 0, err
    assert len(warnings) == 1 and warnings[0].startswith("mgsearch: warning:"), err
    assert "4 of 56 videos" in warnings[0], warnings[0]


def test_one_bn_authority_reaches_every_point(workdir):
    """search.bn_base_sizes null: every point (the baseline too) has multigrid.bn_base_size;
    set: the multigrid points take its values and the baseline its first."""
    from mgsearch.search import search_points

    _, write = workdir
    cfg = load_config(write({"multigrid": {"bn_base_size": 4}}))
    assert {p.bn_base_size for p in search_points(cfg)} == {4}
    cfg = load_config(write({"search": {"bn_base_sizes": [16, 2]}}))
    points = search_points(cfg)
    assert [p.bn_base_size for p in points if p.is_baseline] == [16]
    assert {p.bn_base_size for p in points if not p.is_baseline} == {16, 2}


def test_a_configs_record_reloads_with_both_bn_keys():
    """trial.json holds every key (to_dict): its two BN keys are not a user's conflict."""
    import dataclasses

    from mgsearch.config import Config, SearchConfig, config_from_dict
    from mgsearch.configtypes import to_dict

    cfg = dataclasses.replace(Config(), search=SearchConfig(bn_base_sizes=(4, 16)))
    assert config_from_dict(to_dict(cfg), "trial.json") == cfg


def test_null_bn_base_sizes_keeps_the_run_names_of_the_old_default():
    """search.bn_base_sizes null hashes as the old default [8]: existing runs still resume."""
    import dataclasses

    from mgsearch.contract import config_hash

    cfg = load_config(ROOT / "experiments" / "quickstart.yaml")
    old = dataclasses.replace(cfg, search=dataclasses.replace(cfg.search, bn_base_sizes=(8,)))
    assert cfg.search.bn_base_sizes is None and config_hash(cfg) == config_hash(old)



def test_schedule_shows_the_listed_point(workdir, capsys):
    """`mgsearch schedule FILE` on a found schedule's file (search.points) prints that point's
    schedule, as `mgsearch train FILE` trains it; --point picks another; --baseline the baseline."""
    import json

    _, write = workdir

    def doc(cfg, *extra):
        capsys.readouterr()
        assert main(["schedule", cfg, "--clips", "1000", "--json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    listed = write({"multigrid": {"grid_set": "long_only"},
                    "search": {"points": [{"grid_set": "short_only"},
                                          {"grid_set": "long_only", "long_shapes": 2}]}})
    first, second, base = doc(listed), doc(listed, "--point", "1"), doc(listed, "--baseline")
    assert first == doc(write({"multigrid": {"grid_set": "short_only"}}))
    # long_shapes 2: the long cycle is one coarse shape, then the full one
    assert len({tuple(st["shape"][1:]) for st in second["stages"]}) == 2
    assert second["totals"] != first["totals"]
    assert base["kind"] == "baseline"
