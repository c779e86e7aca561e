"""The tuners users know from the lecture and from KerasTuner: a sampler paired with a scheduler.

| preset | sampler | scheduler |
| --- | --- | --- |
| :class:`GridSearch` | :class:`GridSampler` | FIFO |
| :class:`RandomSearch` | :class:`RandomSampler` | FIFO |
| :class:`BayesianOptimization` | GP, TPE or both (``sampler="auto"``) | FIFO |
| :class:`SuccessiveHalving` | random (or any) | :class:`SuccessiveHalvingScheduler` |
| :class:`Hyperband` | random (or any) | :class:`HyperbandScheduler` |
| :class:`BOHB` | TPE (or the GP) on the best-known budget | Hyperband via :class:`BOHBScheduler` |
| :class:`ASHA` | random (or any) | :class:`ASHAScheduler` |

The presets take KerasTuner's arguments in KerasTuner's order, so that
``RandomSearch(build_model, "val_loss", 5)`` reads as it does there, and every other argument
of :class:`~hyperscout.tuner.Tuner` by name. :mod:`hyperscout.tuner.strategies` names them for
the command line, the demo and ``SearchCV``.

Each takes every argument of :class:`~hyperscout.tuner.Tuner`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyperscout._validation import check_int, check_number, fail
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.objective import Objective
from hyperscout.samplers import (
    AutoSampler,
    GPSampler,
    GridSampler,
    RandomSampler,
    Sampler,
    TPESampler,
)
from hyperscout.samplers.gp_model import NOISE_FLOOR
from hyperscout.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    HyperbandScheduler,
    SuccessiveHalvingScheduler,
)
from hyperscout.space import DEFAULT_GRID_POINTS, HyperParameters
from hyperscout.tuner._tuner import Tuner

#: What ``objective=`` takes: a metric's name, an Objective, a list of them, or None.
ObjectiveArg = Objective | str | list[Objective | str] | None

__all__ = [
    "ASHA",
    "BOHB",
    "BayesianOptimization",
    "GridSearch",
    "Hyperband",
    "RandomSearch",
    "SuccessiveHalving",
]


class RandomSearch(Tuner):
    """Random search: configurations drawn at random (duplicates redrawn).

    Takes :class:`Tuner`'s arguments; ``max_trials`` defaults to 10 as in KerasTuner.
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_trials: int | None = 10,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sampler", RandomSampler())
        kwargs.update(_named(locals()))
        super().__init__(hypermodel, max_trials=max_trials, **kwargs)


