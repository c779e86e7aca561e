"""``cv_results_`` in GridSearchCV's layout, built from the cross-validated configurations."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from hyperscout.integrations.sklearn._fit import _Fold
from hyperscout.trial import Trial


# -- cv_results_ -----------------------------------------------------------------------------
@dataclass
class _Evaluation:
    """One configuration cross-validated: one trial of the study, one row of ``cv_results_``."""

    params: dict[str, Any]
    folds: list[_Fold]
    budget: int | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    trial: Trial | None = None

    def scores(self, name: str, error_score: Any, *, train: bool = False) -> list[float]:
        missing = math.nan if isinstance(error_score, str) else float(error_score)
        out = []
        for fold in self.folds:
            scores = fold.train if train else fold.test
            out.append(missing if scores is None else scores.get(name, missing))
        return out

    @property
    def failed_fits(self) -> int:
        return sum(fold.test is None or fold.error is not None for fold in self.folds)


def _column_dtype(values: list[Any]) -> np.dtype[Any]:
    """Numbers keep a numeric dtype; strings and objects are stored as objects."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        return np.dtype(object)
    if array.ndim == 1 and array.dtype.kind in "biufcmM":
        return array.dtype
    return np.dtype(object)


def _param_columns(candidates: list[dict[str, Any]]) -> Iterator[tuple[str, np.ma.MaskedArray]]:
    """A masked array per parameter name: masked where a configuration lacks the parameter."""
    names = list(dict.fromkeys(name for params in candidates for name in params))
    for name in names:
        present = [(i, params[name]) for i, params in enumerate(candidates) if name in params]
        dtype = _column_dtype([value for _, value in present])
        column: np.ma.MaskedArray = np.ma.MaskedArray(
            np.empty(len(candidates), dtype=dtype), mask=True
        )
        for i, value in present:
            column[i] = value
        yield f"param_{name}", column


def _rank(means: np.ndarray) -> np.ndarray:
    """Ranks, 1 the best (ties share the smaller rank); NaN means come last, tied together."""
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1.0, means)
    return cast(np.ndarray, rankdata(-filled, method="min").astype(np.int32))


def _put_stats(results: dict[str, Any], key: str, array: np.ndarray) -> None:
    results[f"mean_{key}"] = array.mean(axis=1)
    results[f"std_{key}"] = array.std(axis=1)


def _cv_results(
    evaluations: list[_Evaluation],
    names: list[str],
    *,
    n_splits: int,
    error_score: Any,
    return_train_score: bool,
    extras: Mapping[str, list[Any]],
) -> dict[str, Any]:
    """``cv_results_`` in GridSearchCV's layout, one row per evaluation."""
    results: dict[str, Any] = {key: np.asarray(column) for key, column in extras.items()}
    for key in ("fit_time", "score_time"):
        times = np.array(
            [[getattr(f, key) for f in e.folds] for e in evaluations], dtype=np.float64
        )
        _put_stats(results, key, times)
    candidates = [e.params for e in evaluations]
    results.update(_param_columns(candidates))
    results["params"] = candidates
    for name in names:
        for split in ("test", "train") if return_train_score else ("test",):
            scores = np.array(
                [e.scores(name, error_score, train=split == "train") for e in evaluations],
                dtype=np.float64,
            ).reshape(len(evaluations), n_splits)
            for k in range(n_splits):
                results[f"split{k}_{split}_{name}"] = scores[:, k]
            _put_stats(results, f"{split}_{name}", scores)
            if split == "test":
                results[f"rank_test_{name}"] = _rank(results[f"mean_test_{name}"])
    return results
