"""The simulator of N parallel workers (benchmarks/multi_fidelity/simulate.py) on known answers.

A bracket of successive halving with factor 3 (9 configurations at budget 1, 3 at 3, 1 at
9) takes, when each epoch is one unit of simulated time:

- trained from scratch at every rung: 9 x 1 + 3 x 3 + 1 x 9 = 27 units of work; with one
  worker 27 units of time; with 3 workers 3 + 3 + 9 = 15 (rung 0 in three waves, rung 1 in
  one, rung 2 alone), idle 1 - 27 / (3 x 15) = 0.4; with 9 workers 1 + 3 + 9 = 13, idle
  1 - 27 / 117 = 10/13;
- continuing the lower rung's model (what the benchmark does): 9 + 3 x 2 + 6 = 21 units of
  work; 21 with one worker, 3 + 2 + 6 = 11 with 3 (idle 1 - 21 / 33 = 4/11), 1 + 2 + 6 = 9
  with 9 (idle 1 - 21 / 81 = 20/27).
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs

REPO = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("benchmarks") is None:  # pytest run from elsewhere
    sys.path.insert(0, str(REPO))

from benchmarks.harness.space import hyperscout_space  # noqa: E402
from benchmarks.multi_fidelity.simulate import (  # noqa: E402
    SIM_METHODS,
    HyperscoutProposer,
    SearchDone,
    Work,
    simulate,
)
from benchmarks.multi_fidelity.tasks import Model, Task, get_task  # noqa: E402


def bracket_tuner(task: Task, tmp_path: Path) -> hs.Tuner:
    return hs.SuccessiveHalving(
        min_budget=1,
        max_budget=9,
        factor=3,
        objective="val_loss",
        hyperparameters=hyperscout_space(task.space),
        seed=0,
        storage="memory",
        directory=tmp_path,
        verbose=0,
    )


@pytest.mark.parametrize(
    ("continued", "workers", "end", "idle"),
    [
        (False, 1, 27, 0.0),
        (False, 3, 15, 0.4),
        (False, 9, 13, 10 / 13),
        (True, 1, 21, 0.0),
        (True, 3, 11, 4 / 11),
        (True, 9, 9, 20 / 27),
    ],
)
def test_a_bracket_takes_the_wall_clock_worked_out_by_hand(
    tmp_path: Path, continued: bool, workers: int, end: int, idle: float
) -> None:
    task = get_task("synth-rho0.9", 9)
    tuner = bracket_tuner(task, tmp_path)
    result = simulate(
        task,
        HyperscoutProposer(tuner, task),
        workers=workers,
        horizon=1000,
        continue_promoted=continued,
    )
    assert result.done  # the bracket ended by itself, long before the horizon
    assert result.end == end
    assert result.busy == result.epochs == (21 if continued else 27)
    assert result.idle_fraction == pytest.approx(idle)
    assert (result.trials, result.full_budget_models) == (13, 1)
    # The one model trained to 9 epochs gives the one point of the trace, at the end.
    assert [t for t, _ in result.trace] == [end]
    budgets = sorted(t.budget for t in tuner.trials)
    assert budgets == [1] * 9 + [3] * 3 + [9]


class Scripted:
    """Full-budget work, stopped after ``stop_at`` epochs when given; ``count`` trials."""

    def __init__(self, count: int, stop_at: int | None = None) -> None:
        self.left = count
        self.stop_at = stop_at
        self.ended: list[tuple[int, bool]] = []

    def propose(self) -> Work | None:
        if self.left == 0:
            raise SearchDone
        self.left -= 1
        x = self.left / 10

        def on_epoch(epoch: int, loss: float) -> bool:
            return self.stop_at is not None and epoch >= self.stop_at

        def on_end(model: Model, loss: float, stopped: bool) -> None:
            self.ended.append((model.epoch, stopped))

        values: dict[str, Any] = {f"x{i}": x for i in range(6)}
        return Work(values, 9, on_epoch, on_end)


def test_the_horizon_cuts_running_epochs_and_counts_them_busy() -> None:
    task = get_task("synth-rho0.9", 9)
    # 2 workers, full trainings of 9 epochs, horizon 12.5: two models finish at 9, two more
    # start there and are cut at 12.5 (3 epochs done, half of the fourth in progress each).
    result = simulate(task, Scripted(10), workers=2, horizon=12.5)
    assert not result.done and result.end == 12.5
    assert result.epochs == 2 * 9 + 2 * 3
    assert result.busy == pytest.approx(25.0)  # no worker idled
    assert result.idle_fraction == pytest.approx(0.0)
    assert result.full_budget_models == 2


def test_a_stopped_trial_frees_its_worker_at_once() -> None:
    task = get_task("synth-rho0.9", 9)
    script = Scripted(4, stop_at=2)
    result = simulate(task, script, workers=2, horizon=100)
    # Every trial stops after 2 of its 9 epochs: 4 trials x 2 epochs on 2 workers = 4 units.
    assert result.done and result.end == 4
    assert script.ended == [(2, True)] * 4
    assert result.trace == []  # no model reached the full budget


def test_best_so_far_only_improves_and_a_seed_repeats_the_run(tmp_path: Path) -> None:
    task = get_task("synth-rho0.5", 9)
    method = SIM_METHODS["hs-asha"]

    def run(seed: int, folder: str) -> list[tuple[float, float]]:
        proposer = method.factory(task, seed, 4, tmp_path / folder)
        return simulate(task, proposer, workers=4, horizon=60, seed=seed).trace

    first = run(3, "a")
    assert len(first) >= 3  # several improvements, so the order is checked
    times = [t for t, _ in first]
    scores = [s for _, s in first]
    assert times == sorted(times)
    assert all(b < a for a, b in itertools.pairwise(scores))
    assert all(math.isfinite(s) and s >= 0 for s in scores)  # regret
    assert run(3, "b") == first
    assert run(4, "c") != first


def test_synchronous_hyperband_fills_free_workers_with_the_next_brackets_work(
    tmp_path: Path,
) -> None:
    """With more workers than a rung holds, hyperscout's synchronous brackets start the next
    bracket (or iteration) instead of idling: no worker waits while the budget lasts."""
    task = get_task("synth-rho0.9", 9)
    proposer = SIM_METHODS["hs-hyperband"].factory(task, 0, 16, tmp_path)
    result = simulate(task, proposer, workers=16, horizon=30)
    assert result.idle_fraction == pytest.approx(0.0)
    assert result.busy == 16 * 30


def test_a_trial_the_scheduler_stops_is_told_pruned_and_frees_its_worker(tmp_path: Path) -> None:
    """ASHA's stopping form through ask/tell: every trial gets 9 epochs and reports each one;
    those not in the top third at a milestone (1 or 3 epochs) stop there."""
    task = get_task("synth-rho0.5", 9)
    tuner = hs.Tuner(
        objective="val_loss",
        hyperparameters=hyperscout_space(task.space),
        scheduler=hs.ASHAScheduler(1, 9, mode="stopping"),
        seed=0,
        storage="memory",
        directory=tmp_path,
        verbose=0,
    )
    result = simulate(
        task, HyperscoutProposer(tuner, task, every_epoch=True), workers=2, horizon=60
    )
    trials = [t for t in tuner.trials if t.is_finished]
    pruned = [t for t in trials if t.state is hs.TrialState.PRUNED]
    complete = [t for t in trials if t.state is hs.TrialState.COMPLETE]
    assert pruned and complete
    assert {max(t.intermediate) for t in pruned} <= {1, 3}  # stopped at a milestone
    assert all(max(t.intermediate) == 9 for t in complete)
    assert result.full_budget_models == len(complete)
    assert result.idle_fraction == pytest.approx(0.0)  # a stopped trial's worker starts anew
