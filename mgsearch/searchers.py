"""A Tune searcher that runs the reference (the baseline's seeds) before the searcher it wraps,
and passes on only results that hold the searcher's metrics.

The baseline is what every schedule is judged against, not a point of the schedule space: it
runs first, with the search's seeds, and the wrapped searcher (Optuna's TPE) neither samples it
nor learns from it. Pre-setting it in TPE instead (`points_to_evaluate`) needs it inside TPE's
distributions, where a single-objective TPE maximising top-1 keeps coming back to it: the most
accurate schedule there is costs the most clock.

Reports between evaluations carry no `val_top1`; Optuna's single-objective searcher reads the
metric from every intermediate result (for pruning) and failed the whole search on the first
such report (KeyError: 'val_top1', measured).
"""

from __future__ import annotations

import os
import pickle
from typing import Optional

from ray.tune.search import Searcher


class ReferenceFirst(Searcher):
    """Suggest `reference` configs one by one (none: only the filter), then ask `searcher`.
    Results of reference trials stay here (the searcher never saw them; Optuna fails on an
    unknown trial id), and so do intermediate results without the searcher's metrics."""

    def __init__(self, searcher: Searcher, reference: list[dict]):
        self.searcher = searcher
        self.reference = [dict(c) for c in reference]
        self.given: dict[str, int] = {}  # trial id -> index into reference
        super().__init__(metric=searcher.metric, mode=searcher.mode)

    # -- Tune's calls ---------------------------------------------------------------------------
    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        return self.searcher.set_search_properties(metric, mode, config, **spec)

    def set_max_concurrency(self, max_concurrent: int) -> bool:
        return self.searcher.set_max_concurrency(max_concurrent)

    def suggest(self, trial_id: str) -> Optional[dict]:
        if trial_id in self.given:
            return dict(self.reference[self.given[trial_id]])
        if len(self.given) < len(self.reference):
            self.given[trial_id] = len(self.given)
            return dict(self.reference[self.given[trial_id]])
        return self.searcher.suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        metrics = self.searcher.metric if isinstance(self.searcher.metric, list) else [
            self.searcher.metric]
        if trial_id not in self.given and all(result.get(m) is not None for m in metrics):
            self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: Optional[dict] = None,
                          error: bool = False) -> None:
        if trial_id not in self.given:
            self.searcher.on_trial_complete(trial_id, result=result, error=error)

    # -- resume. Tune's SearchGenerator keeps a wrapper's get_state() in its own file and the
    # innermost searcher's in another (save_to_dir); save/restore keep both in one file.
    def get_state(self) -> dict:
        return {"reference": self.reference, "given": dict(self.given)}

    def set_state(self, state: dict) -> None:
        self.reference, self.given = state["reference"], dict(state["given"])

    def save(self, checkpoint_path: str) -> None:
        inner = checkpoint_path + ".inner"
        self.searcher.save(inner)
        with open(inner, "rb") as f:
            state = {"searcher": f.read(), **self.get_state()}
        os.remove(inner)
        with open(checkpoint_path, "wb") as f:
            pickle.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)
        inner = checkpoint_path + ".inner"
        with open(inner, "wb") as f:
            f.write(state.pop("searcher"))
        try:
            self.searcher.restore(inner)
        finally:
            os.remove(inner)
        self.set_state(state)
