"""Which schedule parameters drive accuracy and clock in a schedule search (`search.space`).

    trials = trial_summary(exp.reports, exp.trials)
    imp = param_importances(exp, trials)     # parameter x (top1, clock); imp.attrs["reason"]
    ablation(exp, trials)                    # the paper's ablation: family, shapes, fine-tuning
    param_effects(exp, trials)               # one row per trial per varied parameter (plots)

The study holds the finished sampled trials (never the baseline): final top-1 (the last
full-set evaluation, `trial_summary`) maximized and the training clock `time_total_s` at the
end minimized, over the keys the search varied, with the distributions of the search's own
recorded `search.space` (`trial.json`'s config). Importances are Optuna's PED-ANOVA: fANOVA and
mean decrease impurity need scikit-learn, which the project does not depend on; pass
`evaluator=` for another. With a handful of trials they are a hint, not a finding.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..contract import _SCHEDULE_KEYS, BASELINE, TRIAL_FILE, schedule_from_record
from ..errors import ConfigError

MIN_TRIALS = 4  # finished sampled trials below which no importance is claimed
OBJECTIVES = ("top1", "clock")  # final top-1 % (maximized), time_total_s at the end (minimized)
FAMILIES = ("baseline", "long cycle only", "short cycle only", "both", "neither")
FINE_TUNE_BINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)  # share of the run's epochs, right-closed bins
ABLATION_COLUMNS = ("factor", "level", "n", "top1_mean", "clock_mean", "clock_vs_baseline")


def search_distributions(records: dict) -> dict:
    """The Optuna distribution of every key the search varied (a plain value, or a choice of
    one, is not varied), from the first record whose config this version reads; {} if none."""
    from ..config import config_from_dict
    from ..space import Dist, space_of

    for record in records.values():
        try:
            cfg = config_from_dict(dict(record["config"]), source=TRIAL_FILE)
        except (ConfigError, KeyError, TypeError, ValueError):
            continue
        return {k: _distribution(v) for k, v in space_of(cfg).items()
                if isinstance(v, Dist) and len(set(v.args)) > 1}
    return {}


def schedule_study(exp, trials: pd.DataFrame):
    """An in-memory Optuna study (directions maximize top-1, minimize clock) of `exp`'s
    finished sampled trials; a trial whose values lie outside the space (repaired past its
    bounds) is left out and counted in `study.user_attrs["outside_space"]`."""
    optuna = _optuna()
    dists = search_distributions(exp.records)
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        study = optuna.create_study(directions=["maximize", "minimize"])
    finally:
        optuna.logging.set_verbosity(level)
    outside = 0
    for row in _sampled(exp, trials, dists):
        try:  # create_trial refuses a value its distribution does not contain
            trial = optuna.trial.create_trial(
                params=row["params"], distributions=dists, values=[row["top1"], row["clock"]],
                user_attrs={"trial_id": row["trial_id"]})
        except ValueError:
            outside += 1
            continue
        study.add_trial(trial)
    study.set_user_attr("outside_space", outside)
    return study


def param_importances(exp, trials: pd.DataFrame, evaluator=None,
                      min_trials: int = MIN_TRIALS) -> pd.DataFrame:
    """One row per varied parameter: its share of the importance (summing to 1) for final
    top-1 and for the clock. `attrs`: evaluator (its class name), n_trials, and reason, empty
    when computed, else why the frame is empty (too few trials, nothing varied), and
    outside_space (finished sampled trials left out: a value outside the space)."""
    optuna = _optuna()
    evaluator = evaluator or optuna.importance.PedAnovaImportanceEvaluator()
    study = schedule_study(exp, trials)
    done = study.get_trials(deepcopy=False)
    params = list(search_distributions(exp.records))
    reason = ""
    if not params:
        reason = ("no varied parameter: no trial.json whose config this version reads, or "
                  "a space of plain values only")
    elif len(done) < min_trials:
        reason = (f"too few trials: {len(done)} finished sampled trials, importances need "
                  f">= {min_trials}")
    out = pd.DataFrame(columns=["param", *OBJECTIVES])
    if not reason:
        # PED-ANOVA minimizes its target: top-1 is negated.
        targets = {"top1": lambda t: -t.values[0], "clock": lambda t: t.values[1]}
        shares = {}
        with warnings.catch_warnings():  # its note that a target is minimized, and experimental
            warnings.simplefilter("ignore")
            for name, target in targets.items():
                raw = optuna.importance.get_param_importances(
                    study, evaluator=evaluator, params=params, target=target, normalize=False)
                total = sum(raw.values())
                shares[name] = {k: v / total if total > 0 else math.nan for k, v in raw.items()}
        out = pd.DataFrame({"param": params, **{n: [shares[n][p] for p in params]
                                                for n in OBJECTIVES}})
        out = out.sort_values("top1", ascending=False, ignore_index=True)
    out.attrs.update(evaluator=type(evaluator).__name__, n_trials=len(done), reason=reason,
                     outside_space=study.user_attrs["outside_space"])
    return out


def param_effects(exp, trials: pd.DataFrame) -> pd.DataFrame:
    """Tidy: trial_id, param, value, top1, clock for every finished sampled trial and every
    varied parameter (values keep their type: numbers, names, booleans)."""
    dists = search_distributions(exp.records)
    rows = [{"trial_id": r["trial_id"], "param": k, "value": v, "top1": r["top1"],
             "clock": r["clock"]}
            for r in _sampled(exp, trials, dists) for k, v in r["params"].items()]
    return pd.DataFrame(rows, columns=["trial_id", "param", "value", *OBJECTIVES])


def family(is_baseline: bool, long_cycle, short_cycle) -> str:
    """The paper's ablation arms from a schedule's factors: a long cycle counts when one of
    its shapes is coarser than the full one."""
    if is_baseline:
        return "baseline"
    long = bool(long_cycle) and any(min(f) < 1 for f in long_cycle)
    short = short_cycle is not None
    return {(True, False): "long cycle only", (False, True): "short cycle only",
            (True, True): "both"}.get((long, short), "neither")


def trial_schedules(exp, trials: pd.DataFrame) -> pd.DataFrame:
    """One row per finished trial: trial_id, family, long_shapes (shapes of its long cycle, 0
    without one), fine_tune_fraction (the fine-tuning phase's share of its epochs, as built;
    NaN for the baseline), top1, clock. From its `trial.json`, rebuilt; a trial without a
    readable record has NaN factors, unless it trained a named grid set as it is."""
    from ..config import config_from_dict
    from ..grids import GRID_SETS, resolve_grid_set

    rows = []
    for _, t in _finished(trials).iterrows():
        rec = {"trial_id": t["trial_id"], "family": None, "long_shapes": math.nan,
               "fine_tune_fraction": math.nan, "top1": t["final_top1"], "clock": t["wallclock_s"]}
        record = exp.records.get(t["trial_id"])
        schedule = schedule_from_record(record) if record else None
        if schedule is not None:
            grids = resolve_grid_set(config_from_dict(dict(record["config"])).multigrid)
            base = grids.is_baseline
            rec.update(family=family(base, grids.long_cycle, grids.short_cycle),
                       long_shapes=len(grids.long_cycle or ()),
                       fine_tune_fraction=math.nan if base else sum(
                           s.epochs for s in schedule.stages if s.phase == "fine_tune")
                       / schedule.max_epoch)
        elif t["grid_set"] in GRID_SETS and all(_plain(t.get(k)) is None
                                                for k in _SCHEDULE_KEYS):
            grids = GRID_SETS[t["grid_set"]]  # a named set as it is: no record needed
            rec.update(family=family(grids.is_baseline, grids.long_cycle, grids.short_cycle),
                       long_shapes=len(grids.long_cycle or ()))
        rows.append(rec)
    return pd.DataFrame(rows, columns=["trial_id", "family", "long_shapes",
                                       "fine_tune_fraction", *OBJECTIVES])


def ablation(exp, trials: pd.DataFrame, bins=FINE_TUNE_BINS) -> pd.DataFrame:
    """The paper's ablation over finished trials: rows grouped by schedule family (the
    baseline's own row included), by long-cycle shapes and by binned fine-tuning share
    (multigrid trials only): n, mean final top-1, mean clock, and the clock over the
    baseline's mean clock (NaN without a finished baseline)."""
    return ablation_table(trial_schedules(exp, trials), bins)


