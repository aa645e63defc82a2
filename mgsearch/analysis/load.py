"""Read search results into one tidy frame: a row per trial per report point.

    exp = load_experiment("results/quickstart")   # a Tune experiment folder, or a train run
    exp.reports                                    # the tidy frame (REPORT_COLUMNS first)
    exp.trials                                     # every trial found, pending ones included
    exp = experiment_from_result_grid(grid)        # the same from what run_search returned

What is read, per trial: Tune's `result.json` (JSON lines; `progress.csv` when it is missing) and
the training's own `metrics.jsonl` in its Train run folder (mgsearch.contract names both),
whichever holds more points, and the run's `trial.json` (its point, Config and prediction).
A folder with only `metrics.jsonl` files (`mgsearch train` runs) gives one trial per run.
Trials are found by their files, never by folder names. A search may still be running: a
half-written last line, an empty file or a trial without reports is skipped, not an error.
A point reported twice (a run restored from an earlier checkpoint reports it again) keeps its
last report. Reports index by `point` (1..`points`, fixed fractions of the run's
baseline-equivalent clips, the same for every schedule); reports written before points existed
(one per epoch) read `point = epoch` and `points = max_epoch`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract import (CONFIG_KEYS, METRICS_FILE, POINT_KEYS, PREDICTED_KEYS, REPORT_KEYS,
                        TRIAL_FILE, trial_id_of_run, trial_run_name)
from ..errors import ConfigError
from ..storage import local_view

__all__ = ["CONFIG_KEYS", "POINT_KEYS", "PREDICTED_KEYS", "REPORT_COLUMNS", "Experiment",
           "load_experiment", "experiment_from_result_grid", "reports_from_result_grid",
           "tidy_reports", "empty_reports"]

# What one training report holds, in the order the frame shows it (mgsearch.contract).
REPORT_COLUMNS = (("trial_id", "kind") + POINT_KEYS + PREDICTED_KEYS
                  + tuple(k for k in REPORT_KEYS if k != "kind") + ("source",))
_TEXT_COLUMNS = {"trial_id", "kind", "grid_set", "phase", "source", "precision", "node_id",
                 "long_spacing", "lr_policy", "lr_scaling", "repair"}  # text point keys too
_BOOL_COLUMNS = {"val_subset"}
_TRIAL_ID = re.compile(r"[0-9a-f]{5}_\d{5}")  # Tune's trial ids: <experiment hex>_<counter>


@dataclass(frozen=True)
class Experiment:
    path: str
    reports: pd.DataFrame  # one row per trial per reported epoch (REPORT_COLUMNS)
    trials: pd.DataFrame  # one row per trial found: trial_id, point keys, status, folder
    # trial_id -> what its run recorded at its start (mgsearch.contract.TRIAL_FILE: its point,
    # Config and prediction), for the trials whose run folder holds one
    records: dict = dataclasses.field(default_factory=dict)


def load_experiment(path: str | Path) -> Experiment:
    """Load an experiment folder (or one `mgsearch train` run folder): a local path, a
    `file://` URI, or any URI Ray's storage accepts (copied to a local cache first).

    Raises ConfigError when the folder is missing or holds no trial at all; a search that has
    started but not reported yet gives an empty `reports` frame."""
    root = local_view(str(path))  # a URI's files are read from a local copy
    if not root.is_dir():
        raise ConfigError(f"experiment folder {root} does not exist; pass the folder "
                          f"`mgsearch search` printed (<storage_path>/<search name>)")
    states = _tune_states(root)
    runs = {p.parent.name: p.parent for p in sorted(root.rglob(METRICS_FILE))}
    trial_frames, found, used_runs, records = [], [], set(), {}
    for folder in _tune_trial_folders(root):
        params = _read_params(folder)
        rows = _read_jsonl(folder / "result.json") or _read_csv(folder / "progress.csv")
        trial_id = _trial_id(folder, rows, states)
        run = runs.get(trial_run_name(trial_id))
        run_rows = _read_jsonl(run / METRICS_FILE) if run else []
        if run is not None:
            used_runs.add(run)
            records.update(_record(trial_id, run))
        if _last_point(run_rows) > _last_point(rows):  # the training wrote ahead of Tune
            rows, source = run_rows, METRICS_FILE
        else:
            source = "result.json"
        status = states.get(trial_id, {}).get("status")
        found.append(_trial_row(trial_id, params, rows, status, folder))
        trial_frames.append(tidy_reports(rows, params, trial_id, source))
    for name, run in runs.items():
        if run in used_runs:
            continue
        rows = _read_jsonl(run / METRICS_FILE)
        trial_id = trial_id_of_run(name) or name
        records.update(_record(trial_id, run))
        found.append(_trial_row(trial_id, {}, rows, None, run))
        trial_frames.append(tidy_reports(rows, {}, trial_id, METRICS_FILE))
    if not found:
        raise ConfigError(f"no trials in {root}: it holds no result.json, params.json or "
                          f"{METRICS_FILE}; pass an experiment folder written by `mgsearch search` "
                          f"or a run folder of `mgsearch train`")
    reports = pd.concat(trial_frames, ignore_index=True) if trial_frames else empty_reports()
    return Experiment(str(root), _typed(reports), _typed(pd.DataFrame(found), ("status", "folder")),
                      records)


def experiment_from_result_grid(grid) -> Experiment:
    """The same Experiment from a Tune `ResultGrid` (what `run_search` returns)."""
    frames, found = [], []
    for result in grid:
        df = result.metrics_dataframe
        rows = df.to_dict("records") if df is not None and len(df) else (
            [result.metrics] if result.metrics else [])
        config = result.config or {}
        trial_id = str((result.metrics or {}).get("trial_id") or Path(str(result.path)).name)
        status = "ERROR" if result.error else None
        found.append(_trial_row(trial_id, config, rows, status, Path(str(result.path))))
        frames.append(tidy_reports(rows, config, trial_id, "ResultGrid"))
    reports = pd.concat(frames, ignore_index=True) if frames else empty_reports()
    trials = pd.DataFrame(found, columns=["trial_id", *POINT_KEYS, *PREDICTED_KEYS, "status",
                                          "folder"])
    return Experiment(str(getattr(grid, "experiment_path", "")), _typed(reports),
                      _typed(trials, ("status", "folder")))


def reports_from_result_grid(grid) -> pd.DataFrame:
    """The tidy frame of a Tune `ResultGrid`."""
    return experiment_from_result_grid(grid).reports


def tidy_reports(rows: list[dict], params: dict, trial_id: str, source: str) -> pd.DataFrame:
    """One trial's report dicts as tidy rows; `params` is the trial config (nested or flat)."""
    point = _point(params)
    out = []
    for row in rows:
        rec = {k: row.get(k) for k in REPORT_KEYS}
        rec["val_subset"] = _flag(rec["val_subset"])
        if _missing(rec["point"]):  # written before report points: one report per epoch
            rec["point"], rec["points"] = rec["epoch"], rec["max_epoch"]
        for k in POINT_KEYS + PREDICTED_KEYS:  # the report's own value wins; it was measured
            value = row.get(k)
            rec[k] = point.get(k) if _missing(value) else value
        rec["kind"] = row.get("kind") or ("baseline" if rec["grid_set"] == "baseline"
                                          else "multigrid")
        rec["trial_id"], rec["source"] = trial_id, source
        out.append(rec)
    df = pd.DataFrame(out, columns=list(REPORT_COLUMNS))
    if df.empty:
        return df
    df = df[pd.to_numeric(df["point"], errors="coerce").notna()]
    df = df.assign(point=df["point"].astype(int))
    # A restored run reports the points after its checkpoint again; the last report is the one
    # whose clock and weights the run continued from.
    return df.drop_duplicates("point", keep="last").sort_values("point", ignore_index=True)


