"""``hyperscout demo --compare``: the lecture's comparison of search methods on the digits.

Grid search, random search, Bayesian optimization, Hyperband and BOHB each tune the demo's
network (the same six hyperparameters, :func:`~hyperscout.demo.demo_objective`) with a few
seeds and the same budget, through :func:`hyperscout.compare`: ``max_trials`` trials of
``max_epochs`` epochs for the methods without budgets, as many epochs summed over their
trials' budgets for Hyperband and BOHB. The defaults (20 trials of 9 epochs, 3 seeds: 15 runs
of 180 epochs) take about two minutes on two cores. The figure and the table are written
beside the runs, and the runs are kept: the command run again reruns nothing.

Every method searches the same six-parameter space. The grid's 20 trials cover one corner of
its grid (the first values of the first parameters), which is the lecture's point about grids
in many dimensions.

>>> comparison_name("torch"), comparison_name("sklearn", 27)
('digits_torch_compare', 'digits_sklearn_compare_27epochs')
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from hyperscout._validation import check_int
from hyperscout.comparison import DEFAULT_STRATEGIES, compare
from hyperscout.demo.networks import one_torch_thread, resolve_framework
from hyperscout.demo.run import DEFAULT_DIRECTORY, OBJECTIVE, demo_objective
from hyperscout.report import printable

__all__ = [
    "COMPARE_MAX_EPOCHS",
    "COMPARE_MAX_TRIALS",
    "COMPARE_SEEDS",
    "comparison_name",
    "run_compare_demo",
]

#: A trial's full budget in the comparison: rungs of 1, 3 and 9 epochs for Hyperband and BOHB.
COMPARE_MAX_EPOCHS = 9
#: Trials of a method without budgets (Bayesian optimization: 5 of them initial points).
COMPARE_MAX_TRIALS = 20
#: Seeds of each method.
COMPARE_SEEDS = 3
#: The figure's and the table's files in the comparison's folder.
FIGURE_FILE, TABLE_FILE = "comparison.html", "comparison.txt"


def comparison_name(framework: str, max_epochs: int = COMPARE_MAX_EPOCHS) -> str:
    """The comparison's folder: ``digits_torch_compare`` (``_27epochs`` for other budgets)."""
    name = f"digits_{framework}_compare"
    return name if max_epochs == COMPARE_MAX_EPOCHS else f"{name}_{max_epochs}epochs"


def _say(console: Console, text: str, style: str | None = None) -> None:
    console.print(Text(printable(text), style=style or ""))


def run_compare_demo(
    max_trials: int | None = None,
    directory: str | os.PathLike[str] = DEFAULT_DIRECTORY,
    *,
    seeds: int = COMPARE_SEEDS,
    framework: str = "auto",
    max_epochs: int = COMPARE_MAX_EPOCHS,
    verbose: int = 1,
    console: Console | None = None,
) -> dict[str, Any]:
    """Compare grid, random, Bayesian, Hyperband and BOHB on the demo's task.

    Args:
        max_trials: trials of a method without budgets (default 20); the budgeted methods
            spend ``max_trials * max_epochs`` epochs in all.
        directory: the runs go in ``directory/<comparison_name>/``, one project per run.
        seeds: runs of each method.
        framework: ``"auto"``, ``"torch"`` or ``"sklearn"``.
        max_epochs: a trial's full budget.
        verbose: 0 silent; 1 the plan, the table and where the files are.
        console: where the text goes (default: standard output).

    Returns:
        A dict: ``project_name``, ``folder``, ``figure`` and ``table`` (the files written),
        ``rows`` (the table's :class:`~hyperscout.report.compare_table.StrategyRow`),
        ``seconds`` (this run's time).
    """
    trials = COMPARE_MAX_TRIALS if max_trials is None else max_trials
    check_int("run_compare_demo", "max_trials", trials, minimum=1)
    check_int("run_compare_demo", "max_epochs", max_epochs, minimum=1)
    chosen = resolve_framework(framework)
    out = console or Console()
    name = comparison_name(chosen, max_epochs)
    if verbose >= 1:
        _say(out, "hyperscout demo --compare", "bold")
        _say(
            out,
            f"{', '.join(DEFAULT_STRATEGIES)} tune the digits network ({chosen}), "
            f"{seeds} seeds each, maximising {OBJECTIVE}: {trials} trials of {max_epochs} "
            f"epochs for grid, random and bayes; {trials * max_epochs} epochs summed over "
            f"the trials' budgets for hyperband and bohb. Runs already done are not rerun.",
        )
    started = time.monotonic()
    with one_torch_thread(chosen):
        result = compare(
            demo_objective(chosen, "random", max_epochs),
            DEFAULT_STRATEGIES,
            max_trials=trials,
            seeds=seeds,
            max_budget=max_epochs,
            directory=directory,
            project_name=name,
            metric=OBJECTIVE,
            strategy_options={"bayes": {"num_initial_points": min(5, trials)}},
        )
    seconds = time.monotonic() - started
    folder = Path(directory) / name
    table = result.table()
    figure = result.write_figure(folder / FIGURE_FILE)
    (folder / TABLE_FILE).write_text(str(table) + "\n", encoding="utf-8")
    if verbose >= 1:
        out.print(table.fitted())
        _say(
            out,
            f"Figure: {figure} (best {OBJECTIVE} so far against epochs spent, median and "
            f"inter-quartile band over seeds). Table: {folder / TABLE_FILE}. Runs: {folder} "
            f"(this run took {seconds:.0f} s).",
        )
    return {
        "project_name": name,
        "folder": str(folder),
        "figure": str(figure),
        "table": str(folder / TABLE_FILE),
        "rows": list(table.rows),
        "seconds": seconds,
    }
