"""What `mgsearch data info` and `mgsearch data preview` show, as data first, drawn second.

`dataset_summary` and `preview_info` are pure-ish functions returning plain objects (tests
assert on them); `format_summary` and `render_preview` turn them into text and a PNG.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import ConfigError
from ..imports import is_import_path
from .config import DatasetConfig
from .index import build_index, summarize


def dataset_config_for(target: str, fmt: str | None = None, overrides=()) -> DatasetConfig:
    """The DatasetConfig of an experiment YAML, or a default one pointed at a folder."""
    path = Path(target)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        from ..config import load_config

        dcfg = load_config(path, list(overrides)).dataset
        try:
            return dataclasses.replace(dcfg, format=fmt) if fmt else dcfg
        except ValueError as err:  # e.g. eval_clips > 1 with an import-path --format
            raise ConfigError(f"{target}: --format {fmt}: dataset.{err}") from None
    if not path.is_dir():
        raise ConfigError(f"{target!r} is neither a folder nor a config YAML; pass the dataset "
                          f"folder (e.g. data/synth) or an experiment file")
    if fmt is None:
        fmt = "synthetic" if (path / "synth.json").is_file() else "folder"
    return DatasetConfig(format=fmt, root=str(path))


def clip_span_for(target: str, overrides=()) -> int:
    """Source frames a clip spans at the default shape of an experiment YAML (or of the default
    config, for a folder): videos with fewer frames are counted as short."""
    from ..config import ShapeConfig, load_config
    from .sampling import default_span

    path = Path(target)
    is_config = path.is_file() and path.suffix in (".yaml", ".yml")
    return default_span(load_config(path, list(overrides)).shape if is_config else ShapeConfig())


def dataset_summary(dcfg: DatasetConfig, clip_span: int = 1,
                    decode_every_frame: Optional[bool] = None) -> dict:
    """Index both splits (probing each file once, as `build_index` does with
    `decode_every_frame`) and summarize; skipped and truncated files are listed, videos shorter
    than `clip_span` frames counted. A user's source (an import-path format) gives its items
    and classes only."""
    if is_import_path(dcfg.format):
        from .userdata import source_summary

        return source_summary(dcfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the summary lists every skipped file itself
        indexes = [build_index(dcfg, s, remember=False, decode_every_frame=decode_every_frame)
                   for s in (dcfg.train_split, dcfg.val_split)]
    out = summarize(indexes, clip_span, dcfg.short_video)
    out["format"] = dcfg.format
    out["decode_every_frame"] = (not dcfg.cache) if decode_every_frame is None \
        else decode_every_frame
    return out


def _range_text(r: list, unit: str = "") -> str:
    if not r:
        return "-"
    return f"{r[0]}{unit}" if r[0] == r[1] else f"{r[0]}-{r[1]}{unit}"


def format_summary(s: dict) -> str:
    lines = [f"dataset {s['root']} ({s['format']}): {s['num_classes']} classes: "
             + ", ".join(s["classes"][:12]) + (" ..." if s["num_classes"] > 12 else "")]
    for name, sp in s["splits"].items():
        if "skipped" not in sp:  # a user's source: nothing was probed
            lines.append(f"  {name:>10}: {sp['clips']} clips; clips per class "
                         f"{min(sp['clips_per_class'])}-{max(sp['clips_per_class'])}")
            continue
        lines.append(f"  {name:>10}: {sp['clips']} clips, {sp['skipped']} skipped, "
                     f"{len(sp['truncated_files'])} truncated, {sp['short']} short; "
                     f"{_range_text(sp['fps'], ' fps')}, {_range_text(sp['duration_s'], ' s')}, "
                     f"{_range_text(sp['frames'], ' frames')}, "
                     f"{_range_text(sp['width'])}x{_range_text(sp['height'])} px, "
                     f"{', '.join(sp['codecs'])}; clips per class "
                     f"{min(sp['clips_per_class'])}-{max(sp['clips_per_class'])}")
        for f in sp["skipped_files"]:
            lines.append(f"      skipped {f['path']}: {f['reason']}")
        for f in sp["truncated_files"]:
            lines.append(f"      truncated {f['path']}: {f['reason']}; used with its "
                         f"{f['frames']} frames")
    if any(sp.get("short") for sp in s["splits"].values()):
        lines.append(f"  short: videos of fewer than {s['clip_span']} frames (a clip's span): "
                     f"{s['short_handling']} (dataset.short_video: {s['short_video']})")
    lines += [f"  note: {n}" for n in s["notes"]]
    return "\n".join(lines)


@dataclass(frozen=True)
class PreviewRow:
    grid: tuple[int, int, int, int]  # t, s, min_stride, max_stride
    label: str
    frames: np.ndarray  # uint8 t x s x s x 3, un-normalized for display


def preview_info(cfg, clips_per_grid: int = 1, seed: int = 0) -> list[PreviewRow]:
    """Sampled training clips on every grid of the experiment's schedule, ready to draw."""
    from ..allocation import schedule_grids
    from .loaders import clip_dataset, open_split

    grids = schedule_grids(cfg)
    ds = clip_dataset(cfg, open_split(cfg.dataset, cfg.dataset.train_split), grids, train=True,
                      seed=seed)
    mean = np.asarray(cfg.dataset.mean).reshape(3, 1, 1, 1)
    std = np.asarray(cfg.dataset.std).reshape(3, 1, 1, 1)
    rng = np.random.default_rng(seed)
    rows = []
    for g, grid in enumerate(grids):
        for idx in rng.choice(len(ds), size=min(clips_per_grid, len(ds)), replace=False):
            clip, label = ds[(int(idx), g)]
            img = np.clip((clip.numpy() * std + mean) * 255 + 0.5, 0, 255).astype(np.uint8)
            rows.append(PreviewRow((grid.t, grid.s, grid.min_stride, grid.max_stride),
                                   ds.classes[label], img.transpose(1, 2, 3, 0)))
    return rows


def render_preview(rows: list[PreviewRow], out: str | Path, max_frames: int = 16) -> Path:
    """One strip per row (up to `max_frames` frames), titled with the grid; writes a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(max_frames, max(r.frames.shape[0] for r in rows))
    fig, axes = plt.subplots(len(rows), cols, figsize=(cols * 0.9, len(rows) * 1.0),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.axis("off")
            if c < row.frames.shape[0]:
                ax.imshow(row.frames[c], interpolation="nearest")
        t, s, lo, hi = row.grid
        axes[r, 0].set_title(f"{t}x{s}² stride {lo}-{hi}: {row.label}", fontsize=7, loc="left")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
