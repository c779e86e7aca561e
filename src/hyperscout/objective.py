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
from dataclasses import dataclass, field
from typing import Any

from hyperscout.exceptions import InvalidArgumentError, ObjectiveDirectionError

__all__ = ["DEFAULT_METRIC", "MULTI_OBJECTIVE", "Objective", "infer_direction"]

#: The metric name of an objective that returns a bare float.
DEFAULT_METRIC = "objective"
#: The metric name of a sum of objectives (KerasTuner's ``objective=[...]``).
MULTI_OBJECTIVE = "multi_objective"

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
# Words of a change of a metric: "error_rate_reduction" and "accuracy_drop" are better high and
# low, the reverse of their metric's word, so a name with both kinds of word is not inferred.
_CHANGE_WORDS = {
    "reduction", "decrease", "increase", "improvement", "gain", "drop", "degradation",
    "delta", "change", "diff", "difference", "lift", "uplift", "speedup", "savings",
}  # fmt: skip


def infer_direction(name: str) -> str | None:
    """``"min"``, ``"max"``, or None when the name does not tell.

    The words of the name (split at ``_``, ``-``, ``.``, spaces and camelCase) are looked up
    in lists of well-known metrics; a ``neg_`` (or ``negative_``) prefix flips the direction,
    also after ``train_``, ``test_`` or ``val_`` as in scikit-learn's ``test_neg_log_loss``.
    A name with words of both directions (``loss_score``), or with a metric's word and a word
    of change (``error_rate_reduction``, ``accuracy_drop``, ``latency_improvement``), is not
    inferred: whether higher is better depends on what the name means.

    >>> infer_direction("val_mean_squared_error"), infer_direction("neg_log_loss")
    ('min', 'max')
    >>> infer_direction("throughput_per_dollar"), infer_direction("banana") is None
    ('max', True)
    >>> infer_direction("error_rate_reduction") is None
    True
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
    if any(w in _CHANGE_WORDS for w in words):  # "error_rate_reduction": higher is better
        return None
    direction = "min" if is_min else "max"
    if flip:
        direction = "max" if direction == "min" else "min"
    return direction


def _why_unclear(name: str) -> str:
    """Why :func:`infer_direction` gave no direction, when the name has telling words."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    lower = [w for w in words if w in _MIN_WORDS]
    higher = [w for w in words if w in _MAX_WORDS]
    change = [w for w in words if w in _CHANGE_WORDS]
    if change and (lower or higher):
        metric = (lower or higher)[0]
        return (
            f" ({metric!r} names a metric and {change[0]!r} a change of it, so a higher value "
            f"may be better or worse)"
        )
    if lower and higher:
        return f" ({lower[0]!r} reads as lower is better, {higher[0]!r} as higher is better)"
    return ""


@dataclass(frozen=True)
class Objective:
    """A metric name and whether to minimise (``"min"``) or maximise (``"max"``) it.

    Args:
        name: the metric, a key of the dict the objective function returns.
        direction: ``"min"`` or ``"max"``.
        parts: for KerasTuner's ``objective=[...]`` (made by :meth:`resolve` from a list), the
            metrics whose sum this objective minimises: each ``min`` metric counts as it is and
            each ``max`` metric with its sign flipped (see :meth:`with_value`).

    >>> Objective("val_f1", "max").is_better(0.9, 0.8)
    True
    """

    name: str
    direction: str = "min"
    parts: tuple[Objective, ...] = field(default=())

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
        names = [p.name for p in self.parts if isinstance(p, Objective) and not p.parts]
        if len(names) != len(self.parts) or len(set(names)) != len(names) or self.name in names:
            raise InvalidArgumentError(
                f"Objective({self.name!r}, parts=...): expected distinct single objectives "
                f"other than {self.name!r}, got {self.parts!r}."
            )

    def __repr__(self) -> str:
        parts = f", parts={self.parts!r}" if self.parts else ""
        return f"Objective(name={self.name!r}, direction={self.direction!r}{parts})"

    def with_value(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """``metrics`` with this objective's value added, for a sum of metrics.

        An objective with :attr:`parts` (KerasTuner's ``objective=["val_loss",
        "val_accuracy"]``) is ``sum(min metrics) - sum(max metrics)``, as KerasTuner's
        ``MultiObjective`` computes it; it is added when every part is a finite number and
        the metrics do not hold it already. Any other objective returns a copy of ``metrics``.

        >>> both = Objective.resolve(["val_loss", "val_accuracy"])
        >>> both.with_value({"val_loss": 0.5, "val_accuracy": 0.75})
        {'val_loss': 0.5, 'val_accuracy': 0.75, 'multi_objective': -0.25}
        """
        combined = dict(metrics)
        if not self.parts or self.name in combined:
            return combined
        total = 0.0
        for part in self.parts:
            value = combined.get(part.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                try:
                    value = float(value)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    return combined
            if not math.isfinite(value):
                return combined
            total += part.sign * float(value)
        combined[self.name] = total
        return combined

    @classmethod
    def resolve(
        cls,
        spec: Objective | str | list[Objective | str] | tuple[Objective | str, ...] | None,
        direction: str | None = None,
    ) -> Objective:
        """An Objective from what a user passes as ``objective=``.

        Args:
            spec: an Objective, a metric name, None (a bare float, minimised), or a list of
                names and Objectives: KerasTuner's multi-objective, the sum of the ``min``
                metrics minus the ``max`` ones, minimised under the name ``multi_objective``
                (see :meth:`with_value`; a list of one is that objective).
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
            return cls._combined(spec)
        if not isinstance(spec, str):
            raise InvalidArgumentError(
                f"objective=: expected a metric name or hs.Objective(name, direction), "
                f"got {spec!r}."
            )
        if direction is None:
            direction = infer_direction(spec)
            if direction is None:
                raise ObjectiveDirectionError(
                    f"objective={spec!r}: cannot tell whether to minimise or maximise it"
                    f"{_why_unclear(spec)}. "
                    f'Say it: objective=hs.Objective("{spec}", "max") (or "min").'
                )
        return cls(spec, direction)

    @classmethod
    def _combined(cls, specs: list[Any] | tuple[Any, ...]) -> Objective:
        """KerasTuner's ``objective=[...]``: minimise the min metrics minus the max ones."""
        if not specs or any(isinstance(s, (list, tuple)) for s in specs):
            raise InvalidArgumentError(
                f"objective={list(specs)!r}: expected metric names or hs.Objective(name, "
                "direction) in a non-empty, flat list."
            )
        parts = tuple(cls.resolve(s) for s in specs)
        if len(parts) == 1:
            return parts[0]
        names = [p.name for p in parts]
        if len(set(names)) != len(names) or MULTI_OBJECTIVE in names:
            raise InvalidArgumentError(
                f"objective={names!r}: expected distinct metric names other than "
                f"{MULTI_OBJECTIVE!r}."
            )
        return cls(MULTI_OBJECTIVE, "min", parts=parts)

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

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "direction": self.direction}
        if self.parts:
            data["parts"] = [p.to_dict() for p in self.parts]
        return data
