"""The demo: a network tuned on scikit-learn's digits with either framework, and its command."""

from __future__ import annotations

import io
import os
import re
import signal
import sys
import threading
import warnings
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

import hyperscout as hs
from hyperscout import demo
from hyperscout.cli import main
from hyperscout.demo import (
    STRATEGIES,
    build_torch_mlp,
    demo_objective,
    load_digits_splits,
    networks,
    project_name,
    resolve_framework,
    run_demo,
)
from hyperscout.demo import run as demo_run
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.tuner.strategies import STRATEGIES as REGISTRY

pytest.importorskip("sklearn", reason="the demo needs the sklearn extra")

FRAMEWORKS = [
    "sklearn",
    pytest.param(
        "torch",
        marks=pytest.mark.skipif(
            not networks._installed("torch"), reason="the PyTorch demo needs the torch extra"
        ),
    ),
]
# BOHB up to 9 epochs (22 trials): seeds 0-5 gave test accuracies of 0.942-0.967 with
# PyTorch and 0.958-0.975 with scikit-learn; the default run (27 epochs, 69 trials) gave
# 0.953-0.981 over seeds 0-3 with each. A linear model gets about 0.96, chance 0.1: below
# 0.9 the training, the checkpoints or the reload are broken, not unlucky.
TEST_ACCURACY_FLOOR = 0.9
# Three trials of three epochs or less: 0.36-0.94 over seeds 0-5 (one epoch is little).
# Still far above chance (0.1): the network trained, and the reloaded one is that network.
SHORT_RUN_FLOOR = 0.3


def stored_trials(database: Path, project: str) -> list[hs.Trial]:
    storage = open_storage(sqlite_url(database))
    try:
        study = storage.load_study(project)
        assert study is not None
        return storage.trials(study.id)
    finally:
        storage.close()


