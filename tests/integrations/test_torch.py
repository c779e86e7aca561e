"""PyTorch helpers: checkpoints that promoted trials continue from, and the best model reloaded."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import hyperscout as hs
from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url
from hyperscout.trial import checkpoint_path

torch = pytest.importorskip("torch", reason="the PyTorch helpers need the torch extra")

from hyperscout.integrations.torch import (  # noqa: E402 - after the skip
    CHECKPOINT_FILE,
    MODEL_FILE,
    load_best_model,
    load_checkpoint,
    load_trial_model,
    save_checkpoint,
    save_model,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "torch_digits.py"
# The example's CNN, tuned by Hyperband up to 9 epochs, scored 0.972 on the test split
# (seed 0); a linear model gets about 0.96 on digits and chance is 0.1. Below 0.9 the
# training, the checkpoints or the reload are broken.
EXAMPLE_TEST_ACCURACY_FLOOR = 0.9


def net(seed: int) -> Any:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


def train_steps(model: Any, optimizer: Any, steps: int, scheduler: Any = None) -> None:
    generator = torch.Generator().manual_seed(7)
    for _ in range(steps):
        x = torch.randn(16, 4, generator=generator)
        y = torch.randint(0, 3, (16,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def adam(model: Any) -> tuple[Any, Any]:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)


def same_weights(a: Any, b: Any) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_promoted_trial_continues_exactly_where_its_lower_rung_stopped(tmp_path: Path) -> None:
    parent = hs.RunningTrial(0, budget=3, checkpoint_root=tmp_path)
    model = net(seed=1)
    optimizer, scheduler = adam(model)
    train_steps(model, optimizer, 3, scheduler)
    path = save_checkpoint(parent, model, optimizer, epoch=3, scheduler=scheduler)
    assert path == checkpoint_path(tmp_path, 0) / CHECKPOINT_FILE

    child = hs.RunningTrial(5, budget=9, checkpoint_root=tmp_path, previous=(0, 3))
    restored = net(seed=2)  # other initial weights: only the load can make them equal
    restored_optimizer, restored_scheduler = adam(restored)
    assert not same_weights(restored, model)

    start = load_checkpoint(child, restored, restored_optimizer, scheduler=restored_scheduler)

    assert start == 3
    assert same_weights(restored, model)
    assert restored_scheduler.get_last_lr() == scheduler.get_last_lr() == [0.005]
    moments = restored_optimizer.state_dict()["state"]
    for index, state in optimizer.state_dict()["state"].items():
        assert torch.equal(moments[index]["exp_avg"], state["exp_avg"])
        assert torch.equal(moments[index]["exp_avg_sq"], state["exp_avg_sq"])
    # With Adam's moments and the schedule restored, training on matches uninterrupted training.
    train_steps(model, optimizer, 2, scheduler)
    train_steps(restored, restored_optimizer, 2, restored_scheduler)
    assert same_weights(restored, model)


def test_a_trial_that_continues_nothing_loads_nothing_and_starts_at_zero(tmp_path: Path) -> None:
    model = net(seed=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer, _ = adam(model)

    fresh = hs.RunningTrial(0, budget=3, checkpoint_root=tmp_path)
    assert load_checkpoint(fresh, model, optimizer) == 0
    assert fresh.notes == {}
    # Promoted from a trial whose folder holds no checkpoint (it saved nothing): a fresh
    # start, but a noted and warned one.
    (checkpoint_path(tmp_path, 0) / "notes.txt").parent.mkdir(parents=True)
    orphan = hs.RunningTrial(1, budget=9, checkpoint_root=tmp_path, previous=(0, 3))
    with pytest.warns(hs.HyperscoutWarning, match="starts from scratch"):
        assert load_checkpoint(orphan, model, optimizer) == 0
    missing = checkpoint_path(tmp_path, 0) / CHECKPOINT_FILE
    assert orphan.notes == {"checkpoint_missing": str(missing)}

    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert optimizer.state_dict()["state"] == {}


def resuming_line(hp: hs.HyperParameters, trial: hs.RunningTrial) -> dict[str, float]:
    """Trains a line for trial.budget epochs from its lower rung's checkpoint; the even
    1-epoch trials lose theirs (a colleague's clean-up) before any promotion."""
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(0.0)
        model.bias.fill_(hp.Float("b", -1.0, 1.0))
    start = load_checkpoint(trial, model)
    for epoch in range(start, int(trial.budget)):
        with torch.no_grad():
            model.weight.add_(1.0)
        trial.report(epoch + 1, loss=abs(model.bias.item()))
    path = save_checkpoint(trial, model, epoch=int(trial.budget))
    if trial.budget == 1 and trial.number % 2 == 0:
        path.unlink()
    return {"loss": abs(model.bias.item()), "start": float(start), "w": model.weight.item()}


def test_a_promotion_whose_checkpoint_was_deleted_is_recorded_and_warned_once(
    tmp_path: Path,
) -> None:
    tuner = hs.Hyperband(
        resuming_line,
        objective="loss",
        max_epochs=9,
        factor=3,
        seed=0,
        directory=tmp_path,
        project_name="hb",
        verbose=0,
    )

    with pytest.warns(hs.HyperscoutWarning) as caught:
        tuner.search()

    promoted = [t for t in tuner.trials if "promoted_from" in t.attrs]
    parents = {t.number: t for t in tuner.trials}
    lost = [t for t in promoted if parents[int(t.attrs["promoted_from"])].budget == 1]
    lost = [t for t in lost if int(t.attrs["promoted_from"]) % 2 == 0]
    kept = [t for t in promoted if t not in lost]
    assert lost and kept
    for trial in lost:
        parent = int(trial.attrs["promoted_from"])
        expected = checkpoint_path(tmp_path / "hb" / "checkpoints", parent) / CHECKPOINT_FILE
        assert trial.attrs["checkpoint_missing"].endswith(str(expected.relative_to(tmp_path)))
        assert trial.metrics["start"] == 0.0  # trained from scratch, all its epochs
        assert trial.metrics["w"] == trial.budget
    for trial in kept:
        assert "checkpoint_missing" not in trial.attrs
        assert trial.metrics["start"] == parents[int(trial.attrs["promoted_from"])].budget
    assert len([w for w in caught if issubclass(w.category, hs.HyperscoutWarning)]) == 1
    tuner.storage.close()


def test_loading_asks_only_for_the_states_that_were_saved(tmp_path: Path) -> None:
    model = net(seed=1)
    optimizer, scheduler = adam(model)
    save_checkpoint(hs.RunningTrial(0, checkpoint_root=tmp_path), model, epoch=1)
    child = hs.RunningTrial(1, checkpoint_root=tmp_path, previous=(0, 1))

    with pytest.raises(hs.InvalidArgumentError, match="holds no optimizer state"):
        load_checkpoint(child, net(seed=2), optimizer)
    with pytest.raises(hs.InvalidArgumentError, match="no state for scheduler"):
        load_checkpoint(child, net(seed=2), scheduler=scheduler)
    assert load_checkpoint(child, net(seed=2)) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t, m: save_checkpoint(t, m, epoch=-1), r"epoch=\.\.\.\): expected .* got -1"),
        (lambda t, m: save_checkpoint(t, m, epoch=2.5), r"an int >= 0, got 2\.5"),
        (lambda t, m: save_checkpoint(t, "weights", epoch=1), r"model=\.\.\.\): .* got 'weights'"),
        (lambda t, m: save_checkpoint(t, m, epoch=1, ema=3), r"ema=\.\.\.\): .*state_dict"),
        (lambda t, m: save_checkpoint("trial", m, epoch=1), r"trial=\.\.\.\): .*RunningTrial"),
        (lambda t, m: load_checkpoint(t, m, optimizer=object()), r"optimizer=\.\.\.\)"),
        (lambda t, m: save_model(3, m), r"save_model\(trial=\.\.\.\)"),
    ],
)
def test_bad_arguments_name_the_parameter_and_the_value(
    tmp_path: Path, call: Any, message: str
) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=message):
        call(hs.RunningTrial(0, checkpoint_root=tmp_path), net(seed=0))