class GridSearch(Tuner):
    """Grid search: every combination once, in a fixed order, until the grid is exhausted.

    Args:
        float_points: values of a float without a step (default 5).

    Takes :class:`Tuner`'s arguments; ``max_trials`` defaults to None (the whole grid).

    >>> import hyperscout as hs
    >>> def objective(hp):
    ...     return hp.Int("a", 0, 2) + hp.Choice("b", [10, 20])
    >>> tuner = hs.GridSearch(objective, storage="memory", verbose=0)
    >>> tuner.search()
    >>> [dict(t.values) for t in tuner.trials][:3]
    [{'a': 0, 'b': 10}, {'a': 0, 'b': 20}, {'a': 1, 'b': 10}]
    >>> len(tuner.trials)
    6
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        float_points: int = DEFAULT_GRID_POINTS,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sampler", GridSampler(float_points=float_points))
        kwargs.update(_named(locals()))
        super().__init__(hypermodel, max_trials=max_trials, **kwargs)


_BAYES_SAMPLERS = ("auto", "gp", "tpe")
_BAYES_EXPECTED = "one of " + ", ".join(map(repr, _BAYES_SAMPLERS)) + " or a Sampler"


class BayesianOptimization(Tuner):
    """Bayesian optimization: a model of the objective proposes where improvement is likely.

    Args:
        num_initial_points: trials drawn before the model proposes (a scrambled Sobol
            design for the GP, random draws for TPE); default 10.
        alpha: the smallest noise variance of the GP, relative to the standardised losses
            (KerasTuner's ``alpha``); raise it for a noisy objective.
        beta: None (default) uses log expected improvement; a number uses KerasTuner's
            upper-confidence-bound acquisition with this ``beta``.
        sampler: ``"gp"`` (a Gaussian process), ``"tpe"`` (a multivariate Tree-structured
            Parzen estimator), ``"auto"`` (default: the GP while the study has fewer than
            250 trials and the space at most 32 parameters, TPE beyond), or a
            :class:`Sampler`.

    Takes :class:`Tuner`'s arguments; ``max_trials`` defaults to 10 as in KerasTuner.

    >>> import hyperscout as hs
    >>> def objective(hp):
    ...     return (hp.Float("x", -5.0, 5.0) - 1.0) ** 2
    >>> tuner = hs.BayesianOptimization(objective, max_trials=15, num_initial_points=5,
    ...                                 seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> abs(tuner.get_best_hyperparameters()[0]["x"] - 1.0) < 0.1
    True
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = NOISE_FLOOR,
        beta: float | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        sampler: str | Sampler = "auto",
        **kwargs: Any,
    ) -> None:
        kwargs.update(_named(locals()))
        check_int(
            "BayesianOptimization",
            "num_initial_points",
            num_initial_points,
            minimum=1,
            allow_none=True,
        )
        if isinstance(sampler, str):
            if sampler not in _BAYES_SAMPLERS:
                fail("BayesianOptimization", "sampler", sampler, _BAYES_EXPECTED)
            startup = 10 if num_initial_points is None else num_initial_points
            try:
                gp = GPSampler(n_startup_trials=startup, noise_floor=alpha, beta=beta)
            except InvalidArgumentError as exc:  # name the preset's argument, not the sampler's
                text = str(exc).replace("noise_floor", "alpha")
                raise InvalidArgumentError(
                    text.replace("GPSampler(", "BayesianOptimization(")
                ) from None
            tpe = TPESampler(n_startup_trials=startup)
            chosen: Sampler = {"gp": gp, "tpe": tpe, "auto": AutoSampler(gp=gp, tpe=tpe)}[sampler]
        elif isinstance(sampler, Sampler):
            chosen = sampler
        else:
            fail("BayesianOptimization", "sampler", sampler, _BAYES_EXPECTED)
        super().__init__(hypermodel, max_trials=max_trials, sampler=chosen, **kwargs)


class SuccessiveHalving(Tuner):
    """Successive halving: many configurations on a small budget, the best third on more.

    Each trial's budget (``trial.budget``: epochs unless you say otherwise) comes from the
    scheduler; a configuration promoted to a higher budget continues from its lower-rung
    checkpoint (``trial.previous_checkpoint_dir``). The search ends when the top rung has run.

    Args:
        min_budget: the smallest budget worth running.
        max_budget: the full budget.
        factor: the ratio between rungs (default 3: keep the best third).
        n_configs: configurations on the bottom rung (default ``factor ** rungs``).
        iterations: how many times the bracket runs with new configurations (default 1);
            None: until ``max_trials`` or ``timeout`` (one of them is then required).

    >>> import hyperscout as hs
    >>> def objective(hp, trial):
    ...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2 + 1.0 / trial.budget
    >>> tuner = hs.SuccessiveHalving(objective, min_budget=1, max_budget=9, seed=0,
    ...                              storage="memory", verbose=0)
    >>> tuner.search()
    >>> [t.budget for t in tuner.trials].count(9)
    1
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        *,
        min_budget: float,
        max_budget: float,
        factor: int = 3,
        n_configs: int | None = None,
        iterations: int | None = 1,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sampler", RandomSampler())
        kwargs["objective"] = objective
        _check_bounded("SuccessiveHalving", "iterations", iterations, max_trials, kwargs)
        scheduler = SuccessiveHalvingScheduler(
            min_budget, max_budget, factor=factor, n_configs=n_configs, iterations=iterations
        )
        super().__init__(hypermodel, max_trials=max_trials, scheduler=scheduler, **kwargs)


class Hyperband(Tuner):
    """Hyperband (Li et al., 2018), with KerasTuner's argument names.

    Brackets of successive halving from aggressive (many configurations, one epoch) to none
    (a few at ``max_epochs``); any sampler proposes the new configurations (random by
    default). Budgets and checkpoints work as in :class:`SuccessiveHalving`.

    Args:
        max_epochs: the full budget of a trial.
        factor: the ratio between rungs (default 3).
        hyperband_iterations: how many times the whole set of brackets runs (default 1);
            None: until ``max_trials`` or ``timeout`` (one of them is then required).
        min_epochs: the smallest budget (default 1).

    >>> import hyperscout as hs
    >>> def objective(hp, trial):
    ...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2 + 1.0 / trial.budget
    >>> tuner = hs.Hyperband(objective, max_epochs=9, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> sorted({t.budget for t in tuner.trials})
    [1, 3, 9]
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_epochs: float = 100,
        factor: int = 3,
        hyperband_iterations: int | None = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        min_epochs: float = 1,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sampler", RandomSampler())
        kwargs.update(_named(locals()))
        _check_epochs("Hyperband", max_epochs, min_epochs)
        _check_bounded(
            "Hyperband", "hyperband_iterations", hyperband_iterations, max_trials, kwargs
        )
        scheduler = HyperbandScheduler(
            min_epochs, max_epochs, factor=factor, iterations=hyperband_iterations
        )
        super().__init__(hypermodel, max_trials=max_trials, scheduler=scheduler, **kwargs)


class BOHB(Tuner):
    """Model-based Hyperband (Falkner et al., 2018): Hyperband whose new configurations come
    from a model fitted on the largest budget that has enough results.

    Args:
        max_epochs, factor, hyperband_iterations, min_epochs: as for :class:`Hyperband`.
        sampler: the model: ``"auto"`` (default: the Gaussian process of
            :class:`BayesianOptimization` while it is affordable, TPE beyond, as
            :class:`AutoSampler` decides), ``"tpe"`` (the paper's), ``"gp"``, or a Sampler.
            ``benchmarks/multi_fidelity.py`` measured the GP ahead of TPE early in the search
            on all four of its tasks (``docs/benchmarks.md``).
        min_points_in_model: results a budget needs before the model uses it (default: the
            number of parameters plus one, and at least the model's start-up trials).
        random_fraction: once the model is used, the share of new configurations drawn at
            random (the paper's 1/3), a safeguard where low budgets mislead the model.
        model_budgets: ``"largest"`` (the paper's): the model learns from the largest budget
            with enough results; ``"all"``: the Gaussian process learns from every budget
            with the budget as one more input, so it learns how well low budgets predict the
            full one (needs the GP: ``sampler="auto"`` or ``"gp"``).

    >>> import hyperscout as hs
    >>> def objective(hp, trial):
    ...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2 + 1.0 / trial.budget
    >>> tuner = hs.BOHB(objective, max_epochs=9, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> tuner.get_best_trials(1)[0].budget
    9
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_epochs: float = 100,
        factor: int = 3,
        hyperband_iterations: int | None = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        min_epochs: float = 1,
        sampler: str | Sampler = "auto",
        min_points_in_model: int | None = None,
        random_fraction: float = 1 / 3,
        model_budgets: str = "largest",
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.update(_named(locals()))
        _check_epochs("BOHB", max_epochs, min_epochs)
        _check_bounded("BOHB", "hyperband_iterations", hyperband_iterations, max_trials, kwargs)
        if isinstance(sampler, Sampler):
            model = sampler
        elif sampler == "auto":
            model = AutoSampler()
        elif sampler == "tpe":
            model = TPESampler()
        elif sampler == "gp":
            model = GPSampler()
        else:
            fail("BOHB", "sampler", sampler, "'auto', 'tpe', 'gp' or a Sampler")
        scheduler = BOHBScheduler(
            HyperbandScheduler(
                min_epochs, max_epochs, factor=factor, iterations=hyperband_iterations
            ),
            min_points_in_model=min_points_in_model,
            random_fraction=random_fraction,
            model_budgets=model_budgets,
        )
        super().__init__(
            hypermodel, max_trials=max_trials, sampler=model, scheduler=scheduler, **kwargs
        )


class ASHA(Tuner):
    """Asynchronous successive halving (Li et al., 2020), with KerasTuner's budget names.

    No brackets to wait for: a trial is promoted (``mode="promotion"``, the default: it runs
    again on ``factor`` times the budget) or stopped (``mode="stopping"``: it is stopped at
    a rung where it is not in the best ``1/factor``) as soon as the rung it reached has
    enough results, so every worker stays busy. It never ends by itself: give ``max_trials``
    or ``timeout``. Budgets and checkpoints work as in :class:`SuccessiveHalving`.

    Args:
        max_epochs: the full budget of a trial.
        factor: the ratio between rungs (default 3).
        min_epochs: the smallest budget (default 1).
        mode: ``"promotion"`` or ``"stopping"`` (see :class:`ASHAScheduler`).

    >>> import hyperscout as hs
    >>> def objective(hp, trial):
    ...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2 + 1.0 / trial.budget
    >>> tuner = hs.ASHA(objective, max_epochs=9, max_trials=20, seed=0, storage="memory",
    ...                 verbose=0)
    >>> tuner.search()
    >>> sorted({t.budget for t in tuner.trials})
    [1, 3, 9]
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        objective: ObjectiveArg = None,
        max_epochs: float = 100,
        factor: int = 3,
        *,
        min_epochs: float = 1,
        mode: str = "promotion",
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("sampler", RandomSampler())
        kwargs["objective"] = objective
        _check_epochs("ASHA", max_epochs, min_epochs)
        scheduler = ASHAScheduler(min_epochs, max_epochs, factor=factor, mode=mode)
        super().__init__(hypermodel, max_trials=max_trials, scheduler=scheduler, **kwargs)


#: The arguments KerasTuner's tuners take in this order, which the presets pass on by name.
_KERASTUNER_COMMON = (
    "objective",
    "seed",
    "hyperparameters",
    "tune_new_entries",
    "allow_new_entries",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
)


def _named(arguments: dict[str, Any]) -> dict[str, Any]:
    """The Tuner arguments among a preset's own (given by position as in KerasTuner)."""
    return {name: arguments[name] for name in _KERASTUNER_COMMON}


def _check_epochs(owner: str, max_epochs: Any, min_epochs: Any) -> None:
    """KerasTuner's budget names checked under them (the scheduler calls them otherwise)."""
    check_number(owner, "max_epochs", max_epochs, minimum=0, above=True)
    check_number(owner, "min_epochs", min_epochs, minimum=0, above=True, maximum=max_epochs)


def _check_bounded(
    owner: str, name: str, iterations: int | None, max_trials: int | None, kwargs: dict[str, Any]
) -> None:
    """Unlimited iterations need another end: ``max_trials`` or ``timeout``."""
    if iterations is None and max_trials is None and kwargs.get("timeout") is None:
        raise InvalidArgumentError(
            f"{owner}({name}=None) runs brackets until the search is stopped: give "
            "max_trials= or timeout= as well, or a number of iterations."
        )
