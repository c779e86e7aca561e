"""One fit of :class:`SearchCV`: the study's trials asked for, cross-validated, told.

:func:`_run_trials` drives the tuner: it asks for as many configurations as the joblib
workers can fit at once, cross-validates them (``_fit``), and records each mean score in the
study. :func:`_report_failures` then tells about failed fits once for the whole search, and
:func:`_warn_non_finite` about scores that are not numbers although every fit worked.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._validation import fail
from hyperscout.exceptions import SearchFinished, TooManyFailedTrialsError
from hyperscout.integrations.sklearn._budget import _Budget, _whole
from hyperscout.integrations.sklearn._fit import _clone, _Data, _fit_and_score, _Fold
from hyperscout.integrations.sklearn._results import _Evaluation
from hyperscout.integrations.sklearn._space import _Space
from hyperscout.trial import RunningTrial, Trial, TrialState
from hyperscout.tuner import Tuner

if TYPE_CHECKING:
    from hyperscout.integrations.sklearn._search import SearchCV

#: The metric the study of a search maximises: the mean test score of the refit metric.
SEARCH_METRIC = "mean_test_score"


class AllFitsFailedError(TooManyFailedTrialsError, ValueError):
    """Every fit of every configuration failed, so there is no best one.

    A :class:`~hyperscout.TooManyFailedTrialsError`, and a ``ValueError`` as scikit-learn's
    searches raise in this case; the message shows the errors and the first traceback.
    """


def _ask(
    tuner: Tuner, space: _Space, data: _Data, budget: _Budget | None, room: int
) -> list[tuple[RunningTrial, dict[str, Any]]]:
    """Up to ``room`` new trials with their estimator parameters (fewer: the strategy
    waits for results, or has nothing left)."""
    batch: list[tuple[RunningTrial, dict[str, Any]]] = []
    while len(batch) < room:
        try:
            hp, trial = tuner.ask()
        except SearchFinished:
            break
        try:
            params = space.build(hp)
            if budget is not None and budget.resource != "n_samples":
                params[budget.resource] = _whole(trial.budget)
            try:  # a misspelt name fails here, before any fit
                _clone(data.base).set_params(**params)
            except ValueError as exc:
                expected = f"parameters the estimator takes ({str(exc).rstrip('.')})"
                fail("SearchCV", "space", sorted(params), expected)
        except BaseException as exc:
            for pending, _ in [*batch, (trial, {})]:
                tuner.tell(pending, state=TrialState.FAILED, error=f"{exc}")
            raise
        batch.append((trial, params))
    return batch


def _tell(
    search: SearchCV,
    tuner: Tuner,
    trial: RunningTrial,
    evaluation: _Evaluation,
    names: list[str],
) -> Trial:
    """Record an evaluation in the study: its mean score, or a failure."""
    metric = search._metric(names)
    means = {name: float(np.mean(evaluation.scores(name, search.error_score))) for name in names}
    mean = means.get(metric, math.nan)
    if search.verbose:
        budget = "" if evaluation.budget is None else f" on budget {evaluation.budget}"
        print(
            f"[SearchCV] trial {trial.number}{budget}: mean_test_{metric}={mean:.5g} "
            f"for {evaluation.params}"
        )
    if not math.isfinite(mean):
        failed = evaluation.failed_fits
        reason = (
            f"{failed} of {len(evaluation.folds)} fits failed"
            if failed
            else f"the mean test score is {mean}"
        )
        error = f"No score: {reason} (error_score={search.error_score!r})."
        return tuner.tell(trial, state=TrialState.FAILED, error=error)
    metrics = {SEARCH_METRIC: mean}
    metrics.update({f"mean_test_{n}": v for n, v in means.items() if n != "score"})
    metrics["mean_fit_time"] = float(np.mean([f.fit_time for f in evaluation.folds]))
    return tuner.tell(trial, metrics)


def _evaluate(
    search: SearchCV,
    parallel: Any,
    batch: list[tuple[RunningTrial, dict[str, Any]]],
    data: _Data,
    budget: _Budget | None,
) -> list[list[_Fold]]:
    """Cross-validate a batch of configurations; the folds of each, in order."""
    from sklearn.utils.parallel import delayed

    jobs = []
    for trial, params in batch:
        for k, (train, test) in enumerate(data.splits):
            rows = train if budget is None else budget.train_rows(k, train, _whole(trial.budget))
            jobs.append(
                delayed(_fit_and_score)(
                    _clone(data.base),
                    data.X,
                    data.y,
                    rows,
                    test,
                    _clone(params, safe=False),
                    data.fit_params,
                    data.scorer,
                    n_samples=data.n_samples,
                    return_train_score=bool(search.return_train_score),
                    error_score=search.error_score,
                    pairwise=data.pairwise,
                    quiet_convergence=budget is not None
                    and budget.is_partial(_whole(trial.budget)),
                )
            )
    folds = list(parallel(jobs))
    n = len(data.splits)
    return [folds[i : i + n] for i in range(0, len(folds), n)]


def _run_trials(
    search: SearchCV,
    tuner: Tuner,
    space: _Space,
    data: _Data,
    budget: _Budget | None,
    names: list[str],
) -> list[_Evaluation]:
    """Ask, cross-validate and tell until the strategy or ``n_trials`` ends the search.

    Configurations go ``ceil(n_jobs / n_splits)`` at a time, so that the joblib workers
    stay busy; ``names`` gathers the metrics the scorer gave (several for a callable one).
    """
    from joblib import effective_n_jobs  # type: ignore[import-untyped]
    from sklearn.utils.parallel import Parallel

    n_trials = search._n_trials()
    batch_size = max(1, -(-effective_n_jobs(search.n_jobs) // len(data.splits)))
    evaluations: list[_Evaluation] = []
    with Parallel(n_jobs=search.n_jobs, pre_dispatch=search.pre_dispatch) as parallel:
        while n_trials is None or len(evaluations) < n_trials:
            room = batch_size
            if n_trials is not None:
                room = min(room, n_trials - len(evaluations))
            batch = _ask(tuner, space, data, budget, room)
            if not batch:
                break
            try:
                all_folds = _evaluate(search, parallel, batch, data, budget)
            except BaseException as exc:  # error_score="raise", Ctrl-C ...
                for trial, _ in batch:
                    tuner.tell(trial, state=TrialState.FAILED, error=f"{exc!r}")
                raise
            for (trial, params), folds in zip(batch, all_folds, strict=True):
                for fold in folds:
                    names.extend(n for n in fold.test or {} if n not in names)
                evaluation = _Evaluation(params, folds, _whole(trial.budget), dict(trial.attrs))
                evaluation.trial = _tell(search, tuner, trial, evaluation, names)
                evaluations.append(evaluation)
    return evaluations


def _report_failures(evaluations: list[_Evaluation], error_score: Any) -> None:
    """One FitFailedWarning for the whole search; an error when nothing could be fitted."""
    from sklearn.exceptions import FitFailedWarning

    errors = [f.error for e in evaluations for f in e.folds if f.error is not None]
    n_fits = sum(len(e.folds) for e in evaluations)
    if not errors:
        return
    by_reason = Counter(_reason(error) for error in errors)
    first = next(e for e in errors if _reason(e) == by_reason.most_common(1)[0][0])
    summary = "\n".join(f"  {n} x {reason}" for reason, n in by_reason.most_common(5))
    # As in scikit-learn, only failing fits count here: when the fits worked and the
    # scorer failed, the search goes on (and the refit shows the error).
    if all(f.fit_failed for e in evaluations for f in e.folds):
        raise AllFitsFailedError(
            f"All {n_fits} fits of the {len(evaluations)} configurations failed, so there "
            f"is no best one. The errors:\n{summary}\nThe first traceback:\n{first}"
        )
    warnings.warn(
        f"{len(errors)} of {n_fits} fits failed; their scores are error_score="
        f"{error_score!r} and the search went on (error_score='raise' raises "
        f"instead). The errors:\n{summary}\nThe first traceback:\n{first}",
        FitFailedWarning,
        stacklevel=3,
    )


def _warn_non_finite(
    evaluations: list[_Evaluation], results: Mapping[str, Any], names: list[str]
) -> None:
    """Warn about scores that are not finite although every fit worked."""
    for name in names:
        means = results[f"mean_test_{name}"]
        odd = [
            i
            for i, e in enumerate(evaluations)
            if not e.failed_fits and not math.isfinite(float(means[i]))
        ]
        if odd:
            warnings.warn(
                f"{len(odd)} configurations have non-finite mean_test_{name} although "
                f"every fit worked (rows {odd[:10]} of cv_results_): the scorer returned "
                "NaN or infinity.",
                UserWarning,
                stacklevel=3,
            )


def _reason(error: str) -> str:
    """The exception line of a traceback (``ValueError: ...``), without the frames."""
    lines = error.splitlines()
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback ")), default=-1)
    for line in lines[start + 1 :]:
        if line and not line[0].isspace():
            return line
    return lines[-1] if lines else error