def ablation_table(sched: pd.DataFrame, bins=FINE_TUNE_BINS) -> pd.DataFrame:
    """`ablation` from a `trial_schedules` frame."""
    base_clock = sched.loc[sched["family"] == "baseline", "clock"].mean()
    multigrid = sched[sched["family"].ne("baseline") & sched["family"].notna()]
    groups = {
        "family": (sched, pd.Categorical(sched["family"], FAMILIES)),
        "long-cycle shapes": (multigrid, multigrid["long_shapes"]),
        "fine-tune fraction": (multigrid, pd.cut(multigrid["fine_tune_fraction"], list(bins))),
    }
    rows = []
    for factor, (df, key) in groups.items():
        for level, part in df.groupby(key, observed=True, sort=True):
            clock = part["clock"].mean()
            rows.append({"factor": factor, "level": _level(level), "n": len(part),
                         "top1_mean": part["top1"].mean(), "clock_mean": clock,
                         "clock_vs_baseline": clock / base_clock})
    return pd.DataFrame(rows, columns=list(ABLATION_COLUMNS))


# -- helpers ---------------------------------------------------------------------------------------


def _optuna():
    try:
        with warnings.catch_warnings():  # tqdm's note in a notebook without ipywidgets
            warnings.filterwarnings("ignore", message="IProgress not found")
            import optuna
    except ImportError:
        raise ConfigError("schedule importances need the optuna package; "
                          "pip install 'mgsearch[search]'") from None
    return optuna


