"""The search's answer in words, and the schedule it found as an experiment file.

    ans = answer(analyze("results/quickstart"), base_cfg)
    print(ans.text)                       # one paragraph
    write_answer(ans, "results/quickstart")   # answer.md, and found.yaml or finalists.yaml

Question (i) of Wu et al.: is there a schedule that trains faster with no loss of accuracy? The
yardstick (`yardstick.verdicts`) decides "no loss"; speed-up is at matched accuracy
(`speedup.matched_accuracy`). Three kinds of answer:

- **found**: configurations match the baseline (>= 3 seeds each side); the one with the largest
  speed-up at matched accuracy is named and written as `found.yaml`: the search's own config with
  `search.points` = that schedule, so `mgsearch search found.yaml` re-runs its seeds beside the
  baseline and `mgsearch train found.yaml` trains it once.
- **none**: configurations have verdicts but none matches: what was tried and the closest.
- **candidates**: a search of one seed per schedule (a schedule-space exploration) can decide
  nothing; the fastest schedules whose seed reached the target are written as `finalists.yaml`
  (with the named grid sets the config lists, as references), to re-run with seeds.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..contract import CONFIG_KEYS, SearchPoint
from .tables import pm as _pm
from .yardstick import MATCHES, MIN_SEEDS, TOO_FEW, UNDECIDED, WORSE

FOUND_FILE, FINALISTS_FILE, ANSWER_FILE = "found.yaml", "finalists.yaml", "answer.md"
FINALISTS = 2  # candidates a one-seed search hands on to be re-run with seeds


@dataclass(frozen=True)
class Answer:
    kind: str  # found | none | candidates | no baseline | no trials
    text: str  # the paragraph (Markdown)
    points: tuple[SearchPoint, ...]  # found: the one; candidates: the finalists; else empty
    config: dict | None  # the experiment file to write (found / candidates), as a YAML mapping
    file: str | None  # FOUND_FILE or FINALISTS_FILE


def answer(a, base=None, references: tuple[str, ...] | None = None) -> Answer:
    """The answer of analysis `a` (`report.analyze`). `base`: the Config the search started with
    (its `search_config.json`; None: no file is proposed). `references`: named grid sets a
    finalists file re-runs beside the candidates (default: the base config's search.grid_sets)."""
    s = a.summary
    tried = s[s["kind"] != "baseline"] if len(s) else s
    b = a.baseline
    if not len(tried):
        return Answer("no trials", "No schedule has reported yet: no answer.", (), None, None)
    if b is None:
        return Answer("no baseline", f"{len(tried)} schedules tried, but the baseline has no "
                      f"accuracy yet: no answer (the baseline is the yardstick).", (), None, None)
    lead = "" if a.complete else (f"**Provisional** ({int(a.trials['active'].sum())} trials still "
                                  f"running or pending). ")
    base_txt = (f"the fixed-shape baseline's {_pm(b.top1, _ci(s, 'baseline', 'top1_ci'), 2)}% "
                f"top-1 in {_pm(b.wallclock_s, _ci(s, 'baseline', 'wallclock_ci'), 0)} s "
                f"({b.seeds} seeds)")
    matched = tried[tried["verdict"] == MATCHES]
    if len(matched):
        best = matched.assign(_s=matched["speedup"].fillna(-math.inf)).sort_values(
            ["_s", "wallclock_mean"], ascending=[False, True]).iloc[0]
        point = _point(best)
        others = f"; {len(matched) - 1} other configuration(s) match too, more slowly" \
            if len(matched) > 1 else ""
        text = (f"{lead}**Answer: yes.** `{best['label']}` matches {base_txt}: "
                f"{_pm(best['top1_mean'], best['top1_ci'], 2)}% over {int(best['seeds'])} seeds, "
                f"Δ {best['top1_diff']:+.2f} pt [{best['top1_diff_low']:+.2f}, "
                f"{best['top1_diff_high']:+.2f}] (Welch 95%; margin δ = {a.delta:g} pt), and "
                f"reaches the baseline's target {b.target:.2f}% {_speedup(best)} sooner "
                f"(whole run {_pm(best['wallclock_mean'], best['wallclock_ci'], 0)} s; predicted "
                f"compute speed-up {best['predicted_speedup']:.2f}×){others}. Of "
                f"{len(tried)} configuration(s) tried.")
        return Answer("found", text, (point,), _file_config(base, (point,), "found", repeats=b.seeds),
                      FOUND_FILE if base is not None else None)
    decided = tried[tried["verdict"].isin([WORSE, UNDECIDED])]
    if len(decided):
        near = decided.sort_values("top1_diff", ascending=False).iloc[0]
        counts = decided["verdict"].value_counts()
        text = (f"{lead}**Answer: not on this evidence.** No configuration matches {base_txt} at "
                f"δ = {a.delta:g} pt: {len(tried)} tried ({counts.get(WORSE, 0)} worse, "
                f"{counts.get(UNDECIDED, 0)} undecided"
                f"{_few(tried)}). Closest: `{near['label']}`, "
                f"{_pm(near['top1_mean'], near['top1_ci'], 2)}%, Δ {near['top1_diff']:+.2f} pt "
                f"[{near['top1_diff_low']:+.2f}, {near['top1_diff_high']:+.2f}] "
                f"({near['verdict']}), in {_pm(near['wallclock_mean'], near['wallclock_ci'], 0)} s.")
        return Answer("none", text, (), None, None)
    done = tried[tried["finished"] > 0]
    reached = done[done["top1_mean"] >= b.target].sort_values("wallclock_mean")
    by_top1 = done.sort_values("top1_mean", ascending=False)
    pick = (reached if len(reached) else by_top1).head(FINALISTS)
    points = tuple(_point(r) for _, r in pick.iterrows())
    if len(reached):
        fastest = reached.iloc[0]
        what = (f"{len(reached)} of {len(done)} finished reached the baseline's target "
                f"{b.target:.2f}% on their one seed; the fastest, `{fastest['label']}`, ended at "
                f"{fastest['top1_mean']:.2f}% in {fastest['wallclock_mean']:.0f} s "
                f"({b.wallclock_s / fastest['wallclock_mean']:.2f}× less clock than the "
                f"baseline's whole run; predicted {fastest['predicted_speedup']:.2f}×)")
    else:
        top = by_top1.iloc[0] if len(done) else None
        what = ("none finished" if top is None else
                f"none of {len(done)} finished reached the target {b.target:.2f}%; the most "
                f"accurate, `{top['label']}`, ended at {top['top1_mean']:.2f}% in "
                f"{top['wallclock_mean']:.0f} s")
    refs = tuple(base.search.grid_sets) if references is None and base is not None else (
        references or ())
    rerun = (f" Re-run the {len(points)} finalist(s) with {MIN_SEEDS} seeds beside the baseline"
             f"{' and ' + ', '.join(refs) if refs else ''}: `mgsearch search {FINALISTS_FILE}`."
             if base is not None and points else "")
    text = (f"{lead}**Answer: not decided yet (one seed per schedule).** {len(tried)} schedules "
            f"tried against {base_txt}: {what}. One seed cannot show a match (the yardstick needs "
            f"{MIN_SEEDS} seeds a side).{rerun}")
    config = _file_config(base, points, "finalists", repeats=MIN_SEEDS,
                          references=refs) if points else None
    return Answer("candidates", text, points, config,
                  FINALISTS_FILE if config is not None else None)


def write_answer(ans: Answer, folder: str | Path, cwd: str | Path | None = None) -> list[Path]:
    """answer.md, and the experiment file the answer proposes (paths in it relative to `cwd`,
    default the current directory, where they lie under it)."""
    import yaml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / ANSWER_FILE]
    out[0].write_text(ans.text + "\n")
    if ans.config is not None and ans.file is not None:
        head = (f"# {'The schedule found' if ans.kind == 'found' else 'Finalists'} by mgsearch "
                f"(written by `mgsearch report`/`search`): `mgsearch search {ans.file}` re-runs "
                f"its seeds beside the baseline; `mgsearch train {ans.file}` trains "
                f"search.points[0] once.\n#\n" + "".join(
                    f"# {line}\n" for line in _wrap(ans.text.replace("**", ""))) + "\n")
        path = folder / ans.file
        path.write_text(head + yaml.safe_dump(_relative(ans.config, cwd), sort_keys=False))
        out.append(path)
    return out


