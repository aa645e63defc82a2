"""A user's dataset by import path (`dataset.format: "package.module:callable"`): the config
check, the adapter Loaders samples (mgsearch.data.userdata.UserClipDataset), the errors, and
`mgsearch data info`; with tests/userdata/moving_dots.py as the user's module."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mgsearch.data.config import FORMATS, DatasetConfig
from mgsearch.data.loaders import Loaders, prepare_data
from mgsearch.data.userdata import UserClipDataset, frame_indices, open_source
from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule

from ..conftest import make_config
from ..userdata import moving_dots

DOTS = "tests.userdata.moving_dots:build"
GRIDS = [SimpleNamespace(t=2, s=16, min_stride=2, max_stride=8),
         SimpleNamespace(t=4, s=24, min_stride=2, max_stride=4),
         SimpleNamespace(t=8, s=32, min_stride=2, max_stride=2)]


def dots_cfg(tmp_path, fmt: str = DOTS, **train):
    return make_config({
        "shape": {"batch": 2, "frames": 8, "crop": 32, "sampling_rate": 2},
        "solver": {"base_lr": 0.05, "steps": [0, 2], "max_epoch": 3},
        "multigrid": {"grid_set": "wu2020", "bn_base_size": 2},
        "dataset": {"format": fmt},
        "train": {"storage_path": str(tmp_path / "results"), **train},
    })


def dataset(train: bool = True, seed: int = 0, fmt: str = DOTS) -> UserClipDataset:
    dcfg = DatasetConfig(format=fmt)
    return UserClipDataset(open_source(dcfg, "train"), dcfg, GRIDS, train=train, seed=seed)


def test_the_format_is_a_built_in_name_or_an_import_path():
    assert DatasetConfig(format=DOTS).format == DOTS
    for name in FORMATS:
        assert DatasetConfig(format=name).format == name
    with pytest.raises(ConfigError) as err:
        make_config({"dataset": {"format": "foldr"}})
    assert ("dataset.format = 'foldr': is unknown; did you mean 'folder'? known: folder, list, "
            in str(err.value))
    assert "'package.module:callable'" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"dataset\.eval_clips = 2: an import-path format "):
        make_config({"dataset": {"format": DOTS, "eval_clips": 2}})


@pytest.mark.parametrize("grid", range(len(GRIDS)))
def test_batches_have_each_grids_shape_labels_and_classes(grid):
    ds = dataset()
    clips, labels, g = ds.batch([(i, grid) for i in (0, 5, 6, 11)])
    t, s = GRIDS[grid].t, GRIDS[grid].s
    assert g == grid and clips.shape == (4, 3, t, s, s) and clips.dtype == torch.float32
    assert labels.tolist() == [0, 1, 2, 3] and labels.dtype == torch.int64
    assert ds.classes == moving_dots.CLASSES and len(ds) == 48 and ds.labels[:5] == [0, 1, 2, 3, 0]
    clip, label = ds[(5, grid)]  # one item alone is the same clip as in its batch
    assert label == 1 and torch.equal(clip, clips[1])


def test_clips_are_reproducible_per_seed_epoch_and_item():
    a, b = dataset(seed=3), dataset(seed=3)  # as two DDP ranks build theirs
    for ds in (a, b):
        ds.set_epoch(2)
    batch = [(i, 0) for i in range(8)]
    assert torch.equal(a.batch(batch)[0], b.batch(batch)[0])
    assert torch.equal(a.batch(batch)[0][3], a.batch([(3, 0)])[0][0])  # not the batch's order
    b.set_epoch(3)
    assert not torch.equal(a.batch(batch)[0], b.batch(batch)[0])
    assert not torch.equal(a.batch(batch)[0], dataset(seed=4).batch(batch)[0])
    # evaluation gets no generator: the same clip every epoch and seed
    e1, e2 = dataset(train=False, seed=0), dataset(train=False, seed=9)
    e2.set_epoch(5)
    assert torch.equal(e1.batch(batch)[0], e2.batch(batch)[0])


def test_frame_indices_draws_the_stride_in_training_and_takes_the_centre_in_evaluation():
    strides = {int(np.diff(frame_indices(32, 2, (2, 8), np.random.default_rng(i)))[0])
               for i in range(200)}
    assert strides == set(range(2, 9))
    assert frame_indices(32, 4, (2, 2), None).tolist() == [12, 14, 16, 18]


def test_a_clip_of_the_wrong_shape_is_one_line_naming_both_shapes():
    ds = dataset(fmt="tests.userdata.moving_dots:build_wrong_shape")
    with pytest.raises(ConfigError) as err:
        ds.batch([(0, 1), (1, 1)])
    assert str(err.value) == (
        "dataset.format = 'tests.userdata.moving_dots:build_wrong_shape': clip(item 0, t=4, "
        "s=24, strides=(2, 4)) returned float32 (3, 4, 23, 24); expected float32 (3, 4, 24, 24) "
        "(C x t x s x s, normalized)")


def test_a_wrong_clip_stops_prepare_data(tmp_path):
    cfg = dots_cfg(tmp_path, "tests.userdata.moving_dots:build_wrong_shape")
    with pytest.raises(ConfigError, match=r"returned float32 \(3, 8, 31, 32\); expected float32 "
                                          r"\(3, 8, 32, 32\)"):
        prepare_data(cfg)


@pytest.mark.parametrize("fmt, expected", [
    ("mypkg_absent.clips:build", "dataset.format = 'mypkg_absent.clips:build': no module named "
                                 "'mypkg_absent'; the module must be importable"),
    ("tests.userdata.moving_dots:bild", "dataset.format = 'tests.userdata.moving_dots:bild': "
                                        "module 'tests.userdata.moving_dots' ("),
    ("tests.userdata.moving_dots:NOT_CALLABLE", "is not callable (its type: int)"),
])
def test_a_bad_import_path_is_one_line_in_check_imports(tmp_path, fmt, expected):
    from mgsearch.train.model import check_imports

    with pytest.raises(ConfigError) as err:
        check_imports(dots_cfg(tmp_path, fmt))
    assert expected in str(err.value) and "\n" not in str(err.value)
    if "bild" in fmt:
        assert "has no attribute 'bild'" in str(err.value)


def test_prepare_data_counts_training_items_and_checks_the_eval_subset(tmp_path):
    assert prepare_data(dots_cfg(tmp_path)) == 48
    with pytest.raises(ConfigError, match=r"train.eval_subset_clips = 17: the validation split "
                                          r"'val' .* holds 16 clips"):
        prepare_data(dots_cfg(tmp_path, eval_subset_clips=17))


def test_loaders_sample_a_users_source_as_a_built_in_one(tmp_path):
    cfg = dots_cfg(tmp_path, eval_subset_clips=8)
    sched = build_schedule(cfg, clips=48)
    loaders = Loaders(cfg, sched, rank=1, world=2)
    assert loaders.num_classes == 4 and len(loaders.train_set) == 48
    stage = sched.stages[0]
    batches = list(loaders.train(stage, epoch=0))
    assert len(batches) == len(loaders.train(stage, epoch=0).batch_sampler)
    for clips, labels, g in batches[:len(stage.grids)]:  # one batch of each short-cycle grid
        grid = stage.grids[g]
        assert clips.shape == (grid.per_worker_batch, 3, grid.t, grid.s, grid.s)
    val = [b for b in loaders.val()]
    assert sum(len(b[1]) for b in val) == 8 and val[0][0].shape[1:] == (3, 8, 32, 32)
    assert sum(len(b[1]) for b in loaders.val(subset=True)) == 4  # this rank's half of 8
    assert np.bincount([loaders.val_set.labels[i] for i in loaders.subset_items]).tolist() == [2] * 4
    bn = list(loaders.precise_bn(6))
    assert sum(len(b[1]) for b in bn) == 3 and bn[0][0].shape[1:] == (3, 8, 32, 32)
    per_clip = Loaders(cfg, sched, per_clip=True)  # the clip-by-clip path is the batched one here
    first = next(iter(per_clip.train(stage, epoch=0)))
    assert torch.equal(first[0], next(iter(Loaders(cfg, sched).train(stage, epoch=0)))[0])


def test_data_info_prints_the_sources_size_and_classes(tmp_path, capsys):
    import json

    import yaml

    from mgsearch.cli import main

    path = tmp_path / "dots.yaml"
    path.write_text(yaml.safe_dump({"dataset": {"format": DOTS}}))
    assert main(["data", "info", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"dataset data/gist ({DOTS}): 4 classes: right, left, down, up"
    assert out[1:3] == ["       train: 48 clips; clips per class 12-12",
                        "         val: 16 clips; clips per class 4-4"]
    assert out[3].startswith("  note: your own source (README 'Your own data'): no files are")
    assert main(["data", "info", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"]["val"]["clips_per_class"] == [4, 4, 4, 4]
    assert main(["data", "info", str(path), "--format", "tests.userdata.moving_dots:bild"]) == 2
    assert "has no attribute 'bild'" in capsys.readouterr().err


def test_data_info_refuses_an_unknown_format_by_name(tmp_path, capsys):
    from mgsearch.cli import main

    with pytest.raises(SystemExit):
        main(["data", "info", str(tmp_path), "--format", "kinetic"])
    assert "'kinetic' is unknown; did you mean 'kinetics'?" in capsys.readouterr().err


def test_a_source_without_clip_or_with_bad_labels_is_named(monkeypatch):
    dcfg = DatasetConfig(format="tests.userdata.moving_dots:build_bad")

    def build_bad(dataset_cfg, split):
        source = moving_dots.MovingDots(dataset_cfg, split)
        source.classes = ("right", "left")  # labels 2 and 3 have no name
        return source

    monkeypatch.setattr(moving_dots, "build_bad", build_bad, raising=False)
    with pytest.raises(ConfigError, match=r"split 'train': label 2 is not an int in \[0, 2\)"):
        open_source(dcfg, "train")
    monkeypatch.delattr(moving_dots.MovingDots, "clip")
    with pytest.raises(ConfigError, match=r"split 'train': the source \(MovingDots\) has no clip"):
        open_source(dcfg, "train")


def test_preview_draws_the_users_clips_on_every_grid(tmp_path):
    from mgsearch.allocation import schedule_grids
    from mgsearch.data.info import preview_info

    cfg = dots_cfg(tmp_path)
    rows = preview_info(cfg)
    assert len(rows) == len(schedule_grids(cfg))
    assert all(r.frames.shape == (r.grid[0], r.grid[1], r.grid[1], 3) for r in rows)
    assert {r.label for r in rows} <= set(moving_dots.CLASSES)
