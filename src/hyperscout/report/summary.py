"""The summaries printed after a search and by ``hyperscout show``: best trials, budgets, space.

Each reads trials (a :class:`~hyperscout.history.History`, which carries the objective that
ranks them) or a search space, and prints tables (:mod:`hyperscout.report.tables`) on a rich
console. The tuner's ``results_summary``, ``budget_summary`` and ``search_space_summary``
delegate here; so does the command line.

>>> import io
>>> from rich.console import Console
>>> from hyperscout.objective import Objective
>>> from hyperscout.trial import Trial, TrialState
>>> history = History([Trial(0, {"x": 1}, TrialState.COMPLETE, value=0.5),
...                    Trial(1, {"x": 2}, TrialState.FAILED)], Objective("val_loss", "min"))
>>> out = io.StringIO()
>>> results_summary(history, project_name="demo", console=Console(file=out, width=80))
>>> "demo: best 1 of 2 trials (1 complete, 0 pruned, 1 failed)" in " ".join(out.getvalue().split())
True
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console

from hyperscout.history import History, rank_configurations
from hyperscout.report._text import printable
from hyperscout.report.budgets import BudgetAgreement, budget_agreement
from hyperscout.report.tables import budgets_table, space_table, trials_table
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

__all__ = [
    "budget_summary",
    "results_summary",
    "search_space_summary",
    "study_heading",
    "study_summary",
]


def results_summary(
    history: History,
    num_trials: int = 10,
    *,
    project_name: str,
    console: Console | None = None,
) -> None:
    """Print a table of the ``num_trials`` best configurations, best first, with their budgets.

    Ranked as :func:`~hyperscout.history.rank_configurations` ranks them (each configuration
    once, on the highest budget it completed, when trials have budgets). The title counts the
    trials by state. A table wider than the console becomes one block per trial.

    Args:
        history: the study's trials and objective.
        num_trials: the most configurations shown.
        project_name: the study's name, which starts the title.
        console: where to print (default: a new rich console on standard output).
    """
    ranked = rank_configurations(history, history.objective)
    best = ranked[:num_trials]
    counts = history.counts()
    states = (
        f"{counts[TrialState.COMPLETE]} complete, {counts[TrialState.PRUNED]} pruned, "
        f"{counts[TrialState.FAILED]} failed"
    )
    if any(t.budget is not None for t in ranked):
        title = (
            f"{project_name}: best {len(best)} of {len(ranked)} configurations "
            f"({len(history)} trials: {states}), each on the highest budget it completed"
        )
    else:
        title = f"{project_name}: best {len(best)} of {len(history)} trials ({states})"
    (console or Console()).print(trials_table(best, history.objective, title=title))


def budget_summary(
    trials: Iterable[Trial], *, project_name: str, console: Console | None = None
) -> list[BudgetAgreement]:
    """Print, and return, how well each budget ranked the configurations as higher ones.

    Each budget against the next and against the largest: the Spearman rank correlation over
    the configurations complete at both (:func:`~hyperscout.report.budgets.budget_agreement`).
    Without two budgets to compare, one line says so.

    Args:
        trials: the study's trials.
        project_name: the study's name, which starts the title.
        console: where to print (default: a new rich console on standard output).
    """
    rows = budget_agreement(trials)
    out = console or Console()
    if rows:
        out.print(budgets_table(rows, title=f"{project_name}: budgets"))
    else:
        text = f"{project_name}: no configuration has results on two budgets yet."
        out.print(printable(text), markup=False, highlight=False)
    return rows


def search_space_summary(
    space: HyperParameters, *, learnt_as_trials_run: bool = False, console: Console | None = None
) -> None:
    """Print a table of the search space (nothing for an empty one).

    Args:
        space: the search space as known so far.
        learnt_as_trials_run: the objective defines its parameters as it runs and has not run yet:
            a line says that the rest of the space is learnt as trials run.
        console: where to print (default: a new rich console on standard output).
    """
    out = console or Console()
    if len(space):
        out.print(space_table(space))
    if learnt_as_trials_run:
        known = f"{len(space)} parameters declared so far" if space else "none"
        out.print(
            f"Search space: {known}. The objective defines its parameters as it runs "
            "(hp.Int, hp.Float ...), so the rest of the space is learnt as trials run; it "
            "is not called just to learn it."
        )


def study_heading(name: str, location: str, history: History) -> str:
    """One line on a study: its name and where it is, its trials by state, its objective.

    >>> from hyperscout.objective import Objective
    >>> history = History([Trial(0, {}, TrialState.FAILED)], Objective("val_loss", "min"))
    >>> study_heading("mnist", "runs/mnist/hyperscout.db", history)
    'mnist (runs/mnist/hyperscout.db): 1 trials (1 failed), optimising val_loss (min).'
    """
    counts = history.counts()
    objective = history.objective
    return printable(
        f"{name} ({location}): {len(history)} trials "
        f"({', '.join(f'{n} {s.name.lower()}' for s, n in counts.items() if n)}), "
        f"optimising {objective.name} ({objective.direction})."
    )


def study_summary(
    history: History, space: HyperParameters, *, top: int = 10, console: Console | None = None
) -> None:
    """Print a study's search space, its ``top`` best configurations and its budgets' agreement.

    What ``hyperscout show`` prints below the study's heading and provenance.

    Args:
        history: the study's trials and objective.
        space: the study's search space.
        top: the most configurations shown.
        console: where to print (default: a new rich console on standard output).
    """
    out = console or Console()
    out.print(space_table(space))
    ranked = rank_configurations(history, history.objective)
    best = ranked[:top]
    if best:
        if any(t.budget is not None for t in ranked):
            title = (
                f"Best {len(best)} of {len(ranked)} configurations, each on the highest "
                "budget it completed"
            )
        else:
            title = f"Best {len(best)} trials"
        out.print(trials_table(best, history.objective, title=title))
    else:
        out.print("No complete trial yet.")
    agreement = budget_agreement(history)
    if agreement:
        out.print(
            budgets_table(
                agreement, title="How each budget ranked the configurations a higher one ran"
            )
        )
