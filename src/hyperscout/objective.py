"""The metric a search optimises, and its direction.

>>> Objective.resolve("val_accuracy")
Objective(name='val_accuracy', direction='max')
>>> Objective.resolve("val_loss").direction
'min'
>>> Objective.resolve(None)
Objective(name='objective', direction='min')
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperscout.exceptions import InvalidArgumentError, ObjectiveDirectionError

__all__ = ["DEFAULT_METRIC", "Objective", "infer_direction"]

#: The metric name of an objective that returns a bare float.
DEFAULT_METRIC = "objective"

_MIN_WORDS = {
    "loss", "error", "err", "mse", "mae", "rmse", "msle", "rmsle", "mape", "smape", "nll",
    "logloss", "deviance", "perplexity", "regret", "cost", "distance", "latency", "time",
    "seconds", "wer", "cer", "bpc", "brier", "hinge", "crossentropy", "entropy", "objective",
}  # fmt: skip
_MAX_WORDS = {
    "acc", "accuracy", "auc", "roc", "f1", "fbeta", "precision", "recall", "r2", "score",
    "ap", "map", "iou", "miou", "dice", "bleu", "rouge", "reward", "return", "sharpe",
    "likelihood", "mcc", "kappa", "ndcg", "mrr", "hit", "hits", "top1", "top5", "sensitivity",
    "specificity", "jaccard", "psnr", "ssim", "balanced", "throughput",
}  # fmt: skip
_SPLIT_PREFIXES = {"train", "training", "test", "val", "valid", "validation", "eval"}


def infer_direction(name: str) -> str | None:
    """``"min"``, ``"max"``, or None when the name does not tell.

    The words of the name (split at ``_``, ``-``, ``.``, spaces and camelCase) are looked up
    in lists of well-known metrics; a ``neg_`` (or ``negative_``) prefix flips the direction,
    also after ``train_``, ``test_`` or ``val_`` as in scikit-learn's ``test_neg_log_loss``.

    >>> infer_direction("val_mean_squared_error"), infer_direction("neg_log_loss")
    ('min', 'max')
    >>> infer_direction("throughput_per_dollar"), infer_direction("banana") is None
    ('max', True)
    """
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    # scikit-learn negates errors as "neg_..."; cross_validate puts "train_"/"test_" before it.
    start = 1 if words[:1] and words[0] in _SPLIT_PREFIXES else 0
    flip = words[start : start + 1] in (["neg"], ["negative"])
    if flip:
        words = words[:start] + words[start + 1 :]
    is_min = any(w in _MIN_WORDS for w in words)
    is_max = any(w in _MAX_WORDS for w in words)
    if is_min == is_max:  # neither, or contradictory words such as "loss_score"
        return None
    direction = "min" if is_min else "max"
    if flip:
        direction = "max" if direction == "min" else "min"
    return direction


@dataclass(frozen=True)
class Objective:
    """A metric name and whether to minimise (``"min"``) or maximise (``"max"``) it.

    Args:
        name: the metric, a key of the dict the objective function returns.
        direction: ``"min"`` or ``"max"``.

    >>> Objective("val_f1", "max").is_better(0.9, 0.8)
    True
    """

    name: str
    direction: str = "min"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgumentError(
                f"Objective(name=...): expected a non-empty metric name, got {self.name!r}."
            )
        if self.direction not in ("min", "max"):
            raise InvalidArgumentError(
                f"Objective({self.name!r}, direction=...): expected 'min' or 'max', "
                f"got {self.direction!r}."
            )

    @classmethod
    def resolve(cls, spec: Objective | str | None, direction: str | None = None) -> Objective:
        """An Objective from what a user passes as ``objective=``.

        Args:
            spec: an Objective, a metric name, or None (a bare float, minimised).
            direction: overrides the inferred direction.

        Raises:
            ObjectiveDirectionError: a name whose direction cannot be inferred and no
                ``direction`` was given.
        """
        if isinstance(spec, Objective):
            return spec if direction is None else cls(spec.name, direction)
        if spec is None:
            return cls(DEFAULT_METRIC, direction or "min")
        if isinstance(spec, (list, tuple)):
            names = [o.name if isinstance(o, Objective) else o for o in spec]
            raise InvalidArgumentError(
                f"objective={names!r}: hyperscout optimises one metric. KerasTuner's list "
                "minimises the sum of its 'min' metrics minus its 'max' ones; to optimise "
                "such a sum, return it as a metric of its own (from HyperModel.fit or a "
                "run_trial override, e.g. {'score': val_loss - val_accuracy}) and pass "
                "objective=hs.Objective('score', 'min'). Or keep the one that matters most: "
                f"objective={names[0] if names else 'val_loss'!r}."
            )
        if not isinstance(spec, str):
            raise InvalidArgumentError(
                f"objective=: expected a metric name or hs.Objective(name, direction), "
                f"got {spec!r}."
            )
        if direction is None:
            direction = infer_direction(spec)
            if direction is None:
                raise ObjectiveDirectionError(
                    f"objective={spec!r}: cannot tell whether to minimise or maximise it. "
                    f'Say it: objective=hs.Objective("{spec}", "max") (or "min").'
                )
        return cls(spec, direction)

    @property
    def sign(self) -> float:
        """+1 for ``min`` and -1 for ``max``: ``sign * value`` is a loss."""
        return 1.0 if self.direction == "min" else -1.0

    def loss(self, value: float) -> float:
        """The value turned into a loss (lower is better)."""
        return self.sign * value

    def is_better(self, a: float, b: float) -> bool:
        """True when ``a`` is strictly better than ``b``."""
        return self.loss(a) < self.loss(b)

    def value_of(self, metrics: Mapping[str, Any]) -> float:
        """The objective's value in ``metrics``.

        Raises:
            InvalidArgumentError: the metric is missing or not a finite number.
        """
        if self.name not in metrics:
            raise InvalidArgumentError(
                f"The objective returned no {self.name!r} metric; it returned "
                f"{sorted(metrics)!r}. Return it, or pass objective= one of those names."
            )
        value = metrics[self.name]
        if isinstance(value, bool) or (
            not isinstance(value, (int, float)) and not hasattr(value, "__float__")
        ):
            raise InvalidArgumentError(
                f"Metric {self.name!r} must be a number, got {value!r} ({type(value).__name__})."
            )
        number = float(value)
        if not math.isfinite(number):
            raise InvalidArgumentError(f"Metric {self.name!r} is {number}, not a finite number.")
        return number

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "direction": self.direction}
