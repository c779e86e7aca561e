"""Advice read from a study's trials: what to change in the search space or the budgets.

:func:`advise` looks for three patterns and says what to do about each:

- ``"edge"``: the best configurations of a numeric parameter sit at one end of its range
  (most of the best ones within the outer :data:`EDGE_BAND` of the range, measured in the
  parameter's own scale: the logarithm for ``sampling="log"``). The optimum may lie beyond
  it: widen the range at that end.
- ``"no_effect"``: a parameter's values do not change the result more than chance would
  (an additive analysis of variance of the configurations' ranks, which takes the other
  parameters' effects out first: see :func:`_effects`), and a small importance by PED-ANOVA
  (:func:`~hyperscout.report.importance.parameter_importance`: below half an equal share).
  Fix it at a good value and search the others.
- ``"budget"``: in a search with early stopping, a budget ranked the configurations unlike a
  higher budget (their rank correlation, :func:`~hyperscout.report.budgets.budget_agreement`,
  below :data:`BUDGET_RHO`). Early stopping at that budget drops configurations that would
  have won: raise the smallest budget.

Thin evidence gives no advice: the first two need :data:`MIN_CONFIGS` complete
configurations (at one budget: the largest budget that many configurations completed), the
third :data:`MIN_BUDGET_CONFIGS` configurations complete at both budgets compared. Trials of a
one-factor-at-a-time sweep (``attrs["sensitivity"]``, see ``Tuner.sensitivity``) are left out:
they are not a sample of the space.

>>> import hyperscout as hs
>>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=30, seed=0,
...                         storage="memory", verbose=0)
>>> tuner.search()
>>> [(a.kind, a.parameter) for a in advise(tuner)]
[('edge', 'x')]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperscout._parameters.numeric import _Numeric
from hyperscout.report._text import format_budget, format_value
from hyperscout.report.budgets import budget_agreement
from hyperscout.report.sensitivity import SENSITIVITY_ATTR
from hyperscout.report.study import StudyData, study_of
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

__all__ = [
    "BUDGET_RHO",
    "EDGE_BAND",
    "MIN_BUDGET_CONFIGS",
    "MIN_CONFIGS",
    "NO_EFFECT_F",
    "Advice",
    "advise",
]

#: Complete configurations needed before the edge and no-effect advice is given.
MIN_CONFIGS = 20
#: Configurations complete at both budgets needed before the budget advice is given.
MIN_BUDGET_CONFIGS = 4
#: The outer fraction of a range, at each end, that counts as its edge.
EDGE_BAND = 0.1
#: The share of the best configurations that must sit in one edge band.
EDGE_SHARE = 0.6
#: A parameter whose partial F (see :func:`_effects`) is at most this shows no effect.
NO_EFFECT_F = 1.5
#: A rank correlation between two budgets below this says the lower budget misleads.
BUDGET_RHO = 0.2


@dataclass(frozen=True)
class Advice:
    """One piece of advice about a study.

    Attributes:
        kind: ``"edge"``, ``"no_effect"`` or ``"budget"``.
        parameter: the parameter it is about (None for a budget).
        message: what was seen and what to do, one or two sentences (user text unescaped:
            print it through :func:`~hyperscout.report.printable`, or escape it for HTML).
        evidence: the numbers behind it (counts, shares, correlations, budgets).
    """

    kind: str
    parameter: str | None
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


def advise(source: Any, project_name: str | None = None) -> list[Advice]:
    """The advice on a study: edges to widen, parameters to fix, budgets that mislead.

    Args:
        source, project_name: the study, as :func:`~hyperscout.report.study_of` takes it
            (a :class:`~hyperscout.report.StudyData`, a tuner, a storage with a name, a
            project folder).

    Returns:
        The advice, edges first, then parameters without effect, then budgets; empty when
        nothing stands out or the study has too few trials (see the module's docstring).
    """
    data = study_of(source, project_name)
    sample = [t for t in data.trials if SENSITIVITY_ATTR not in t.attrs]
    configs = _ranked_configurations(sample, data)
    advice: list[Advice] = []
    if len(configs) >= MIN_CONFIGS:
        for param in data.space.space:
            found = _edge(param, configs)
            if found is not None:
                advice.append(found)
        advice.extend(_no_effects(data.space, configs, _importance(data, sample)))
    advice.extend(_budgets(sample))
    return advice


def _ranked_configurations(trials: Sequence[Trial], data: StudyData) -> list[Trial]:
    """Complete configurations at one budget, best first: the last result of each.

    Under budgets, the largest budget that :data:`MIN_CONFIGS` configurations completed
    (results on different budgets do not compare); otherwise every configuration.
    """
    by_budget: dict[float | None, dict[str, Trial]] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        if trial.state is TrialState.COMPLETE and _finite(trial.value):
            by_budget.setdefault(trial.budget, {})[trial.key] = trial
    if not by_budget:
        return []
    enough = [b for b, group in by_budget.items() if len(group) >= MIN_CONFIGS]
    budgeted = [b for b in enough if b is not None]
    chosen = None if None in by_budget or not budgeted else max(budgeted)
    group = list(by_budget.get(chosen, {}).values())
    return sorted(group, key=lambda t: (data.objective.loss(float(t.value or 0.0)), t.number))


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _position(param: _Numeric, value: float) -> float:
    """Where ``value`` lies in the parameter's range, 0 to 1, in its own scale."""
    lo, hi = float(param.min_value), float(param.max_value)
    if param.sampling == "log":
        span = math.log(hi) - math.log(lo)
        return (math.log(value) - math.log(lo)) / span if span else 0.5
    if param.sampling == "reverse_log":
        span = math.log(hi) - math.log(lo)
        return 1.0 - (math.log(hi + lo - value) - math.log(lo)) / span if span else 0.5
    return (value - lo) / (hi - lo) if hi > lo else 0.5


def _numeric_values(param: Any, configs: Sequence[Trial]) -> list[tuple[float, Trial]]:
    return [
        (float(t.values[param.name]), t)
        for t in configs
        if param.name in t.values and not isinstance(t.values[param.name], bool)
    ]


def _edge(param: Any, configs: Sequence[Trial]) -> Advice | None:
    """The edge advice for one numeric parameter, or None."""
    cardinality = param.cardinality
    if not isinstance(param, _Numeric) or (cardinality is not None and cardinality < 3):
        return None
    active = [t for t in configs if param.name in t.values]
    if len(active) < MIN_CONFIGS:
        return None
    top = active[: max(3, len(active) // 10)]
    positions = [_position(param, float(t.values[param.name])) for t in top]
    for edge, near, bound in (
        ("low", [p <= EDGE_BAND for p in positions], param.min_value),
        ("high", [p >= 1.0 - EDGE_BAND for p in positions], param.max_value),
    ):
        share = sum(near) / len(top)
        if near[0] and share >= EDGE_SHARE:
            which = "min_value" if edge == "low" else "max_value"
            scale = " (log scale)" if param.sampling == "log" else ""
            budget = configs[0].budget
            on = "" if budget is None else f" (results on budget {format_budget(budget)})"
            message = (
                f"{param.name}: the best configuration and {sum(near)} of the {len(top)} best"
                f"{on} lie in the {edge}est {EDGE_BAND:.0%} of its range{scale}, near "
                f"{which}={format_value(bound)}. The optimum may lie beyond: widen the range "
                f"past {which}."
            )
            evidence = {
                "edge": edge,
                "bound": bound,
                "top": len(top),
                "near": sum(near),
                "budget": budget,
            }
            return Advice("edge", param.name, message, evidence)
    return None


def _groups(param: Any, configs: Sequence[Trial]) -> list[int]:
    """Each configuration's group for ``param``: its category, or the quarter of the range
    (by quantiles of the values tried) it lies in; -1 where the parameter is inactive."""
    if param.is_categorical or not isinstance(param, _Numeric):
        labels = {format_value(v): i for i, v in enumerate(param.grid())}
        return [
            labels.get(format_value(t.values[param.name]), -1) if param.name in t.values else -1
            for t in configs
        ]
    xs = [
        _position(param, float(t.values[param.name])) if param.name in t.values else None
        for t in configs
    ]
    known = [x for x in xs if x is not None]
    if not known:
        return [-1] * len(configs)
    cuts = np.quantile(known, [0.25, 0.5, 0.75])
    return [-1 if x is None else int(np.searchsorted(cuts, x, side="right")) for x in xs]


def _columns(groups: Sequence[int]) -> np.ndarray:
    """One indicator column per group but the first (the intercept stands for it)."""
    labels = sorted(set(groups))[1:]
    return np.array([[float(g == label) for label in labels] for g in groups]).reshape(
        len(groups), len(labels)
    )


def _rss(design: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(((y - design @ coef) ** 2).sum())


def _effects(space: HyperParameters, configs: Sequence[Trial]) -> dict[str, dict[str, Any]]:
    """Each parameter's effect on the ranks, the others' effects taken out: a partial F test.

    The configurations' ranks (best 0) are fitted by an additive model of every parameter's
    groups (see :func:`_groups`); a parameter's ``F`` compares the variance its groups explain
    beyond the others' with the residual variance, per degree of freedom. Chance alone gives
    ``F`` near 1; a parameter that matters, far more.
    """
    n = len(configs)
    y = np.arange(n, dtype=float)  # configs are ranked: the rank is the loss
    blocks = {
        p.name: _columns(_groups(p, configs))
        for p in space.space
        if p.cardinality is None or p.cardinality >= 2
    }
    blocks = {name: block for name, block in blocks.items() if block.shape[1]}
    full = np.hstack([np.ones((n, 1)), *blocks.values()])
    df_residual = n - full.shape[1]
    if df_residual < 5:
        return {}
    rss_full = _rss(full, y)
    effects: dict[str, dict[str, Any]] = {}
    for name, block in blocks.items():
        others = [b for other, b in blocks.items() if other != name]
        rss = _rss(np.hstack([np.ones((n, 1)), *others]), y)
        df = block.shape[1]
        f = ((rss - rss_full) / df) / (rss_full / df_residual) if rss_full > 0 else math.inf
        effects[name] = {"n": n, "F": f, "df": df, "df_residual": df_residual}
    return effects


def _importance(data: StudyData, sample: Sequence[Trial]) -> dict[str, float]:
    """PED-ANOVA's importances of the sampled trials (:mod:`hyperscout.report.importance`)."""
    from hyperscout.report.importance import parameter_importance

    return parameter_importance(dataclasses.replace(data, trials=list(sample)))


def _no_effects(
    space: HyperParameters, configs: Sequence[Trial], importance: Mapping[str, float]
) -> list[Advice]:
    """The no-effect advice: parameters whose partial ``F`` is at most :data:`NO_EFFECT_F`
    and whose PED-ANOVA importance is below half an equal share (``0.5 / parameters``)."""
    advice = []
    for name, effect in _effects(space, configs).items():
        share = importance.get(name, 0.0)
        if effect["F"] > NO_EFFECT_F or share >= 0.5 / max(1, len(importance)):
            continue
        effect = {**effect, "importance": share}
        best = configs[0].values.get(name)
        message = (
            f"{name}: its values change the result no more than chance would over "
            f"{effect['n']} configurations. Fix it (at {format_value(best)}, the best "
            "configuration's value) and search the other parameters."
        )
        advice.append(Advice("no_effect", name, message, {**effect, "best_value": best}))
    return advice


def _budgets(trials: Sequence[Trial]) -> list[Advice]:
    """One advice per lower budget that ranked configurations unlike a higher one."""
    worst: dict[float, Any] = {}
    for row in budget_agreement(trials):
        if row.spearman is None or row.n_configs < MIN_BUDGET_CONFIGS:
            continue
        if row.spearman < BUDGET_RHO and (
            row.budget not in worst or row.spearman < worst[row.budget].spearman
        ):
            worst[row.budget] = row
    advice = []
    for budget in sorted(worst):
        row = worst[budget]
        message = (
            f"Budget {format_budget(row.budget)} ranked the {row.n_configs} configurations "
            f"that also ran on budget {format_budget(row.higher)} unlike it (rank correlation "
            f"{row.spearman:+.2f}): stopping trials at budget {format_budget(row.budget)} drops "
            "configurations that would have won. Raise the smallest budget (min_epochs) or "
            "search at the full budget."
        )
        evidence = {"budget": row.budget, "higher": row.higher, "n_configs": row.n_configs}
        advice.append(Advice("budget", None, message, {**evidence, "spearman": row.spearman}))
    return advice
