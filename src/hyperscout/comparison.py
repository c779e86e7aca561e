"""Compare search strategies on your own objective: :func:`compare`.

The lecture's claims (random search beats a grid, a model beats random search, Hyperband
spends its epochs better) become a run on your problem. :func:`compare` runs each strategy
of the registry (:data:`~hyperscout.tuner.strategies.STRATEGIES`) with several seeds on the
same objective and the same budget, keeps every run as a study, and returns a
:class:`Comparison` whose figure and table are read from storage
(:mod:`hyperscout.report.compare`).

**The same budget.** A strategy without budgets (grid, random, bayes) runs ``max_trials``
trials, each at the full budget (a grid may run fewer: the whole grid). A budgeted strategy
(halving, hyperband, bohb, asha) may spend as much as those trials: ``max_trials *
max_budget`` in the sum of its trials' budgets (``trial.budget`` epochs each; a promoted
trial counts its whole budget). It runs its brackets, and no trial starts that would take the
sum past that total. Its objective takes ``(hp, trial)`` and trains ``trial.budget`` epochs;
the strategies without budgets call it with ``trial.budget`` None, meaning ``max_budget``.

**Where the runs live.** Each (strategy, seed) is its own study named
``<strategy>-seed<seed>``: by default an ordinary project folder
``directory/project_name/<strategy>-seed<seed>/`` (``hyperscout show`` and ``hyperscout
report`` read each one); with ``storage=``, a study of that storage named
``<project_name>-<strategy>-seed<seed>``. Every study is marked with the comparison's
settings (``meta["compare"]``), so that a comparison run again resumes: a finished run is
not reopened, an interrupted one goes on where it stopped, and nothing done is run again.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._paths import check_project_name
from hyperscout._validation import check, check_int, check_number, fail, is_int
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Decision, Scheduler, Stop, Suggestion, Wait
from hyperscout.space import HyperParameters
from hyperscout.storage import Storage, for_project, open_storage
from hyperscout.trial import Trial
from hyperscout.tuner import Tuner
from hyperscout.tuner.strategies import Strategy, strategy

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperscout.report.compare import ComparisonData
    from hyperscout.report.compare_table import ComparisonTable

#: The key of a run's study meta that marks it (:data:`hyperscout.report.compare.META_KEY`,
#: spelled here so that ``import hyperscout`` need not load the report's comparison modules).
META_KEY = "compare"

__all__ = ["DEFAULT_STRATEGIES", "BudgetCap", "Comparison", "compare"]

#: The lecture's comparison: grid, random, Bayesian, Hyperband and BOHB.
DEFAULT_STRATEGIES = ("grid", "random", "bayes", "hyperband", "bohb")


class BudgetCap(Scheduler):
    """A budgeted strategy's scheduler, stopped before the sum of budgets passes ``total``.

    Wraps the preset's scheduler: it proposes as before; a trial that would take the budget
    spent (the sum of the budgets of the study's trials) past ``total`` is not started, and
    the search stops there.
    """

    def __init__(self, inner: Scheduler, total: float, full: float) -> None:
        self.inner, self.total, self.full = inner, total, full

    def _cost(self, budget: float | None) -> float:
        return self.full if budget is None else float(budget)

    def next(
        self,
        space: HyperParameters,
        history: History,
        sampler: Sampler,
        rng: np.random.Generator,
    ) -> Suggestion | Wait | Stop:
        spent = sum(self._cost(t.budget) for t in history)
        step = self.inner.next(space, history, sampler, rng)
        if isinstance(step, Suggestion) and spent + self._cost(step.budget) > self.total:
            return Stop(f"the comparison's budget of {self.total:g} is spent ({spent:g})")
        return step

    def on_report(self, trial: Trial, history: History) -> Decision:
        return self.inner.on_report(trial, history)

    def has_end(self, sampler: Sampler) -> bool:
        return True

    def settings(self) -> dict[str, Any]:
        return self.inner.settings()

    def __repr__(self) -> str:
        return f"BudgetCap({self.inner!r}, total={self.total:g})"


class Comparison:
    """The runs of a comparison, and what they show; everything is read from storage.

    Made by :func:`compare`; :attr:`runs` names its studies. :meth:`data` reads them now
    (a comparison still running elsewhere shows its trials so far).
    """

    def __init__(
        self,
        name: str,
        runs: Sequence[tuple[str, int, str]],
        *,
        folder: Path | None,
        storage: Storage | str | None,
    ) -> None:
        #: ``(strategy, seed, study name)`` of each run.
        self.runs = list(runs)
        self.name = name
        #: The comparison's folder (one project folder per run), or None with a storage.
        self.folder = folder
        self._storage = storage

    def data(self) -> ComparisonData:
        """The runs' studies, read from storage now."""
        source = self.folder if self.folder is not None else self._storage
        from hyperscout.report.compare import ComparisonData, read_comparison

        data = read_comparison(source, self.name)
        # Runs of an earlier call with other strategies or seeds stay in storage, unread here.
        wanted = {(strategy, seed) for strategy, seed, _ in self.runs}
        return ComparisonData(
            data.name, [run for run in data.runs if (run.strategy, run.seed) in wanted]
        )

    @property
    def studies(self) -> list[Any]:
        """Each run's :class:`~hyperscout.report.StudyData`, in the order of :attr:`runs`."""
        return [run.study for run in self.data().runs]

    def figure(self, *, x: str = "auto", band: str = "iqr") -> go.Figure:
        """Best so far against trials or budget spent, with the spread over seeds.

        See :func:`hyperscout.report.compare.comparison_figure`.
        """
        from hyperscout.report.compare import comparison_figure

        return comparison_figure(self.data(), x=x, band=band)

    def table(
        self, *, target: float | None = None, x: str = "auto", band: str = "iqr"
    ) -> ComparisonTable:
        """Per strategy: the final best, the budget to reach ``target``, the wall time.

        See :func:`hyperscout.report.compare_table.comparison_table`.
        """
        from hyperscout.report.compare_table import comparison_table

        return comparison_table(self.data(), target=target, x=x, band=band)

    def write_figure(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Write the figure: an ``.html`` file that opens offline (plotly's JS inside)."""
        from hyperscout.report.compare import save_figure

        return save_figure(self.figure(**options), path)

    def __repr__(self) -> str:
        return f"Comparison(name={self.name!r}, runs={len(self.runs)})"


def _check_strategies(strategies: Any) -> list[Strategy]:
    check(
        "compare",
        "strategies",
        strategies,
        isinstance(strategies, Iterable) and not isinstance(strategies, (str, bytes)),
        "a list of strategy names",
    )
    found = [strategy(name, owner="compare", argument="strategies") for name in strategies]
    check("compare", "strategies", strategies, bool(found), "at least one strategy")
    names = [entry.name for entry in found]
    check("compare", "strategies", strategies, len(set(names)) == len(names), "distinct names")
    return found


def _check_seeds(seeds: Any) -> list[int]:
    if is_int(seeds, minimum=1):
        return list(range(int(seeds)))
    ok = (
        isinstance(seeds, Sequence)
        and not isinstance(seeds, str)
        and len(seeds) > 0
        and all(is_int(s, minimum=0) for s in seeds)
        and len(set(seeds)) == len(seeds)
    )
    check("compare", "seeds", seeds, ok, "a number of seeds >= 1, or a list of distinct seeds")
    return [int(s) for s in seeds]


def _check_budget(max_budget: Any, chosen: Sequence[Strategy]) -> float | None:
    budgeted = [entry.name for entry in chosen if entry.budgeted]
    if max_budget is None:
        if budgeted:
            fail("compare", "max_budget", None, f"a trial's full budget for {budgeted[0]!r}")
        return None
    check_number("compare", "max_budget", max_budget, minimum=1)
    return float(max_budget)


def _check_options(options: Any, chosen: Sequence[Strategy]) -> dict[str, dict[str, Any]]:
    if options is None:
        return {}
    names = [entry.name for entry in chosen]
    ok = isinstance(options, Mapping) and all(
        key in names and isinstance(value, Mapping) for key, value in options.items()
    )
    check(
        "compare",
        "strategy_options",
        options,
        ok,
        "a dict of preset arguments by strategy name, among " + ", ".join(map(repr, names)),
    )
    return {str(key): dict(value) for key, value in options.items()}


def _check_storage(storage: Any) -> None:
    check(
        "compare",
        "storage",
        storage,
        storage is None
        or isinstance(storage, Storage)
        or (isinstance(storage, str) and storage != "memory"),
        "None, a Storage or a database URL (for memory, a MemoryStorage() kept by you)",
    )


def compare(
    objective: Callable[..., Any],
    strategies: Sequence[str] = DEFAULT_STRATEGIES,
    *,
    max_trials: int,
    seeds: int | Sequence[int] = 3,
    max_budget: float | None = None,
    directory: str | os.PathLike[str] = ".",
    storage: Storage | str | None = None,
    project_name: str = "compare",
    metric: Objective | str | None = None,
    strategy_options: Mapping[str, Mapping[str, Any]] | None = None,
    verbose: int = 0,
) -> Comparison:
    """Run each strategy with each seed on ``objective`` with the same budget; compare them.

    Args:
        objective: ``f(hp)`` or ``f(hp, trial)`` returning a float or a dict of metrics, as
            for a tuner; with budgeted strategies, ``f(hp, trial)`` training
            ``trial.budget`` epochs (``max_budget`` when ``trial.budget`` is None).
        strategies: names of the registry (default: grid, random, bayes, hyperband, bohb).
        max_trials: the trials of a strategy without budgets; a budgeted one may spend
            ``max_trials * max_budget`` in the sum of its trials' budgets (see the module).
        seeds: how many seeds (0, 1, ...), or the seeds themselves.
        max_budget: a trial's full budget (epochs); needed when a strategy is budgeted.
        directory: the comparison's folder is ``directory/project_name``.
        storage: None (one project folder per run), a :class:`Storage` or a database URL.
        project_name: the comparison's name (one folder name).
        metric: the metric to optimise, as a tuner's ``objective=`` (name, Objective, None).
        strategy_options: more arguments of a strategy's preset, by strategy name, e.g.
            ``{"bayes": {"num_initial_points": 4}}``.
        verbose: the tuners' verbosity (0 silent).

    Raises:
        InvalidArgumentError: an unknown strategy (the registry's error), a bad argument.

    >>> import hyperscout as hs
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> result = hs.compare(lambda hp: (hp.Float("x", -1.0, 1.0) - 0.3) ** 2,
    ...                     ["grid", "random"], max_trials=4, seeds=2, directory=folder)
    >>> [row.strategy for row in result.table().rows]
    ['grid', 'random']
    """
    chosen = _check_strategies(strategies)
    check_int("compare", "max_trials", max_trials, minimum=1)
    seed_list = _check_seeds(seeds)
    full = _check_budget(max_budget, chosen)
    _check_storage(storage)
    extra = _check_options(strategy_options, chosen)
    name = check_project_name(project_name, "compare")
    folder = None if storage is not None else for_project(directory, name, owner="compare").folder
    mark = {
        "name": name,
        "strategies": [entry.name for entry in chosen],
        "max_trials": max_trials,
        "max_budget": full,
    }
    runs = []
    for entry in chosen:
        for seed in seed_list:
            study = f"{entry.name}-seed{seed}"
            if folder is None:  # one storage for several comparisons: their names apart
                study = f"{name}-{study}"
            options = dict(
                objective=metric,
                seed=seed,
                verbose=verbose,
                directory=folder if folder is not None else Path(directory) / name,
                project_name=study,
                storage=storage,
                **extra.get(entry.name, {}),
            )
            shown = {key: repr(value) for key, value in extra.get(entry.name, {}).items()}
            run_mark = {**mark, "strategy": entry.name, "seed": seed, "options": shown}
            _run(entry, objective, run_mark, options)
            runs.append((entry.name, seed, study))
    return Comparison(name, runs, folder=folder, storage=storage)


def _stored_mark(storage: Storage | str | None, folder: Any, study: str) -> dict[str, Any]:
    """The mark of a run's study if it exists (nothing is created)."""
    if storage is None:
        project = for_project(folder, study, owner="compare")
        if not project.exists():
            return {}
        opened = open_storage(project.url)
    elif isinstance(storage, Storage):
        opened = storage
    else:
        opened = open_storage(storage)
    try:
        info = opened.load_study(study)
        return dict(info.meta.get(META_KEY) or {}) if info is not None else {}
    finally:
        if opened is not storage:
            opened.close()


def _run(
    entry: Strategy, objective: Callable[..., Any], mark: dict[str, Any], options: dict[str, Any]
) -> None:
    """One run: skipped when its study says it finished with these settings.

    The mark keeps the run's wall time (``seconds``: the tuner's making, its strategy's
    proposals and the trials, summed over the sessions that ran it).
    """
    stored = _stored_mark(options["storage"], options["directory"], options["project_name"])
    previous = float(stored.pop("seconds", 0.0))
    if stored == {**mark, "finished": True}:
        return
    started = time.monotonic()
    tuner = _make(entry, objective, mark, options)
    finished = False
    try:
        _save_mark(tuner, {**mark, "finished": False, "seconds": previous})
        tuner.search()
        finished = True
    finally:
        try:
            seconds = previous + time.monotonic() - started
            _save_mark(tuner, {**mark, "finished": finished, "seconds": seconds})
        finally:
            tuner.close()


def _make(
    entry: Strategy, objective: Callable[..., Any], mark: dict[str, Any], options: dict[str, Any]
) -> Tuner:
    n, full = int(mark["max_trials"]), mark["max_budget"]
    if not entry.budgeted:
        return entry.make(objective, max_trials=n, **options)
    total = n * float(full)
    # The budget cap ends the search; max_trials only bounds it (every trial costs >= 1) so
    # that the preset runs as many brackets as fit.
    tuner = entry.make(objective, max_budget=full, max_trials=math.ceil(total), **options)
    tuner.scheduler = BudgetCap(tuner.scheduler, total, float(full))
    return tuner


def _save_mark(tuner: Tuner, mark: dict[str, Any]) -> None:
    info = tuner.storage.load_study(tuner.project_name)
    if info is not None:
        tuner.storage.save_meta(info.id, {**info.meta, META_KEY: mark})