def empty_reports() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=list(REPORT_COLUMNS)))


# -- files ---------------------------------------------------------------------------------------


def _tune_trial_folders(root: Path) -> list[Path]:
    names = ("params.json", "result.json", "progress.csv")
    folders = {p.parent for name in names for p in root.rglob(name)}
    return sorted(folders)


def _read_jsonl(path: Path) -> list[dict]:
    try:
        text = path.read_text()
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line still being written
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _record(trial_id: str, run: Path) -> dict:
    """{trial_id: the run's TRIAL_FILE} when it has a readable one, else {}."""
    try:
        record = json.loads((run / TRIAL_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {trial_id: record} if isinstance(record, dict) else {}


def _read_csv(path: Path) -> list[dict]:
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):  # missing, empty or half-written
        return []
    return df.to_dict("records")


def _read_params(folder: Path) -> dict:
    try:
        params = json.loads((folder / "params.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return params if isinstance(params, dict) else {}


def _tune_states(root: Path) -> dict[str, dict]:
    """trial_id -> {status, folder} from Tune's newest experiment_state file, when readable."""
    files = sorted(root.glob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        return {}
    try:
        data = json.loads(files[-1].read_text())
        states = {}
        for entry in data.get("trial_data", []):
            info = json.loads(entry[0]) if isinstance(entry, list) else entry
            states[str(info["trial_id"])] = {"status": info.get("status"),
                                            "folder": info.get("relative_logdir")}
        return states
    except (OSError, ValueError, KeyError, TypeError, IndexError):  # a state being rewritten
        return {}


def _trial_id(folder: Path, rows: list[dict], states: dict[str, dict]) -> str:
    for row in rows:
        if row.get("trial_id"):
            return str(row["trial_id"])
    for trial_id, state in states.items():
        if state.get("folder") == folder.name:
            return trial_id
    match = _TRIAL_ID.search(folder.name)
    return match.group(0) if match else folder.name


def _trial_row(trial_id: str, params: dict, rows: list[dict], status, folder: Path) -> dict:
    point = _point(params)
    last = rows[-1] if rows else {}
    rec = {"trial_id": trial_id}
    for k in POINT_KEYS + PREDICTED_KEYS:
        rec[k] = point.get(k, last.get(k))
    rec["status"] = status
    rec["folder"] = str(folder)
    return rec


def _point(params: dict) -> dict:
    point = params.get("point", params) if isinstance(params, dict) else {}
    return point if isinstance(point, dict) else {}


def _last_point(rows: list[dict]) -> float:
    points = [float(r.get("point", r.get("epoch"))) for r in rows
              if not _missing(r.get("point", r.get("epoch")))]
    return max(points, default=-1.0)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _flag(value) -> bool:
    """A boolean from JSON (true), CSV ("True") or nothing (None, NaN: False)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return False if _missing(value) else bool(value)


def _typed(df: pd.DataFrame, text: tuple[str, ...] = ()) -> pd.DataFrame:
    """Numbers as floats/ints and text as objects, whatever file the rows came from."""
    df = df.copy()
    for col in df.columns:
        if col in _TEXT_COLUMNS or col in text:
            df[col] = df[col].astype(object)
        elif col in _BOOL_COLUMNS:
            df[col] = df[col].map(_flag).astype(bool)
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df.reset_index(drop=True)