def test_without_torch_the_helpers_say_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails

    class Stateful:
        def state_dict(self) -> dict[str, Any]:
            return {}

    with pytest.raises(
        hs.MissingDependencyError, match=re.escape("pip install 'hyperscout[torch]'")
    ):
        save_checkpoint(hs.RunningTrial(0, checkpoint_root=tmp_path), Stateful(), epoch=1)


def weight_objective(saved: dict[int, Any]) -> Any:
    """A 'training' that sets the weights from hp, so that each trial's weights are known."""

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        model = build_line(hp)
        save_checkpoint(trial, model, epoch=1)
        saved[trial.number] = {k: v.clone() for k, v in model.state_dict().items()}
        return (hp.values["w"] - 0.3) ** 2

    return objective


def build_line(hp: hs.HyperParameters) -> Any:
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(hp.Float("w", -1.0, 1.0))
        model.bias.fill_(hp.Float("b", -1.0, 1.0))
    return model


def fresh_line(hp: hs.HyperParameters) -> Any:
    """The same module with default weights: what build_model does in real code."""
    torch.manual_seed(0)
    return torch.nn.Linear(1, 1)


def test_load_best_model_gives_the_best_trials_weights(tmp_path: Path) -> None:
    saved: dict[int, Any] = {}
    with hs.RandomSearch(
        weight_objective(saved), max_trials=6, seed=0, directory=tmp_path, verbose=0
    ) as tuner:
        tuner.search()
        best = tuner.get_best_trials(1)[0]

        model = load_best_model(tuner, fresh_line)

        assert not model.training  # ready for inference
        assert all(torch.equal(model.state_dict()[k], v) for k, v in saved[best.number].items())
        x = torch.tensor([[0.5], [-2.0]])
        expected = best.values["w"] * x + best.values["b"]
        assert torch.allclose(model(x).detach(), expected)
        with pytest.raises(hs.InvalidArgumentError, match=r"to return a torch\.nn\.Module"):
            load_best_model(tuner, lambda hp: "not a module")
        others = [n for n in saved if n != best.number]
        for number in others:
            other = load_trial_model(tuner, number, fresh_line)
            assert torch.equal(other.weight, saved[number]["weight"])
            assert not torch.equal(other.weight, model.weight)


