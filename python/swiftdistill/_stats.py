"""Aggregates over seeds the way rliable (Agarwal et al. 2021) reports them: mean ± sd, the
interquartile mean (IQM) and stratified-bootstrap 95% confidence intervals. NumPy only."""
from typing import Any, Callable, Dict, Mapping, Sequence, Union

import numpy as np
from numpy.typing import NDArray

Scores = Union[Sequence[float], NDArray[Any]]


def iqm(scores: Scores) -> float:
    """The interquartile mean: the mean of the scores left after cutting ⌊n/4⌋ from each end
    of the sorted scores (``scipy.stats.trim_mean(scores, 0.25)``, as rliable computes it)."""
    x = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("iqm needs at least one score")
    cut = int(0.25 * x.size)
    return float(x[cut:x.size - cut].mean())


def stratified_bootstrap_ci(scores_by_task: Mapping[str, Scores], statistic: Callable[[NDArray[Any]], float] = iqm, *, reps: int = 2000,
                            confidence: float = 0.95, seed: int = 0) -> Dict[str, float]:
    """Percentile interval of ``statistic`` over all runs, resampling runs with replacement within
    each task (stratified: every resample keeps each task's run count). Deterministic for a seed."""
    tasks = [np.asarray(v, dtype=np.float64) for v in scores_by_task.values()]
    if not tasks or any(t.size == 0 for t in tasks):
        raise ValueError("every task needs at least one score")
    rng = np.random.default_rng(seed)
    values = np.empty(reps)
    for r in range(reps):
        values[r] = statistic(np.concatenate([t[rng.integers(0, t.size, t.size)] for t in tasks]))
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return {"low": float(low), "high": float(high)}


def summarise(scores_by_task: Mapping[str, Scores], *, reps: int = 2000, seed: int = 0) -> Dict[str, float]:
    """Mean, sd, IQM and the IQM's and mean's 95% stratified-bootstrap intervals over all runs."""
    pooled = np.concatenate([np.asarray(v, dtype=np.float64) for v in scores_by_task.values()])
    iqm_ci = stratified_bootstrap_ci(scores_by_task, iqm, reps=reps, seed=seed)
    mean_ci = stratified_bootstrap_ci(scores_by_task, lambda x: float(np.mean(x)), reps=reps, seed=seed)
    return {"runs": int(pooled.size), "mean": float(pooled.mean()), "sd": float(pooled.std(ddof=1)) if pooled.size > 1 else 0.0,
            "iqm": iqm(pooled), "iqm_low": iqm_ci["low"], "iqm_high": iqm_ci["high"],
            "mean_low": mean_ci["low"], "mean_high": mean_ci["high"]}