def saved_model_accuracy(path: Path, framework: str, values: dict[str, Any]) -> float:
    """The test accuracy of the best model as the demo saved it, read back independently."""
    data = load_digits_splits()
    if framework == "torch":
        import torch

        model = build_torch_mlp(values)
        model.load_state_dict(torch.load(path, weights_only=True))
        with torch.no_grad():
            predicted = model(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    else:
        predicted = demo.load_sklearn_model(path).predict(data.x_test)
    return float(np.mean(predicted == data.y_test))


def check_promotions_continue(trials: list[hs.Trial]) -> None:
    """Each promoted trial reported only the epochs its lower-rung trial had not trained."""
    by_number = {t.number: t for t in trials}
    promoted = [t for t in trials if "promoted_from" in t.attrs]
    assert promoted
    for trial in trials:
        parent = trial.attrs.get("promoted_from")
        first = 1 if parent is None else int(by_number[parent].budget or 0) + 1
        assert sorted(trial.intermediate) == list(range(first, int(trial.budget or 0) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_bohb_demo_finds_a_good_network_and_saves_the_study_and_the_model(
    tmp_path: Path, framework: str
) -> None:
    result = run_demo(
        "bohb", directory=tmp_path, seed=0, verbose=0, framework=framework, max_epochs=9
    )

    name = f"digits_{framework}_bohb_9epochs"
    database = tmp_path / name / "hyperscout.db"
    assert result["project_name"] == name
    assert result["database"] == str(database)
    assert result["framework"] == framework
    trials = stored_trials(database, name)
    assert len(trials) == result["trials"] == 22  # Hyperband(9, factor 3): 9+3+1 + 5+1 + 3
    assert {t.state for t in trials} == {hs.TrialState.COMPLETE}
    assert sorted({t.budget for t in trials}) == [1, 3, 9]
    check_promotions_continue(trials)
    # The best configuration is the best of those trained the full 9 epochs (a 3-epoch
    # result does not compete with them).
    assert result["best_epochs"] == 9
    assert result["best_val_accuracy"] == max(t.value for t in trials if t.budget == 9)
    assert set(result["best_values"]) == {
        "units",
        "layers",
        "activation",
        "learning_rate",
        "weight_decay",
        "batch_size",
    }
    # The best network was reloaded from its checkpoint, scored on the test split, and saved.
    assert result["test_model"] == "checkpoint"
    assert result["test_accuracy"] >= TEST_ACCURACY_FLOOR
    best_model = Path(result["best_model"])
    assert best_model.parent == tmp_path / name
    assert saved_model_accuracy(best_model, framework, result["best_values"]) == pytest.approx(
        result["test_accuracy"]
    )


@pytest.fixture
def one_torch_thread() -> Any:
    """As the demo trains: one thread is 10 to 50 times faster than two for these networks."""
    if not networks._installed("torch"):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_promoted_trial_trains_exactly_as_one_trained_from_the_start(
    tmp_path: Path, framework: str
) -> None:
    objective = demo_objective(framework, "bohb", max_epochs=3)
    values = {
        "units": 32,
        "layers": 2,
        "activation": "tanh",
        "learning_rate": 3e-3,
        "weight_decay": 1e-4,
        "batch_size": 64,
    }
    space = hs.HyperParameters()
    demo_run._configuration(space, "bohb")  # declare the demo's space

    def run(number: int, budget: int, previous: tuple[int, int] | None) -> hs.RunningTrial:
        trial = hs.RunningTrial(number, budget=budget, checkpoint_root=tmp_path, previous=previous)
        objective(space.with_values(values), trial)
        return trial

    lower = run(0, 1, None)
    promoted = run(1, 3, (0, 1))
    straight = run(2, 3, None)

    assert sorted(promoted.reports) == [2, 3]  # epoch 1 came from the checkpoint
    assert sorted(straight.reports) == [1, 2, 3]
    assert promoted.reports[2] == straight.reports[2]
    assert promoted.reports[3] == straight.reports[3]
    assert lower.reports[1] == straight.reports[1]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_checkpoint_of_a_promoted_trial_counts_all_its_epochs(
    tmp_path: Path, framework: str
) -> None:
    # A chain of promotions 1 -> 2 -> 4 epochs: the last trial trains epochs 3 and 4 only.
    # (scikit-learn's n_iter_ counts the last partial_fit only: the epochs are stored.)
    objective = demo_objective(framework, "bohb", max_epochs=4)
    space = hs.HyperParameters()
    demo_run._configuration(space, "bohb")
    hp = space.with_values({"units": 16, "layers": 1, "batch_size": 64})
    chain = [(0, 1, None), (1, 2, (0, 1)), (2, 4, (1, 2))]
    trials = []
    for number, budget, previous in chain:
        trial = hs.RunningTrial(number, budget=budget, checkpoint_root=tmp_path, previous=previous)
        objective(hp, trial)
        trials.append(trial)

    assert [sorted(t.reports) for t in trials] == [[1], [2], [3, 4]]


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_runs_its_own_study(tmp_path: Path, strategy: str) -> None:
    framework = resolve_framework("auto")
    result = run_demo(strategy, max_trials=3, directory=tmp_path, seed=1, verbose=0, max_epochs=3)

    name = project_name(framework, strategy, 3)
    assert name == f"digits_{framework}_{strategy}_3epochs"
    trials = stored_trials(tmp_path / name / "hyperscout.db", name)
    assert len(trials) == result["trials"] == 3
    if REGISTRY[strategy].budgeted:
        assert {t.budget for t in trials} <= {1, 3}
        assert [t.attrs["rung"] for t in trials] == [0, 0, 0]
    else:
        # No budgets: every trial trains the full number of epochs.
        assert {t.budget for t in trials} == {None}
        assert all(sorted(t.intermediate) == [1, 2, 3] for t in trials)
    if strategy == "grid":
        assert [(t.values["units"], t.values["activation"]) for t in trials] == [
            (32, "relu"),
            (32, "relu"),
            (32, "tanh"),
        ]
        assert [t.values["learning_rate"] for t in trials] == [1e-3, 1e-2, 1e-3]
    assert result["test_accuracy"] >= SHORT_RUN_FLOOR
    assert saved_model_accuracy(
        Path(result["best_model"]), framework, result["best_values"]
    ) == pytest.approx(result["test_accuracy"])


def test_the_demo_refuses_unknown_choices_and_creates_nothing(tmp_path: Path) -> None:
    expected = (
        "run_demo(strategy=...): expected one of 'random', 'grid', 'bayes', 'halving', "
        "'hyperband', 'bohb', 'asha', got 'bayesian'"
    )
    with pytest.raises(hs.InvalidArgumentError, match=re.escape(expected)):
        run_demo("bayesian", directory=tmp_path)
    with pytest.raises(hs.InvalidArgumentError, match=r"framework=.*got 'jax'"):
        run_demo("bohb", directory=tmp_path, framework="jax")
    with pytest.raises(hs.InvalidArgumentError, match=r"max_epochs=.*int >= 1, got 0"):
        run_demo("bohb", directory=tmp_path, max_epochs=0)
    assert list(tmp_path.iterdir()) == []

    args = ["demo", "--strategy", "bayesian", "--directory", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Invalid value for '--strategy': 'bayesian' is not one of" in result.output
    assert "'random', 'grid', 'bayes', 'halving', 'hyperband', 'bohb'," in result.output
    assert list(tmp_path.iterdir()) == []


def test_auto_falls_back_to_scikit_learn_without_pytorch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(networks, "_installed", lambda module: module != "torch")
    assert resolve_framework("auto") == "sklearn"
    out = io.StringIO()

    result = run_demo(
        "random",
        max_trials=1,
        max_epochs=2,
        directory=tmp_path,
        seed=0,
        console=Console(file=out, width=400),
    )

    assert result["framework"] == "sklearn"
    assert result["project_name"] == "digits_sklearn_random_2epochs"
    text = out.getvalue()
    assert "tunes scikit-learn's MLPClassifier (trained epoch by epoch with partial_fit)" in text
    assert "PyTorch is not installed" in text
    assert "pip install 'hyperscout[torch]'" in text
    assert "an MLPClassifier without pickle: hyperscout.demo.load_sklearn_model(path)" in text

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    with pytest.raises(hs.MissingDependencyError, match=re.escape("'hyperscout[torch]'")):
        resolve_framework("torch")


def test_scikit_learn_swallowing_ctrl_c_still_stops_the_demo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MLPClassifier.partial_fit catches KeyboardInterrupt, warns and returns; the demo turns
    # the warning back into the interrupt.
    from sklearn.neural_network import MLPClassifier

    def interrupted(self: Any, *args: Any, **kwargs: Any) -> Any:
        warnings.warn("Training interrupted by user.", UserWarning, stacklevel=2)
        return self

    monkeypatch.setattr(MLPClassifier, "partial_fit", interrupted)
    network = networks.SklearnNetwork(
        {
            "units": 16,
            "layers": 1,
            "activation": "relu",
            "learning_rate": 1e-3,
            "weight_decay": 1e-4,
            "batch_size": 64,
        }
    )
    with pytest.raises(KeyboardInterrupt):
        network.train_epoch(0)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to itself")
def test_ctrl_c_during_training_stops_the_demo_search(tmp_path: Path) -> None:
    # A SIGINT handler of our own, disarmed afterwards, makes sure a late signal cannot reach
    # the rest of the test session.
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
            run_demo(
                "random", directory=tmp_path, seed=0, verbose=0, framework="sklearn", max_epochs=60
            )
    finally:
        armed.clear()
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, previous)

    name = "digits_sklearn_random_60epochs"
    trials = stored_trials(tmp_path / name / "hyperscout.db", name)
    assert len(trials) < 20
    assert trials[-1].state is hs.TrialState.FAILED
    assert "interrupted" in (trials[-1].error or "")
    assert all(t.state is hs.TrialState.COMPLETE for t in trials[:-1])


@pytest.mark.slow
def test_the_ci_command_reports_the_best_network_and_resumes(tmp_path: Path) -> None:
    args = ["demo", "--max-trials", "3", "--directory", str(tmp_path), "--seed", "0"]

    first = CliRunner().invoke(main, args, catch_exceptions=False)

    assert first.exit_code == 0, first.output
    text = " ".join(first.output.split())  # rich wraps long lines
    framework = resolve_framework("auto")
    project = tmp_path / f"digits_{framework}_bohb"
    assert text.startswith("hyperscout demo: BOHB")
    assert f"New study in {project / 'hyperscout.db'}; running 3 trials." in text
    assert "Best configuration (trial" in text
    for name in ("units", "layers", "activation", "learning_rate", "weight_decay", "batch_size"):
        assert f" {name} = " in text
    assert "reloaded from trial" in text
    accuracy = float(text.split("held-out test images: ")[1].split()[0])
    assert accuracy >= SHORT_RUN_FLOOR
    assert f"The study is saved in {project / 'hyperscout.db'} (3 trials" in text
    suffix = "pt" if framework == "torch" else "npz"
    assert f"The best network is saved in {project / ('best_model.' + suffix)}" in text
    assert (project / f"best_model.{suffix}").is_file()

    again = CliRunner().invoke(main, args, catch_exceptions=False)

    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "Resuming the study" in text
    assert "3 trials are already there" in text
    assert "No new trial" in text
    assert float(text.split("held-out test images: ")[1].split()[0]) == accuracy
    assert len(stored_trials(project / "hyperscout.db", project.name)) == 3


@pytest.mark.slow
def test_the_default_demo_reaches_the_floor(tmp_path: Path) -> None:
    # The main job as users run it: 27 epochs, 69 trials (about 20 s).
    result = CliRunner().invoke(
        main, ["demo", "--directory", str(tmp_path), "--seed", "0"], catch_exceptions=False
    )

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    framework = resolve_framework("auto")
    assert "running 69 trials" in text
    # Ranked one row per configuration, on the highest budget each completed.
    title = text.split(f"digits_{framework}_bohb: best 5 of ")[1]
    assert title.split()[1] == "configurations"
    assert "(69 trials: 69 complete" in title
    accuracy = float(text.split("held-out test images: ")[1].split()[0])
    assert accuracy >= TEST_ACCURACY_FLOOR


def test_the_command_passes_its_choices_to_the_demo(tmp_path: Path) -> None:
    args = ["demo", "--framework", "sklearn", "--strategy", "grid", "--max-trials", "2"]
    args += ["--max-epochs", "2", "--directory", str(tmp_path), "--seed", "0", "--verbose", "0"]

    result = CliRunner().invoke(main, args, catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert result.output == ""  # --verbose 0
    name = "digits_sklearn_grid_2epochs"
    trials = stored_trials(tmp_path / name / "hyperscout.db", name)
    assert len(trials) == 2
    assert all(sorted(t.intermediate) == [1, 2] for t in trials)
    assert (tmp_path / name / "best_model.npz").is_file()


class _Planted:
    """A pickle that, when loaded, creates the folder ``path``: proof that it was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.path),))


def test_a_planted_pickle_in_the_demo_folder_is_never_loaded(tmp_path: Path) -> None:
    import pickle

    name = "digits_sklearn_hyperband_3epochs"
    options: dict[str, Any] = {"seed": 0, "verbose": 0, "framework": "sklearn", "max_epochs": 3}
    first = run_demo("hyperband", max_trials=3, directory=tmp_path, **options)
    assert first["trials"] == 3
    # Someone plants a pickle that runs code in every trial folder and as the best model.
    sentinel = tmp_path / "code_ran"
    folders = sorted((tmp_path / name / "checkpoints").glob("trial_*"))
    assert len(folders) == 3
    for path in [*(f / "model.pkl" for f in folders), tmp_path / name / "best_model.pkl"]:
        path.write_bytes(pickle.dumps(_Planted(sentinel)))

    again = run_demo("hyperband", directory=tmp_path, **options)

    assert not sentinel.exists()
    trials = stored_trials(tmp_path / name / "hyperscout.db", name)
    assert len(trials) == again["trials"] > 3
    assert {t.state for t in trials} == {hs.TrialState.COMPLETE}
    # The promoted trials continued from their parents' (safe) checkpoints.
    check_promotions_continue(trials)
    assert again["test_model"] == "checkpoint"
    assert again["test_accuracy"] >= SHORT_RUN_FLOOR


def test_a_checkpoint_with_pickled_arrays_is_refused(tmp_path: Path) -> None:
    sentinel = tmp_path / "code_ran"
    planted = tmp_path / "model.npz"
    np.savez(planted, header=np.array([_Planted(sentinel)], dtype=object))

    with pytest.raises(hs.InvalidArgumentError, match=r"expected an MLPClassifier saved by"):
        demo.load_sklearn_model(planted)
    assert not sentinel.exists()
