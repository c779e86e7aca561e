"""How well a search's low budgets ranked its configurations as the higher budgets did.

Early stopping pays only when a configuration's rank after a few epochs says something about
its rank at the end. A search under successive halving, Hyperband, BOHB or ASHA's promotion
form trains the promoted configurations on several budgets, so its own trials measure this:
for each budget, the rank correlation (Spearman) between its results and those of a higher
budget, over the configurations complete at both.

A correlation near zero or below means the lower budget misleads: raise the smallest budget
(``min_epochs``) or search at the full budget. The measurement sees only what the search ran.
The configurations that reached the higher budget were chosen at the lower one, so they are
its better part, and a correlation among them is lower than on a random sample
(``benchmarks/fidelity_correlation.py`` measures that one on the benchmark's tasks).
Consecutive budgets share many configurations, the smallest and the largest few (Hyperband
carries one configuration a bracket from the bottom to the top), so an abrupt disagreement
between two budgets shows at once, while a slow drift over many budgets, each close to the
next, hardly shows.

The same searches make "the best trial" ambiguous: one configuration has a result on each
budget it reached, and a value after 1 epoch does not compete with one after 27.
:func:`~hyperscout.history.rank_configurations` is the one ranking behind every "best".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from hyperscout.trial import Trial, TrialState

__all__ = ["BudgetAgreement", "budget_agreement"]

#: Configurations needed before a correlation is given.
MIN_CONFIGS = 3


@dataclass(frozen=True)
class BudgetAgreement:
    """How one budget ranked the configurations that a higher budget also completed.

    Attributes:
        budget: the lower budget.
        higher: the higher budget it is compared with.
        n_configs: configurations with a complete result at both.
        spearman: the rank correlation of their values at the two budgets; None with fewer
            than three configurations or when one side does not vary.
    """

    budget: float
    higher: float
    n_configs: int
    spearman: float | None


def budget_agreement(trials: Iterable[Trial]) -> list[BudgetAgreement]:
    """Each budget below the largest against the next budget and against the largest.

    A configuration is recognised by its values (a promotion runs the same configuration on a
    higher budget); a configuration complete twice on one budget counts with its last result.
    Trials without a budget (a search without early stopping) give no rows.

    >>> from hyperscout.trial import Trial, TrialState
    >>> def t(n, x, budget, value):
    ...     return Trial(n, {"x": x}, TrialState.COMPLETE, value=value, budget=budget)
    >>> rows = budget_agreement([t(0, 0.1, 1, 0.5), t(1, 0.2, 1, 0.6), t(2, 0.3, 1, 0.7),
    ...                          t(3, 0.1, 3, 0.2), t(4, 0.2, 3, 0.3), t(5, 0.3, 3, 0.1)])
    >>> [(r.budget, r.higher, r.n_configs, round(r.spearman, 2)) for r in rows]
    [(1.0, 3.0, 3, -0.5)]
    """
    results: dict[float, dict[str, float]] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        if (
            trial.state is TrialState.COMPLETE
            and trial.budget is not None
            and trial.value is not None
            and math.isfinite(trial.value)
        ):
            results.setdefault(float(trial.budget), {})[trial.key] = float(trial.value)
    budgets = sorted(results)
    rows: list[BudgetAgreement] = []
    for i, budget in enumerate(budgets[:-1]):
        for higher in dict.fromkeys((budgets[i + 1], budgets[-1])):
            rows.append(_agreement(budget, higher, results[budget], results[higher]))
    return rows


def _agreement(
    budget: float, higher: float, low: dict[str, float], high: dict[str, float]
) -> BudgetAgreement:
    shared = sorted(low.keys() & high.keys())
    rho: float | None = None
    if len(shared) >= MIN_CONFIGS:
        # SciPy is imported here, where first needed: it costs most of `import hyperscout`.
        from scipy import stats

        a = [low[k] for k in shared]
        b = [high[k] for k in shared]
        if len(set(a)) > 1 and len(set(b)) > 1:
            rho = float(stats.spearmanr(a, b)[0])
    return BudgetAgreement(budget, higher, len(shared), rho)
