"""Dataset layouts: read which videos belong to a split and their labels (no decoding here).

Each reader returns a `SplitList` for one split. Paths are absolute; files named by a list that
do not exist are kept (the index pass reports them as missing) so the user sees every problem at
once. Layouts (`dataset.format`):

- folder / synthetic: `root/<split>/<class>/<video>`; without split subfolders, `root/<class>/...`
  serves every split. `synthetic` also reads `root/synth.json` (classes, flip label map).
- list: `<ann>/<split>.txt` (or `.csv`), lines `relative/path label`; `<ann>/classes.txt` names.
- kinetics: `<ann>/<split>.csv` (`label,youtube_id,time_start,time_end,split`), files
  `<youtube_id>_<start:06d>_<end:06d>.<ext>` under `root/<split>/<label>/`, `root/<split>/`, `root/`.
- ssv2: `<ann>/labels.json`, `<ann>/train.json`, `<ann>/validation.json`; files `root/<id>.webm`.
- ucf101: `<ann>/classInd.txt`, `trainlist0N.txt`, `testlist0N.txt`; files `root/<Class>/<v>.avi`.
- hmdb51: `<ann>/<class>_test_split<N>.txt` (`video 1|2|0`: train, test, unused);
  files `root/<class>/<video>`.

`<ann>` is `dataset.annotations` when set, else `root`. Any other `dataset.format` is an import
path to the user's own code (mgsearch.data.userdata), which reads no files here.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..errors import ConfigError

VIDEO_EXTS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv", ".flv")
_SIDE_FILES = (".json", ".txt", ".csv", ".md")  # notes beside videos, never probed


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path of the video file
    label: int


@dataclass(frozen=True)
class SplitList:
    classes: tuple[str, ...]  # label -> class name
    entries: tuple[Entry, ...]
    flip_map: Optional[tuple[int, ...]] = None  # label after a horizontal flip (motion classes)
    note: str = ""  # something the summary should tell (e.g. no split folders)


def _need(path: Path, what: str, fix: str) -> Path:
    if not path.exists():
        raise ConfigError(f"{what} {str(path)!r} not found; {fix}")
    return path


def _is_test(split: str) -> bool:
    return split.lower() in ("val", "validation", "validate", "test", "testing")


def _folder(cfg, split: str, root: Path, ann: Path) -> SplitList:
    base, note = root / split, ""
    if not base.is_dir():
        base, note = root, (f"no '{split}/' subfolder in {root}: every split reads the same "
                            f"videos (add train/ and val/ subfolders to hold some out)")
    class_dir = root / cfg.train_split if (root / cfg.train_split).is_dir() else base
    classes = tuple(sorted(d.name for d in class_dir.iterdir()
                           if d.is_dir() and not d.name.startswith(".")))
    entries = []
    for label, name in enumerate(classes):
        folder = base / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() not in _SIDE_FILES:
                entries.append(Entry(str(f.resolve()), label))
    flip_map = None
    meta = root / "synth.json"
    if cfg.format == "synthetic" and meta.is_file():
        info = json.loads(meta.read_text())
        by_name = {c: i for i, c in enumerate(classes)}
        flip_map = tuple(by_name.get(info["hflip"].get(c, c), i) for i, c in enumerate(classes))
    return SplitList(classes, tuple(entries), flip_map, note)


def _split_file(ann: Path, split: str, exts: tuple[str, ...]) -> Path:
    for ext in exts:
        if (ann / f"{split}{ext}").is_file():
            return ann / f"{split}{ext}"
    raise ConfigError(f"no {' or '.join(split + e for e in exts)} in {ann}; write one or set "
                      f"dataset.annotations / dataset.train_split / dataset.val_split")


def _list(cfg, split: str, root: Path, ann: Path) -> SplitList:
    path = _split_file(ann, split, (".txt", ".csv"))
    pairs = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.replace(",", " ").split()
        if not parts or line.startswith("#"):
            continue
        if len(parts) < 2 or not parts[-1].lstrip("-").isdigit():
            raise ConfigError(f"{path} line {n}: expected 'path label' with an integer label, "
                              f"got {line!r}")
        pairs.append((" ".join(parts[:-1]), int(parts[-1])))
    names = ann / "classes.txt"
    n_cls = max((lab for _, lab in pairs), default=-1) + 1
    classes = (tuple(names.read_text().split("\n")[:n_cls]) if names.is_file()
               else tuple(str(i) for i in range(n_cls)))
    return SplitList(classes, tuple(Entry(str((root / p).resolve()), lab) for p, lab in pairs))


def _kinetics_rows(ann: Path, split: str) -> list[dict]:
    path = _split_file(ann, split, (".csv",))
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"label", "youtube_id", "time_start", "time_end"}
    if rows and not need <= set(rows[0]):
        raise ConfigError(f"{path}: columns {sorted(rows[0])} lack {sorted(need - set(rows[0]))}; "
                          f"Kinetics CSVs have label,youtube_id,time_start,time_end,split")
    return rows


def _kinetics(cfg, split: str, root: Path, ann: Path) -> SplitList:
    classes = tuple(sorted({r["label"] for r in _kinetics_rows(ann, cfg.train_split)}))
    by_name = {c: i for i, c in enumerate(classes)}
    entries = []
    for r in _kinetics_rows(ann, split):
        if r["label"] not in by_name:
            raise ConfigError(f"{ann / (split + '.csv')}: class {r['label']!r} is not in the "
                              f"{cfg.train_split} split; the splits must share one class list")
        stem = f"{r['youtube_id']}_{int(float(r['time_start'])):06d}_{int(float(r['time_end'])):06d}"
        found = None
        for folder in (root / split / r["label"], root / split, root):
            for ext in VIDEO_EXTS:
                if (folder / (stem + ext)).is_file():
                    found = folder / (stem + ext)
                    break
            if found:
                break
        entries.append(Entry(str((found or root / split / (stem + ".mp4")).resolve()),
                             by_name[r["label"]]))
    return SplitList(classes, tuple(entries))


def _ssv2_name(text: str) -> str:
    return text.replace("[", "").replace("]", "")


def _ssv2(cfg, split: str, root: Path, ann: Path) -> SplitList:
    labels = json.loads(_need(ann / "labels.json", "SSv2 labels file",
                              "set dataset.annotations to the folder holding labels.json")
                        .read_text())
    classes = tuple(name for name, _ in sorted(labels.items(), key=lambda kv: int(kv[1])))
    name = "validation" if _is_test(split) and not (ann / f"{split}.json").is_file() else split
    items = json.loads(_need(ann / f"{name}.json", "SSv2 split file",
                             "use train_split: train and val_split: validation").read_text())
    entries = []
    for it in items:
        key = _ssv2_name(it.get("template", it.get("label", "")))
        if key not in labels:
            raise ConfigError(f"{ann / (name + '.json')}: video {it.get('id')} has template "
                              f"{key!r}, not in labels.json; use the files of one release")
        entries.append(Entry(str((root / f"{it['id']}.webm").resolve()), int(labels[key])))
    return SplitList(classes, tuple(entries))


def _ucf101(cfg, split: str, root: Path, ann: Path) -> SplitList:
    ind = _need(ann / "classInd.txt", "UCF101 class index",
                "set dataset.annotations to the ucfTrainTestlist folder")
    classes = tuple(line.split()[1] for line in ind.read_text().splitlines() if line.strip())
    by_name = {c: i for i, c in enumerate(classes)}
    kind = "testlist" if _is_test(split) else "trainlist"
    lst = _need(ann / f"{kind}{cfg.split_number:02d}.txt", "UCF101 split file",
                "check dataset.split_number (1-3) and dataset.annotations")
    entries = []
    for line in lst.read_text().splitlines():
        if line.strip():
            rel = line.split()[0]
            entries.append(Entry(str((root / rel).resolve()), by_name[rel.split("/")[0]]))
    return SplitList(classes, tuple(entries))


def _hmdb51(cfg, split: str, root: Path, ann: Path) -> SplitList:
    pattern = re.compile(rf"(.+)_test_split{cfg.split_number}\.txt$")
    files = sorted(f for f in ann.iterdir() if pattern.match(f.name)) if ann.is_dir() else []
    if not files:
        raise ConfigError(f"no <class>_test_split{cfg.split_number}.txt files in {ann}; set "
                          f"dataset.annotations to the HMDB51 split folder")
    classes = tuple(pattern.match(f.name).group(1) for f in files)
    want = "2" if _is_test(split) else "1"  # HMDB51 split files: 1 train, 2 test, 0 unused
    entries = []
    for label, f in enumerate(files):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == want:
                entries.append(Entry(str((root / classes[label] / parts[0]).resolve()), label))
    return SplitList(classes, tuple(entries))


# The built-in `dataset.format` names (mgsearch.data.config.FORMATS is this dict's keys).
READERS: dict[str, Callable] = {"folder": _folder, "list": _list, "kinetics": _kinetics,
                                "ssv2": _ssv2, "ucf101": _ucf101, "hmdb51": _hmdb51,
                                "synthetic": _folder}


def read_split(cfg, split: str) -> SplitList:
    """The videos and labels of `split` under `cfg` (a DatasetConfig). Raises ConfigError."""
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        fix = (f"generate it with `mgsearch data synth {cfg.root}`" if cfg.format == "synthetic"
               else "set dataset.root to the folder holding the videos")
        raise ConfigError(f"dataset.root {str(root)!r} is not a folder; {fix}")
    ann = Path(cfg.annotations).expanduser() if cfg.annotations else root
    return READERS[cfg.format](cfg, split, root, ann)