# -- helpers ----------------------------------------------------------------------------------------


def _point(row) -> SearchPoint:
    """The configuration of a summary row, as a point (seed 0: a file lists seeds by repeats)."""
    return SearchPoint.from_dict({k: row[k] for k in CONFIG_KEYS} | {"seed": 0})


def _file_config(base, points, suffix: str, repeats: int, references=()) -> dict | None:
    """The experiment file: the search's own config with these points listed (then the named
    grid sets `references`, with the config's own settings), the baseline on, grid search,
    `repeats` (>= MIN_SEEDS) seeds."""
    if base is None:
        return None
    from ..configtypes import to_dict

    listed = [{k: v for k, v in dataclasses.asdict(p).items()
               if v is not None and k not in ("seed", "repair")} for p in points]
    listed += [{"grid_set": g} for g in references]
    sc = dataclasses.replace(base.search, name=f"{base.search.name or base.name}-{suffix}",
                             algorithm="grid", space=None, points=(), num_samples=1,
                             multi_objective=False, scheduler="fifo", baseline=True,
                             repeats=max(int(repeats), MIN_SEEDS))
    data = to_dict(dataclasses.replace(base, search=sc))
    data["search"]["points"] = listed
    return data


def _relative(data: dict, cwd) -> dict:
    """Absolute paths under `cwd` written relative to it (the file is run from there)."""
    cwd = Path(cwd or os.getcwd()).resolve()
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    from ..config import PATH_FIELDS

    for section, key in PATH_FIELDS:
        value = out.get(section, {}).get(key)
        if isinstance(value, str) and os.path.isabs(value):
            try:
                out[section][key] = str(Path(value).resolve().relative_to(cwd))
            except ValueError:
                pass
    return out


def _ci(s: pd.DataFrame, kind: str, col: str) -> float:
    rows = s[s["kind"] == kind]
    return float(rows[col].iloc[0]) if len(rows) else math.nan


def _speedup(row) -> str:
    if not math.isfinite(row["speedup"]):
        return "(its speed-up at matched accuracy is not defined: the target is not reached)"
    interval = (f" [{row['speedup_low']:.2f}–{row['speedup_high']:.2f}, 95% bootstrap over seeds]"
                if math.isfinite(row["speedup_low"]) else "")
    return f"**{row['speedup']:.2f}×**{interval}"


def _few(tried: pd.DataFrame) -> str:
    n = int((tried["verdict"] == TOO_FEW).sum())
    return f", {n} with too few seeds" if n else ""


def _wrap(text: str, width: int = 96) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)