def test_the_weights_of_save_model_win_over_the_last_checkpoint(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        model = build_line(hp)
        save_model(trial, model)  # the "best epoch"
        with torch.no_grad():
            model.weight.add_(10.0)  # later epochs, worse
        save_checkpoint(trial, model, epoch=2)
        return 0.0

    with hs.RandomSearch(objective, max_trials=1, seed=0, directory=tmp_path, verbose=0) as tuner:
        tuner.search()
        trial = tuner.trials[0]
        assert (checkpoint_path(tuner.checkpoint_root, 0) / MODEL_FILE).is_file()

        model = load_best_model(tuner, fresh_line)

    assert float(model.weight.detach()) == pytest.approx(trial.values["w"])


def test_loading_a_model_that_was_never_saved_says_what_to_do(tmp_path: Path) -> None:
    def objective(hp: hs.HyperParameters) -> float:
        return hp.Float("w", -1.0, 1.0) ** 2

    with hs.RandomSearch(objective, max_trials=1, seed=0, directory=tmp_path, verbose=0) as tuner:
        with pytest.raises(hs.InvalidArgumentError, match="no complete trial yet"):
            load_best_model(tuner, fresh_line)
        tuner.search()
        with pytest.raises(hs.InvalidArgumentError, match=r"Trial 0 saved no weights .*save_"):
            load_best_model(tuner, fresh_line)
        with pytest.raises(hs.InvalidArgumentError, match="has no such trial"):
            load_trial_model(tuner, 7, fresh_line)
        with pytest.raises(hs.InvalidArgumentError, match=r"build_model=.*got 'net'"):
            load_trial_model(tuner, 0, "net")  # type: ignore[arg-type]


def import_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torch_digits_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_pytorch_example_tunes_and_reloads_the_best_cnn(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    printed = float(out.split("Test accuracy of the reloaded best model: ")[1].split()[0])
    assert printed >= EXAMPLE_TEST_ACCURACY_FLOOR

    storage = open_storage(sqlite_url(tmp_path / "torch_digits" / "hyperscout.db"))
    try:
        study = storage.load_study("torch_digits")
        assert study is not None
        trials = {t.number: t for t in storage.trials(study.id)}
        space = hs.HyperParameters.from_dict(study.space)
    finally:
        storage.close()
    assert len(trials) == 22  # Hyperband(max_epochs=9, factor=3): 9+3+1 + 5+1 + 3
    assert {t.state for t in trials.values()} == {hs.TrialState.COMPLETE}
    for trial in trials.values():
        assert set(trial.metrics) == {"val_loss", "val_accuracy"}
        parent = trial.attrs.get("promoted_from")
        # A promoted trial trained only the epochs its lower-rung trial had not.
        first = 1 if parent is None else trials[parent].budget + 1
        assert sorted(trial.intermediate) == list(range(int(first), int(trial.budget) + 1))
    best = min(trials.values(), key=lambda t: (t.value, t.number))
    assert f"Best val_loss: {best.value:.4f} (trial {best.number}," in out

    # The printed accuracy is that of the weights saved in the best trial's checkpoint, and
    # an untrained network of the same configuration does far worse: the reload loaded.
    example = import_example()
    data = example.load_data()
    hp = space.with_values(best.values)
    folder = checkpoint_path(tmp_path / "torch_digits" / "checkpoints", best.number)
    state = torch.load(folder / CHECKPOINT_FILE, weights_only=True)
    model = example.build_model(hp)
    untrained = example.evaluate(model, data["test"])["accuracy"]
    model.load_state_dict(state["model"])
    reloaded = example.evaluate(model, data["test"])["accuracy"]
    assert f"{reloaded:.4f}" == f"{printed:.4f}"
    assert state["epoch"] == best.budget
    assert untrained < 0.5
