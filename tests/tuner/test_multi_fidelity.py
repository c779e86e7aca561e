"""Budgets, checkpoints and promotions through the tuner (the early-stopping family)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.trial import TrialState


def resumable(log: list[dict[str, Any]]) -> Any:
    """An objective that trains epoch by epoch and continues from the previous rung."""

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        start = 0
        if trial.previous_checkpoint_dir is not None:
            saved = json.loads((trial.previous_checkpoint_dir / "state.json").read_text())
            start = saved["epochs"]
        loss = 1.0
        for epoch in range(start, int(trial.budget)):
            loss = (x - 0.3) ** 2 + 1.0 / (epoch + 1)
            trial.report(epoch, objective=loss)
        (trial.checkpoint_dir / "state.json").write_text(json.dumps({"epochs": trial.budget}))
        log.append({"number": trial.number, "start": start, "budget": trial.budget})
        return loss

    return objective


def test_promoted_configurations_continue_from_their_checkpoint(tmp_path: Path) -> None:
    log: list[dict[str, Any]] = []
    with hs.Hyperband(
        resumable(log), max_epochs=9, seed=0, directory=tmp_path, project_name="hb", verbose=0
    ) as tuner:
        tuner.search()
        trials = {t.number: t for t in tuner.trials}
    promoted = [t for t in trials.values() if "promoted_from" in t.attrs]
    assert promoted, "Hyperband(9) promotes configurations"
    started = {entry["number"]: entry["start"] for entry in log}
    for trial in promoted:
        parent = trials[trial.attrs["promoted_from"]]
        assert trial.values == parent.values
        assert trial.budget > parent.budget
        # The objective saw the previous epoch count and trained only the rest.
        assert started[trial.number] == parent.budget
    fresh = [t for t in trials.values() if "promoted_from" not in t.attrs]
    assert all(started[t.number] == 0 for t in fresh)
    # Each epoch of a promoted trial is reported once, after the parent's.
    for trial in promoted:
        assert min(trial.intermediate) == trials[trial.attrs["promoted_from"]].budget


def test_hyperband_resumed_from_sqlite_runs_the_same_brackets(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 1.0 / trial.budget

    def plan(trials: list[hs.Trial]) -> list[tuple[Any, ...]]:
        return [(t.attrs["bracket"], t.attrs["rung"], t.budget, t.values["x"]) for t in trials]

    with hs.Hyperband(objective, max_epochs=9, seed=4, storage="memory", verbose=0) as whole:
        whole.search()
        expected = plan(whole.trials)

    with hs.Hyperband(
        objective, max_epochs=9, seed=4, directory=tmp_path, project_name="p", verbose=0,
        max_trials=10,
    ) as first:  # fmt: skip
        first.search()
    with hs.Hyperband(
        objective, max_epochs=9, seed=4, directory=tmp_path, project_name="p", verbose=0
    ) as second:
        assert len(second.trials) == 10
        second.search()
        assert plan(second.trials) == expected


def test_median_stopping_prunes_trials_through_the_tuner() -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        x = hp.Float("x", 0.0, 1.0)
        loss = 1.0
        for step in range(10):
            loss = x + 1.0 / (step + 1)
            trial.report(step, objective=loss)
            if trial.should_stop():
                break
        return loss

    tuner = hs.Tuner(
        objective,
        sampler=hs.RandomSampler(),
        scheduler=hs.MedianStoppingScheduler(n_startup_trials=3, n_warmup_steps=1),
        max_trials=25,
        seed=0,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    pruned = [t for t in tuner.trials if t.state is TrialState.PRUNED]
    complete = [t for t in tuner.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete
    # What median stopping pruned was worse than the median of what it kept.
    kept = sorted(t.values["x"] for t in complete)
    assert min(t.values["x"] for t in pruned) > kept[0]
    assert all(len(t.intermediate) < 10 for t in pruned)


@pytest.mark.slow
def test_two_workers_share_one_hyperband_study(tmp_path: Path) -> None:
    """Two tuners on one SQLite study (as two machines would): the brackets run once."""

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        import time

        time.sleep(0.01)
        return (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + 1.0 / trial.budget

    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with hs.Hyperband(
                objective, max_epochs=9, seed=2, directory=tmp_path, project_name="shared",
                verbose=0,
            ) as tuner:  # fmt: skip
                tuner.poll_interval = 0.02
                tuner.search()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with hs.Hyperband(
        objective, max_epochs=9, seed=2, directory=tmp_path, project_name="shared", verbose=0
    ) as tuner:
        trials = tuner.trials
        table = tuner.scheduler.brackets()  # type: ignore[attr-defined]
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len(trials) == sum(r.n_configs for b in table for r in b.rungs)
    slots = [(t.attrs["bracket"], t.attrs["rung"], t.attrs.get("promoted_from")) for t in trials]
    promoted = [s for s in slots if s[2] is not None]
    assert len(set(promoted)) == len(promoted)  # no configuration promoted twice


def checkpoint_only(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """Reads its parameters only for a new model; a promoted trial restores its checkpoint."""
    if trial.previous_checkpoint_dir is not None:
        state = json.loads((trial.previous_checkpoint_dir / "state.json").read_text())
    else:
        state = {"x": hp.Float("x", 0.0, 1.0), "y": hp.Int("y", 1, 9), "epoch": 0}
    budget = int(trial.budget or 9)
    state["epoch"] = budget
    (trial.checkpoint_dir / "state.json").write_text(json.dumps(state))
    return (state["x"] - 0.3) ** 2 + state["y"] / 100 + 1.0 / budget


@pytest.mark.parametrize("preset", ["Hyperband", "BOHB"])
def test_a_promoted_trial_that_only_restores_its_checkpoint_keeps_its_configuration(
    tmp_path: Path, preset: str
) -> None:
    # The common resume pattern: a promoted trial loads its lower rung's model and reads no
    # parameter. Its record (and the model BOHB fits on the high budgets, and the best
    # hyperparameters) must still hold the configuration it continues.
    tuner = getattr(hs, preset)(
        checkpoint_only, max_epochs=9, factor=3, directory=tmp_path, verbose=0, seed=0
    )
    tuner.search()
    by_number = {t.number: t for t in tuner.trials}
    promoted = [t for t in tuner.trials if t.promoted_from is not None]
    assert len(promoted) >= 4
    for trial in promoted:
        assert dict(trial.values) == dict(by_number[trial.promoted_from].values)
        assert set(trial.values) == {"x", "y"}
    best_trial = tuner.get_best_trials(1)[0]
    assert best_trial.budget == 9
    best = tuner.get_best_hyperparameters(1)[0]
    assert set(best.values) == {"x", "y"}
    assert best.values == dict(best_trial.values)
