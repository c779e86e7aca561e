"""The demo: a real MLP search on scikit-learn's digits, resumed, and its command."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.demo import PROJECT_NAMES, run_demo
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url

pytest.importorskip("sklearn", reason="the demo needs the sklearn extra")

# With 4 random trials, 12 seeds gave test accuracies of 0.958 to 0.981 (a linear model gets
# about 0.96); below 0.9 something is broken, not unlucky.
TEST_ACCURACY_FLOOR = 0.9


def stored_trials(database: Path, project: str) -> list[hs.Trial]:
    storage = open_storage(sqlite_url(database))
    try:
        study = storage.load_study(project)
        assert study is not None
        return storage.trials(study.id)
    finally:
        storage.close()


@pytest.mark.slow
def test_run_demo_finds_a_good_mlp_and_resumes(tmp_path: Path) -> None:
    first = run_demo("random", max_trials=4, directory=tmp_path, seed=3, verbose=0)

    database = tmp_path / "digits_mlp" / "hyperscout.db"
    assert first["database"] == str(database)
    assert first["trials_before"] == 0
    assert first["test_accuracy"] >= TEST_ACCURACY_FLOOR
    trials = stored_trials(database, "digits_mlp")
    assert [t.state for t in trials] == [hs.TrialState.COMPLETE] * 4
    assert first["best_val_accuracy"] == max(t.value for t in trials if t.value is not None)
    assert set(first["best_values"]) == {
        "units",
        "layers",
        "activation",
        "alpha",
        "learning_rate_init",
        "batch_size",
    }
    for trial in trials:
        assert 0.0 <= trial.metrics["val_accuracy"] <= 1.0
        assert trial.metrics["val_loss"] > 0.0

    second = run_demo("random", max_trials=6, directory=tmp_path, seed=3, verbose=0)

    assert second["trials_before"] == 4
    resumed = stored_trials(database, "digits_mlp")
    assert len(resumed) == 6
    assert [t.state for t in resumed] == [hs.TrialState.COMPLETE] * 6
    assert resumed[:4] == trials  # the first four are kept as they were, not rerun
    assert second["best_val_accuracy"] >= first["best_val_accuracy"]
    assert second["test_accuracy"] >= TEST_ACCURACY_FLOOR


@pytest.mark.slow
def test_grid_demo_runs_its_own_small_grid(tmp_path: Path) -> None:
    result = run_demo("grid", max_trials=3, directory=tmp_path, seed=0, verbose=0)

    trials = stored_trials(tmp_path / PROJECT_NAMES["grid"] / "hyperscout.db", "digits_mlp_grid")
    assert [dict(t.values) for t in trials] == [
        {
            "units": 32,
            "layers": 1,
            "activation": activation,
            "alpha": 1e-4,
            "learning_rate_init": lr,
            "batch_size": 64,
        }
        for activation, lr in [("relu", 1e-3), ("relu", 1e-2), ("tanh", 1e-3)]
    ]
    assert result["test_accuracy"] >= TEST_ACCURACY_FLOOR


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to itself")
def test_ctrl_c_during_training_stops_the_demo_search(tmp_path: Path) -> None:
    # MLPClassifier.fit catches KeyboardInterrupt and returns a half-trained model; the demo
    # must stop anyway. A SIGINT handler of our own, disarmed afterwards, makes sure a late
    # signal cannot reach the rest of the test session.
    armed = threading.Event()
    armed.set()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if armed.is_set():
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            run_demo("random", max_trials=20, directory=tmp_path, seed=0, verbose=0)
    finally:
        armed.clear()
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)

    trials = stored_trials(tmp_path / "digits_mlp" / "hyperscout.db", "digits_mlp")
    assert len(trials) < 20
    assert trials[-1].state is hs.TrialState.FAILED
    assert "interrupted" in (trials[-1].error or "")
    assert all(t.state is hs.TrialState.COMPLETE for t in trials[:-1])


def test_run_demo_refuses_an_unknown_strategy(tmp_path: Path) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="expected one of \\['grid', 'random'\\]"):
        run_demo("bayesian", directory=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_demo_command_reports_and_says_when_it_resumes(tmp_path: Path) -> None:
    args = ["demo", "--max-trials", "2", "--directory", str(tmp_path), "--seed", "1"]

    first = CliRunner().invoke(main, args, catch_exceptions=False)

    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())  # rich wraps long lines
    assert "New study in" in text
    assert "Best configuration (trial" in text
    accuracy = float(text.split("held-out test images: ")[1].split()[0])
    assert accuracy >= TEST_ACCURACY_FLOOR
    assert f"The study is saved in {tmp_path / 'digits_mlp' / 'hyperscout.db'} (2 trials" in text

    again = CliRunner().invoke(main, args, catch_exceptions=False)

    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "Resuming the study" in text
    assert "2 trials are already there" in text
    assert "No new trial" in text
    assert len(stored_trials(tmp_path / "digits_mlp" / "hyperscout.db", "digits_mlp")) == 2
