"""Evaluation on a fixed class-balanced validation subset at intermediate points, the full set at
the end: the rule, its refusals, the same clips in every trial, and the reports of a real run."""

from __future__ import annotations

from collections import Counter

import pytest

from mgsearch.contract import baseline_of
from mgsearch.data.loaders import Loaders, balanced_subset, prepare_data
from mgsearch.errors import ConfigError
from mgsearch.schedule import build_schedule
from mgsearch.train.launch import run_training

from .configs import tiny_baseline
from .test_train_ray import rows


def test_subset_is_balanced_spread_and_fills_from_larger_classes():
    labels = [0] * 3 + [1] * 2 + [2] * 5
    assert balanced_subset(labels, 6) == [0, 2, 3, 4, 6, 8]  # 2 a class, evenly spaced
    uneven = [0] * 6 + [1] * 2
    small = balanced_subset(uneven, 6)  # class 1 runs out at 2: class 0 takes the other 4
    assert Counter(uneven[i] for i in small) == {0: 4, 1: 2}
    many = [i % 12 for i in range(600)]
    pick = balanced_subset(many, 100)
    counts = Counter(many[i] for i in pick)
    assert len(pick) == len(set(pick)) == 100 and max(counts.values()) - min(counts.values()) <= 1
    assert balanced_subset(many, 600) == list(range(600))


def tiny_cfg(tiny_dataset, tmp_path, seed=0, **train):
    return tiny_baseline(tiny_dataset, tmp_path, "subset", seed=seed, report_points=4,
                         eval_points=4, checkpoint_points=1, precise_bn_clips=8, **train)


def test_same_clips_for_every_seed_and_refusals(tiny_dataset, tmp_path):
    a = Loaders(tiny_cfg(tiny_dataset, tmp_path, seed=0, eval_subset_clips=4))
    b = Loaders(tiny_cfg(tiny_dataset, tmp_path, seed=7, eval_subset_clips=4))
    assert a.subset_items == b.subset_items and len(a.subset_items) == 4
    assert sorted(a.val_set.labels[i] for i in a.subset_items) == [0, 1, 2, 3]  # 4 classes
    # DDP ranks shard the subset as they shard the full set: every clip once, summed.
    cfg = tiny_cfg(tiny_dataset, tmp_path, eval_subset_clips=4)
    shards = [Loaders(cfg, rank=r, world=2).val(subset=True).batch_sampler for r in (0, 1)]
    assert sorted(i for s in shards for batch in s for i, _ in batch) == a.subset_items
    full = len(a.val_set)  # 8 validation clips in the tiny set
    with pytest.raises(ConfigError, match=rf"train.eval_subset_clips = {full + 1}: .* {full} clips"):
        prepare_data(tiny_cfg(tiny_dataset, tmp_path, eval_subset_clips=full + 1), workers=1)
    with pytest.raises(ConfigError, match="train.eval_subset_clips = -1: must be >= 0"):
        tiny_cfg(tiny_dataset, tmp_path, eval_subset_clips=-1)


def test_evaluation_batches_are_4x_the_training_batch_and_precise_bn_runs_at_it(tiny_dataset,
                                                                               tmp_path):
    """8 validation clips at B=4: one evaluation batch of 8 (4x would be 16), precise BN in
    batches of the training batch; `train.eval_batch` sets the evaluation batch; on 2 workers
    each evaluates 4x its own share of the batch."""
    cfg = tiny_cfg(tiny_dataset, tmp_path)
    loaders = Loaders(cfg)
    assert [len(b) for b in loaders.val().batch_sampler] == [8]
    assert [len(b) for b in loaders.precise_bn(8).batch_sampler] == [4, 4]
    three = Loaders(tiny_cfg(tiny_dataset, tmp_path, eval_batch=3))
    assert [len(b) for b in three.val().batch_sampler] == [3, 3, 2]
    assert [len(b) for b in three.precise_bn(8).batch_sampler] == [4, 4]
    ranks = [Loaders(cfg, rank=r, world=2) for r in (0, 1)]
    assert [r.val_batch for r in ranks] == [8, 8]  # 4 x (4 clips / 2 workers)
    assert [[len(b) for b in r.precise_bn(8).batch_sampler] for r in ranks] == [[2, 2], [2, 2]]
    with pytest.raises(ConfigError, match="train.eval_batch = -1: must be >= 1"):
        tiny_cfg(tiny_dataset, tmp_path, eval_batch=-1)


@pytest.mark.ray
@pytest.mark.slow
def test_intermediate_reports_read_the_subset_the_last_the_full_set(ray_local, tiny_dataset,
                                                                     tmp_path):
    cfg = tiny_cfg(tiny_dataset, tmp_path, eval_subset_clips=4)
    got = rows(run_training(baseline_of(cfg), name="subset").run_dir)
    sched = build_schedule(baseline_of(cfg), clips=52)
    assert [r["point"] for r in got] == [p.index for p in sched.points]
    assert all("val_top1" in r for r in got)
    assert [(r["val_subset"], r["val_clips"]) for r in got] == [(True, 4)] * 3 + [(False, 8)]
    off = rows(run_training(baseline_of(tiny_cfg(tiny_dataset, tmp_path / "off")),
                            name="full").run_dir)
    assert {(r["val_subset"], r["val_clips"]) for r in off} == {(False, 8)}