def _distribution(dist):
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    if dist.kind == "choice":
        return CategoricalDistribution(list(dist.args))
    lo, hi = dist.args
    if dist.kind == "randint":
        return IntDistribution(int(lo), int(hi))
    return FloatDistribution(float(lo), float(hi), log=dist.kind == "loguniform")


def _finished(trials: pd.DataFrame) -> pd.DataFrame:
    """Finished trials with a final top-1 and a clock: the ones a table may average."""
    ok = (trials["finished"].astype(bool) & trials["final_top1"].notna()
          & trials["wallclock_s"].notna())
    return trials[ok]


def _sampled(exp, trials: pd.DataFrame, dists: dict) -> list[dict]:
    """The finished non-baseline trials as {trial_id, params (the varied keys, from the point
    its record says it trained, else its trial row), top1, clock}."""
    out = []
    for _, t in _finished(trials).iterrows():
        if t["kind"] == "baseline" or t["grid_set"] == BASELINE:
            continue
        point = (exp.records.get(t["trial_id"]) or {}).get("point") or {}
        params = {k: _plain(t.get(k) if point.get(k) is None else point[k]) for k in dists}
        if any(v is None for v in params.values()):  # a key the point never had
            continue
        out.append({"trial_id": t["trial_id"], "params": params, "top1": float(t["final_top1"]),
                    "clock": float(t["wallclock_s"])})
    return out


def _plain(value):
    """A table's numpy scalar as the Python value Optuna's distributions compare; NaN: None."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def _level(level):
    if isinstance(level, pd.Interval):
        return f"({level.left:g}, {level.right:g}]"
    return int(level) if isinstance(level, float) and level.is_integer() else level
