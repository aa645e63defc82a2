"""What the search benches share: `--set` arguments, and running `mgsearch search` variants in turn.

    from searches import run_searches, set_args    # bench/ is sys.path[0] for `python bench/x.py`
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def set_args(sets: dict[str, str]) -> list[str]:
    """`--set key=value` arguments, in the dict's order (a later key wins in mgsearch)."""
    return [arg for k, v in sets.items() for arg in ("--set", f"{k}={v}")]


def run_searches(config: str, args_of: dict[str, list[str]]) -> None:
    """`mgsearch search CONFIG --resume ARGS` for every variant in turn (finished trials are not
    run again), in this checkout, with this interpreter's mgsearch; stops at the first failure."""
    mgsearch = str(Path(sys.executable).with_name("mgsearch"))
    for args in args_of.values():
        cmd = [mgsearch, "search", config, "--resume", *args]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)


def combine(results: Path, folders: dict[str, str], relabel, base=None, path: str = ""):
    """One Experiment of several searches' folders under `results` ({variant name: folder}):
    `relabel(name, frame)` rewrites each variant's reports and trials in place (its grid set
    names), trial ids get `@name`; `base` (an Experiment) comes first as it is. A missing folder
    is skipped with a line on stderr."""
    import dataclasses

    import pandas as pd

    from mgsearch.analysis.load import load_experiment

    reports = [base.reports] if base is not None else []
    trials = [base.trials] if base is not None else []
    exp = base
    for name, folder in folders.items():
        if not (results / folder).is_dir():
            print(f"skipping {name}: {results / folder} not found", file=sys.stderr)
            continue
        exp = load_experiment(results / folder)
        for frame, out in ((exp.reports, reports), (exp.trials, trials)):
            frame = frame.copy()
            relabel(name, frame)
            frame["trial_id"] = frame["trial_id"].astype(str) + f"@{name}"
            out.append(frame)
    if exp is None:
        sys.exit(f"no experiment folder found under {results}")
    return dataclasses.replace(base or exp, path=path or str(results),
                               reports=pd.concat(reports, ignore_index=True),
                               trials=pd.concat(trials, ignore_index=True))
