"""The multi-fidelity benchmark's peers (DEHB, SMAC3, Optuna's pruners) and its mf2 tasks.

Each peer adapter (``benchmarks/multi_fidelity/peers.py``) runs one short seed on the cheap
synthetic task when its package is installed (the peers come with the ``bench`` extra, which
CI does not install: the test is skipped then, with the reason). The mf2 tasks' budget-to-
fidelity mapping is checked at its extremes when ``mf2`` is installed; the anytime ranks of the
report are checked on records whose ranks are known.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # ``benchmarks`` is a folder of the repository, not installed
    sys.path.insert(0, str(REPO))

from benchmarks.harness.folders import cell_path, write_json  # noqa: E402
from benchmarks.multi_fidelity.peers import PeerConfig, make_peer, run_peer  # noqa: E402
from benchmarks.multi_fidelity.report import RANKED, Results, mean_ranks  # noqa: E402
from benchmarks.multi_fidelity.tasks import (  # noqa: E402
    BudgetExhausted,
    BudgetMeter,
    get_task,
)

MAX_EPOCHS = 9
TOTAL = 6 * MAX_EPOCHS
PEERS = {  # peer -> (package, the budgets its jobs may ask for at MAX_EPOCHS = 9)
    "dehb": ("dehb", {1, 3, 9}),
    "smac-hb": ("smac", {1, 3, 9}),
    "optuna-tpe-sha": ("optuna", {1, 4, 9}),  # reduction factor 4, then the full budget
    "optuna-tpe-hb-at": ("optuna", {1, 3, 9}),
}


def skip_unless_installed(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (it comes with the bench extra)")


class Recorder:
    """Wraps a peer and records every job it asks for and every loss it is told."""

    def __init__(self, peer: object) -> None:
        self.peer = peer
        self.asked: list[tuple[PeerConfig, int]] = []
        self.told: list[tuple[PeerConfig, int, float]] = []

    def ask(self) -> tuple[PeerConfig, int]:
        config, budget = self.peer.ask()  # type: ignore[attr-defined]
        self.asked.append((config, budget))
        return config, budget

    def tell(self, config: PeerConfig, budget: int, loss: float) -> None:
        self.told.append((config, budget, loss))
        self.peer.tell(config, budget, loss)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.peer.close()  # type: ignore[attr-defined]


def run_one(name: str, seed: int, folder: Path) -> tuple[BudgetMeter, Recorder]:
    task = get_task("synth-rho0.9", MAX_EPOCHS)
    meter = BudgetMeter(TOTAL, MAX_EPOCHS)
    recorder = Recorder(make_peer(name, task, seed, folder))
    with pytest.raises(BudgetExhausted):  # the peers never stop on their own
        run_peer(recorder, task, seed, meter, folder)
    return meter, recorder


@pytest.mark.parametrize("name", list(PEERS))
def test_peer_runs_one_short_seed_within_the_budget(name: str, tmp_path: Path) -> None:
    package, budgets = PEERS[name]
    skip_unless_installed(package)
    meter, recorder = run_one(name, 0, tmp_path / "a")

    # Every epoch went through the meter, and the run stopped exactly at the total.
    assert meter.spent == TOTAL
    assert all(at <= TOTAL for at, _, _ in meter.events)
    # The peer's jobs ask for its own rungs only, and no job ends beyond the full budget.
    assert {budget for _, budget in recorder.asked} <= budgets
    # A model trained to the full budget, and its loss is the best full-budget one recorded.
    full = [loss for _, budget, loss in recorder.told if budget == MAX_EPOCHS]
    assert full and meter.best_full == min(full)
    assert meter.events[-1][1] is not None and math.isfinite(meter.events[-1][1])
    # The epochs of the jobs the peer was told about (each counting only what it added to
    # its configuration's model: a promotion continues it) fit in the budget, and the last
    # job, cut short by the meter, lacked less than one full training.
    trained: dict[object, int] = {}
    cost = 0
    for config, budget, _ in recorder.told:
        before = trained.get(config.key, 0)
        cost += budget - before if before <= budget else budget
        trained[config.key] = budget
    assert TOTAL - MAX_EPOCHS < cost <= TOTAL
    assert len(recorder.told) == len(recorder.asked) - 1


@pytest.mark.parametrize("name", ["dehb", "smac-hb", "optuna-tpe-sha"])
def test_peer_continues_promoted_models_and_repeats_a_seed(name: str, tmp_path: Path) -> None:
    package, _ = PEERS[name]
    skip_unless_installed(package)
    first, asked = run_one(name, 3, tmp_path / "a")
    # Promotions (a configuration asked again at a higher budget) continue the lower model.
    keys = [config.key for config, _ in asked.asked]
    assert first.continued > 0 and len(set(keys)) < len(keys)
    # The same seed proposes the same jobs and ends the same.
    second, again = run_one(name, 3, tmp_path / "b")
    assert [b for _, b in asked.asked] == [b for _, b in again.asked]
    assert [c.values for c, _ in asked.asked] == [c.values for c, _ in again.asked]
    assert first.events == second.events


# -- the mf2 tasks --------------------------------------------------------------------------------
def test_mf2_budget_maps_to_fidelity_at_the_extremes(tmp_path: Path) -> None:
    skip_unless_installed("mf2")
    from benchmarks.multi_fidelity.tasks import mf2_function

    task = get_task("mf2-hartmann6", 27)
    function = mf2_function("mf2-hartmann6")
    x_opt = [0.2017, 0.1500, 0.4769, 0.2753, 0.3117, 0.6573]  # mf2's optimum of the high one
    values = {f"x{i}": v for i, v in enumerate(x_opt)}
    model = task.build(values, 0)
    model.train_epoch()
    assert model.val_loss() == pytest.approx(float(function.low(np.array(x_opt))[0]), abs=1e-12)
    for _ in range(8):
        model.train_epoch()
    model.save(tmp_path)
    middle = model.val_loss()  # 9 of 27 epochs: two thirds of the way on a log scale
    continued = task.load(tmp_path)
    while continued.epoch < 27:
        continued.train_epoch()
    high = continued.val_loss()
    # The full budget is exactly the high fidelity; mf2 documents -3.0425 at its x_opt.
    assert high == pytest.approx(float(function.high(np.array(x_opt))[0]), abs=1e-12)
    assert high == pytest.approx(-3.04246, abs=1e-4)
    low = float(function.low(np.array(x_opt))[0])
    assert middle == pytest.approx(low / 3 + 2 * high / 3, abs=1e-12)
    # Scored by regret against the high fidelity's minimum, which x_opt (nearly) attains.
    assert task.optimum is not None and task.optimum <= high
    assert task.score(high) < 1e-6


def test_mf2_optimum_is_the_minimum_even_where_mf2s_x_opt_is_not() -> None:
    skip_unless_installed("mf2")
    from benchmarks.multi_fidelity.tasks import mf2_function

    task = get_task("mf2-currin", 27)
    function = mf2_function("mf2-currin")
    assert task.optimum is not None
    at_x_opt = float(function.high(function.x_opt)[0])  # Currin's x_opt is its maximum
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 201)), -1)
    lowest = float(np.min(function.high(grid.reshape(-1, 2))))
    assert task.optimum <= lowest + 1e-9 < at_x_opt


def test_unknown_mf2_task_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"'mf2-nope'.*mf2-hartmann6"):
        get_task("mf2-nope")


# -- the anytime ranks ----------------------------------------------------------------------------
def test_mean_ranks_per_seed_with_ties_and_missing_results(tmp_path: Path) -> None:
    total = 10
    # (method -> per seed, the events (epochs spent, best full-budget loss)): at 100 % of the
    # budget seed 0 ranks bohb < dehb = smac, seed 1 smac < bohb, and dehb never trained a
    # model to the full budget (last).
    events = {
        "hs-bohb": [[(2, 5.0), (8, 1.0)], [(3, 2.0)]],
        "dehb": [[(5, 3.0)], []],
        "smac-hb": [[(1, 3.0)], [(9, 1.5)]],
    }
    for method, seeds in events.items():
        for seed, evs in enumerate(seeds):
            record = {
                "version": 1,
                "task": "synth-rho0.9",
                "method": method,
                "seed": seed,
                "total_budget": total,
                "max_epochs": 9,
                "events": [[at, loss, loss] for at, loss in evs],
            }
            write_json(cell_path(tmp_path, "synth-rho0.9", method, seed), record)
    results = Results(tmp_path, ["synth-rho0.9"], list(events), 2, total, 1, 9)
    assert set(RANKED) >= set(events)
    at_end = mean_ranks(results, "synth-rho0.9", 1.0)
    assert at_end == {"hs-bohb": 1.5, "dehb": (2.5 + 3) / 2, "smac-hb": (2.5 + 1) / 2}
    # At 10 % (1 epoch) only smac's seed 0 has a full-budget model; the rest tie for last.
    early = mean_ranks(results, "synth-rho0.9", 0.1)
    assert early == {"hs-bohb": (2.5 + 2) / 2, "dehb": (2.5 + 2) / 2, "smac-hb": (1 + 2) / 2}


# -- in the simulator of N parallel workers --------------------------------------------------------
@pytest.mark.parametrize("name", ["dehb", "smac-hb"])
def test_peer_runs_in_the_simulator_with_four_workers(name: str, tmp_path: Path) -> None:
    package, budgets = PEERS[name]
    skip_unless_installed(package)
    from benchmarks.multi_fidelity.simulate import (
        SIM_METHODS,
        SimResult,
        Work,
        add_peers,
        simulate,
    )

    assert name in add_peers() and SIM_METHODS[name].unavailable() is None
    task = get_task("synth-rho0.9", MAX_EPOCHS)
    horizon = 6 * MAX_EPOCHS

    def run(seed: int, folder: Path) -> tuple[SimResult, list[Work]]:
        proposer = SIM_METHODS[name].factory(task, seed, 4, folder)
        works: list[Work] = []

        class Recording:
            def propose(self) -> Work | None:
                work = proposer.propose()
                assert work is not None  # a peer always has a job: no worker waits
                works.append(work)
                return work

        return simulate(task, Recording(), workers=4, horizon=horizon, seed=seed), works

    result, works = run(2, tmp_path / "a")
    # The horizon ended the run, with all four workers busy throughout (N asks pending).
    assert result.end == horizon and not result.done
    assert result.idle_fraction == 0.0
    assert {w.budget for w in works} <= budgets
    # A promotion continued its lower rung's model and trained only the epochs it lacked.
    resumed = [w for w in works if w.resume is not None]
    assert resumed and all(0 < w.resume.epoch < w.budget for w in resumed if w.resume)
    assert result.epochs < sum(w.budget for w in works)
    # Best-so-far: full-budget models were found, each record strictly better, none earlier.
    trace = result.trace
    assert trace and all(0 < t <= horizon for t, _ in trace)
    assert all(a[0] <= b[0] and a[1] > b[1] for a, b in itertools.pairwise(trace))
    # The same seed repeats the run.
    again, works_again = run(2, tmp_path / "b")
    assert again.trace == trace and again.epochs == result.epochs
    assert [(w.values, w.budget) for w in works] == [(w.values, w.budget) for w in works_again]
