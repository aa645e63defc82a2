"""`mgsearch data synth|info|preview` through their argparse entry (register + func)."""

from __future__ import annotations

import argparse
import json

import pytest

from mgsearch.data.cli import register
from mgsearch.errors import ConfigError


def _run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="mgsearch")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_synth_writes_and_reports(tmp_path, capsys):
    out = tmp_path / "s"
    assert _run("data", "synth", str(out), "--task", "motion", "--clips", "8", "--classes", "2",
                "--frames", "8", "--size", "32x32", "--workers", "1") == 0
    assert "wrote 6 train + 2 val clips" in capsys.readouterr().out
    assert len(list(out.glob("*/*/*.mp4"))) == 8


def test_bad_size_is_an_argparse_error(tmp_path):
    with pytest.raises(SystemExit):
        _run("data", "synth", str(tmp_path / "s"), "--size", "64by64")


def test_info_text_and_json(synth_root, capsys):
    assert _run("data", "info", str(synth_root)) == 0
    text = capsys.readouterr().out
    assert "(synthetic): 4 classes" in text and "train: 20 clips, 0 skipped" in text
    assert _run("data", "info", str(synth_root), "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["splits"]["val"]["clips"] == 4 and data["splits"]["train"]["fps"] == [25.0, 25.0]


def test_info_on_a_config_and_missing_root(tmp_path, synth_root, capsys):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"dataset:\n  root: {synth_root}\n")
    assert _run("data", "info", str(cfg)) == 0
    assert "4 classes" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="dataset.root"):
        _run("data", "info", str(cfg), "--set", f"dataset.root={tmp_path / 'none'}")


def test_preview_draws_every_grid(tmp_path, synth_root, capsys):
    from mgsearch.config import config_from_dict
    from mgsearch.data.info import preview_info
    from mgsearch.schedule import build_schedule

    raw = {"shape": {"batch": 8, "frames": 8, "crop": 32, "sampling_rate": 2},
           "solver": {"steps": [0, 8], "max_epoch": 12},
           "dataset": {"root": str(synth_root), "cache_dir": str(tmp_path / "c"),
                       "jitter_scales": [32, 36], "test_scale": 32}}
    cfg = config_from_dict(raw)
    rows = preview_info(cfg)
    # The preview needs no stage sizes: the grids of the schedule for any set that holds it.
    grids = build_schedule(cfg, clips=10_000).grids
    assert [r.grid for r in rows] == [(g.t, g.s, g.min_stride, g.max_stride) for g in grids]
    assert all(r.frames.shape == (g.t, g.s, g.s, 3) for r, g in zip(rows, grids))
    path = tmp_path / "exp.yaml"
    import yaml

    path.write_text(yaml.safe_dump(raw))
    assert _run("data", "preview", str(path), "--out", str(tmp_path / "p.png")) == 0
    assert (tmp_path / "p.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match=".png"):
        _run("data", "preview", str(path), "--out", str(tmp_path / "p.jpg"))
