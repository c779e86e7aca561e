"""How each budget ranked the configurations that a higher budget also ran."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import hyperscout as hs
from hyperscout.history import rank_configurations
from hyperscout.report.budgets import BudgetAgreement, budget_agreement
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


# -- one ranking: each configuration once, on the highest budget it completed ----------------

MIN = hs.Objective("val_loss", "min")


def test_each_configuration_is_ranked_once_on_its_highest_budget() -> None:
    trials = [result(0, 0.1, 1, 0.1), result(1, 0.2, 1, 0.2), result(2, 0.3, 1, 0.3)]
    trials += [result(3, 0.2, 3, 0.6), result(4, 0.3, 3, 0.5)]  # promoted, worse than on 1
    trials += [result(5, 0.3, 9, 0.9)]  # the only one on 9: ranked first despite its value
    ranked = rank_configurations(trials, MIN)
    # x=0.3 on 9, x=0.2 on 3, x=0.1 on 1: each once, its lower-budget results left out.
    assert [t.number for t in ranked] == [5, 3, 0]


def test_a_failed_higher_budget_leaves_the_configuration_on_its_last_result() -> None:
    trials = [result(0, 0.1, 1, 0.1), result(1, 0.2, 1, 0.2)]
    trials += [result(2, 0.2, 3, 0.3), result(3, 0.1, 3, None)]  # x=0.1 failed on 3
    running = Trial(4, {"x": 0.2}, TrialState.RUNNING, budget=9)
    pruned = Trial(5, {"x": 0.2}, TrialState.PRUNED, value=0.01, budget=9)
    ranked = rank_configurations([*trials, running, pruned], MIN)
    assert [(t.number, t.budget) for t in ranked] == [(2, 3), (0, 1)]


def test_full_budget_none_ranks_above_numbers_and_ties_go_to_the_latest_then_earliest() -> None:
    trials = [result(0, 0.1, 9, 0.5), result(1, 0.2, None, 0.7), result(2, 0.3, 9, 0.5)]
    trials += [result(3, 0.1, 9, 0.6)]  # x=0.1 again on 9: its latest result counts
    ranked = rank_configurations(trials, MIN)
    assert [t.number for t in ranked] == [1, 2, 3]
    # Maximised: the larger value first, within the same budget.
    maxed = rank_configurations(trials, hs.Objective("val_accuracy", "max"))
    assert [t.number for t in maxed] == [1, 3, 2]


def test_without_budgets_every_complete_trial_is_a_row_as_before() -> None:
    trials = [result(0, 0.1, None, 0.3), result(1, 0.2, None, 0.1), result(2, 0.1, None, 0.2)]
    trials.append(result(3, 0.4, None, None))  # failed
    ranked = rank_configurations(trials, MIN)
    assert [t.number for t in ranked] == [1, 2, 0]  # x=0.1 twice: two rows


def overfitting(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """A loss that is lower after fewer epochs: a short budget looks better than it is."""
    x = hp.Float("x", 0.0, 1.0)
    for epoch in range(1, int(trial.budget) + 1):
        trial.report(epoch, objective=(x - 0.3) ** 2 - 1.0 / epoch)
    return (x - 0.3) ** 2 - 1.0 / trial.budget


def assert_ranked_by_budget_then_value(ranked: list[Trial], trials: list[Trial]) -> None:
    """One row per configuration, on its highest complete budget; budgets down, values up."""
    keys = [t.key for t in ranked]
    assert len(keys) == len(set(keys)) == len({t.key for t in trials})
    for row in ranked:
        same = [t for t in trials if t.key == row.key and t.state is TrialState.COMPLETE]
        assert row.budget == max(t.budget for t in same)  # type: ignore[type-var]
    order = [(-float(t.budget), t.value) for t in ranked]  # type: ignore[arg-type]
    assert order == sorted(order)


def test_hyperband_best_trials_are_configurations_on_their_highest_budget() -> None:
    tuner = hs.Hyperband(overfitting, max_epochs=9, seed=0, storage="memory", verbose=0)
    tuner.search()
    trials = tuner.trials
    # One set of brackets for max 9: 9 configurations on 1 (3 go to 3, 1 to 9), 5 on 3
    # (1 goes to 9), 3 on 9: 17 configurations, 5 of them complete on 9.
    assert len(trials) == 22
    overall = min(trials, key=lambda t: t.value)  # type: ignore[arg-type,return-value]
    assert overall.budget == 1  # the lowest loss of all is a 1-epoch result
    ranked = tuner.get_best_trials(100)
    assert_ranked_by_budget_then_value(ranked, trials)
    assert [t.budget for t in ranked] == [9] * 5 + [3] * 6 + [1] * 6
    assert tuner.get_best_trials(3) == ranked[:3]
    best = tuner.get_best_hyperparameters(3)
    assert [hp.values for hp in best] == [dict(t.values) for t in ranked[:3]]
    with pytest.raises(hs.InvalidArgumentError, match=f"trial {ranked[0].number} was run"):
        tuner.get_best_models(1)


def test_asha_best_trials_are_configurations_on_their_highest_budget() -> None:
    tuner = hs.Tuner(
        overfitting,
        scheduler=hs.ASHAScheduler(1, 9, mode="promotion"),
        max_trials=30,
        seed=1,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    trials = tuner.trials
    assert {t.budget for t in trials} == {1, 3, 9}
    ranked = tuner.get_best_trials(100)
    assert_ranked_by_budget_then_value(ranked, trials)
    assert ranked[0].budget == 9


def test_results_summary_shows_one_row_per_configuration_with_its_budget() -> None:
    tuner = hs.Hyperband(overfitting, max_epochs=9, seed=0, storage="memory", verbose=0)
    tuner.search()
    out = io.StringIO()
    tuner.results_summary(100, console=Console(file=out, width=120))
    text = out.getvalue()
    assert "best 17 of 17 configurations (22 trials" in text
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    ]
    ranked = tuner.get_best_trials(100)
    # Columns: rank, trial, value, budget, state, x.
    assert [(r[1], r[3]) for r in rows] == [(str(t.number), f"{t.budget:g}") for t in ranked]
