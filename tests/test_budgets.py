"""How each budget ranked the configurations that a higher budget also ran."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import hyperscout as hs
from hyperscout.budgets import BudgetAgreement, budget_agreement
from hyperscout.trial import Trial, TrialState


def result(number: int, x: float, budget: float | None, value: float | None) -> Trial:
    state = TrialState.COMPLETE if value is not None else TrialState.FAILED
    return Trial(number, {"x": x}, state, value=value, budget=budget)


def test_each_budget_against_the_next_and_the_largest() -> None:
    xs = [0.1, 0.2, 0.3, 0.4, 0.5]
    trials = [result(i, x, 1, x) for i, x in enumerate(xs)]  # ranks: ascending in x
    trials += [result(10 + i, x, 3, x) for i, x in enumerate(xs[:4])]  # the same ranks
    trials += [result(20 + i, x, 9, -x) for i, x in enumerate(xs[:3])]  # reversed
    rows = budget_agreement(trials)
    assert rows == [
        BudgetAgreement(1.0, 3.0, 4, pytest.approx(1.0)),
        BudgetAgreement(1.0, 9.0, 3, pytest.approx(-1.0)),
        BudgetAgreement(3.0, 9.0, 3, pytest.approx(-1.0)),
    ]


def test_too_few_shared_or_constant_results_give_no_correlation() -> None:
    trials = [result(i, x, 1, x) for i, x in enumerate([0.1, 0.2, 0.3])]
    trials += [result(5, 0.1, 3, 0.5), result(6, 0.2, 3, 0.5)]  # two shared
    assert budget_agreement(trials) == [BudgetAgreement(1.0, 3.0, 2, None)]
    trials.append(result(7, 0.3, 3, 0.5))  # three shared, but all equal at budget 3
    assert budget_agreement(trials) == [BudgetAgreement(1.0, 3.0, 3, None)]


def test_failed_unbudgeted_and_single_budget_trials_give_no_rows() -> None:
    assert budget_agreement([result(0, 0.1, None, 1.0), result(1, 0.2, None, 2.0)]) == []
    assert budget_agreement([result(0, 0.1, 1, 1.0), result(1, 0.1, 3, None)]) == []


def test_a_configuration_run_twice_on_a_budget_counts_with_its_last_result() -> None:
    trials = [result(i, x, 1, x) for i, x in enumerate([0.1, 0.2, 0.3])]
    trials += [result(3 + i, x, 3, x) for i, x in enumerate([0.1, 0.2, 0.3])]
    trials.append(result(9, 0.1, 1, 9.0))  # a rerun of x=0.1 at budget 1, now the worst
    (row,) = budget_agreement(trials)
    assert row.n_configs == 3 and row.spearman == pytest.approx(-0.5)


def test_tuner_budget_summary_on_a_hyperband_search() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        # Budgets below 27 favour large x, the full budget small x: a misleading low budget.
        return x if trial.budget == 27 else 1.0 - x

    tuner = hs.Hyperband(objective, max_epochs=27, seed=0, storage="memory", verbose=0)
    tuner.search()
    out = io.StringIO()
    rows = tuner.budget_summary(console=Console(file=out, width=120))
    by_pair = {(r.budget, r.higher): r for r in rows}
    assert by_pair[1.0, 3.0].spearman == pytest.approx(1.0)  # budgets 1 and 3 agree
    assert by_pair[9.0, 27.0].n_configs >= 3
    spearman = by_pair[9.0, 27.0].spearman
    assert spearman == pytest.approx(-1.0)  # 9 and 27 disagree entirely
    assert "budgets" in out.getvalue() and "rank correlation" in out.getvalue()
    empty = hs.RandomSearch(
        lambda hp: hp.Float("x", 0, 1), max_trials=3, storage="memory", verbose=0, seed=0
    )
    empty.search()
    out = io.StringIO()
    assert empty.budget_summary(console=Console(file=out)) == []
    assert "no configuration has results on two budgets yet" in out.getvalue()
