"""The one strategy registry: a name for each preset, what it does, and whether it budgets.

The command line (``hyperscout run --strategy``), the demo and the scikit-learn search
(``SearchCV(strategy=...)``) read this table, so that a strategy is offered everywhere it makes
sense, under one name, and an unknown name gets one error listing the valid ones.

>>> [s.name for s in STRATEGIES.values() if s.budgeted]
['halving', 'hyperband', 'bohb', 'asha']
>>> strategy("hyperbnd").name
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: strategy(name=...): expected one of 'random', \
'grid', 'bayes', 'halving', 'hyperband', 'bohb', 'asha' (did you mean 'hyperband'?), got \
'hyperbnd'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from hyperscout._validation import fail, near_miss
from hyperscout.tuner._tuner import Tuner
from hyperscout.tuner.presets import (
    ASHA,
    BOHB,
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    SuccessiveHalving,
)

__all__ = ["STRATEGIES", "Strategy", "make_tuner", "strategy"]


@dataclass(frozen=True)
class Strategy:
    """One entry of the registry.

    Attributes:
        name: the name users type (``--strategy NAME``, ``strategy="NAME"``).
        preset: the tuner class it makes.
        description: one line on what it does.
        budgeted: True when trials get budgets (``trial.budget``): the objective trains for
            that many epochs, and a full budget must be given.
        ends: True when it stops by itself (a grid exhausted, the brackets run); the others
            need ``max_trials`` or ``timeout``.
    """

    name: str
    preset: type[Tuner]
    description: str
    budgeted: bool
    ends: bool

    def make(
        self,
        hypermodel: Callable[..., Any] | None,
        *,
        max_budget: float | None = None,
        min_budget: float = 1,
        factor: int = 3,
        **options: Any,
    ) -> Tuner:
        """The preset, with the budgets given in one vocabulary whatever its own names are.

        A budgeted strategy without ``max_trials`` or ``timeout`` runs one round of its
        brackets; with either, as many as fit.
        """
        if not self.budgeted:
            return self.preset(hypermodel, **options)
        if max_budget is None:
            fail(self.preset.__name__, "max_budget", max_budget, "a trial's full budget")
        bounded = options.get("max_trials") is not None or options.get("timeout") is not None
        iterations = None if bounded else 1
        if self.preset is SuccessiveHalving:
            return SuccessiveHalving(
                hypermodel,
                min_budget=min_budget,
                max_budget=max_budget,
                factor=factor,
                iterations=iterations,
                **options,
            )
        if self.preset is ASHA:
            return ASHA(
                hypermodel, max_epochs=max_budget, min_epochs=min_budget, factor=factor, **options
            )
        return self.preset(
            hypermodel,
            max_epochs=max_budget,
            min_epochs=min_budget,
            factor=factor,
            hyperband_iterations=iterations,
            **options,
        )


def _entries() -> Iterable[Strategy]:
    yield Strategy(
        "random", RandomSearch, "random search: configurations drawn at random", False, False
    )
    yield Strategy("grid", GridSearch, "grid search: every combination once, in order", False, True)
    yield Strategy(
        "bayes",
        BayesianOptimization,
        "Bayesian optimization: a Gaussian process (TPE on large studies) proposes",
        False,
        False,
    )
    yield Strategy(
        "halving",
        SuccessiveHalving,
        "successive halving: many configurations on a small budget, the best third on more",
        True,
        True,
    )
    yield Strategy(
        "hyperband",
        Hyperband,
        "Hyperband: brackets of successive halving, random configurations",
        True,
        True,
    )
    yield Strategy(
        "bohb",
        BOHB,
        "BOHB: Hyperband whose configurations a model proposes",
        True,
        True,
    )
    yield Strategy(
        "asha",
        ASHA,
        "asynchronous successive halving: promotes as soon as a rung has results",
        True,
        False,
    )


#: Every strategy by name, in the order they are listed.
STRATEGIES: dict[str, Strategy] = {entry.name: entry for entry in _entries()}


def strategy(name: Any, *, owner: str = "strategy", argument: str = "name") -> Strategy:
    """The registry's entry called ``name``.

    Raises:
        InvalidArgumentError: an unknown name; the message lists the valid ones, and the
            closest when ``name`` looks like a typo. ``owner`` and ``argument`` name the
            caller's argument in it (``SearchCV(strategy=...)``).
    """
    if isinstance(name, str) and name in STRATEGIES:
        return STRATEGIES[name]
    close = near_miss(name, STRATEGIES) if isinstance(name, str) else None
    hint = f" (did you mean {close!r}?)" if close is not None else ""
    fail(owner, argument, name, "one of " + ", ".join(map(repr, STRATEGIES)) + hint)


def make_tuner(name: str, hypermodel: Callable[..., Any] | None, **options: Any) -> Tuner:
    """The tuner of the strategy ``name`` (see :meth:`Strategy.make` for the options).

    >>> tuner = make_tuner("hyperband", lambda hp, trial: 0.0, max_budget=9, storage="memory",
    ...                    verbose=0)
    >>> type(tuner).__name__
    'Hyperband'
    """
    return strategy(name).make(hypermodel, **options)
