"""Module-level objectives for tests/executors/test_process.py: worker processes import them."""

from __future__ import annotations

import os
import sys
import time

import hyperscout as hs


def grid(hp: hs.HyperParameters) -> float:
    """A 50-point grid (5 x 10); the worker's pid is kept as a metric."""
    a = hp.Choice("a", [0, 1, 2, 3, 4])
    b = hp.Int("b", 0, 9)
    return float((a - 2) ** 2 + (b - 5) ** 2)


#: Loaded by an objective that needs them, never by a worker process on its own.
FRAMEWORKS = ("torch", "keras", "tensorflow", "jax", "sklearn", "scipy", "plotly", "optuna")


def pid(hp: hs.HyperParameters) -> dict[str, float]:
    """A short trial that says which process ran it, and how many frameworks it had loaded."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(0.05)
    loaded = sum(name in sys.modules for name in FRAMEWORKS)
    return {"loss": x * x, "pid": float(os.getpid()), "frameworks": float(loaded)}


def curve(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """A learning curve reported epoch by epoch, from the budget the trial was given."""
    x = hp.Float("x", -5.0, 5.0)
    floor = (x - 1.0) ** 2
    loss = floor
    for epoch in range(int(trial.previous_budget or 0), int(trial.budget or 9)):
        loss = floor + 5.0 / (epoch + 1)
        time.sleep(0.01)
        trial.report(epoch, loss=loss)
        if trial.should_stop():
            break
    return float(loss)


def broken(hp: hs.HyperParameters) -> float:
    """Fails on every trial."""
    hp.Float("x", 0.0, 1.0)
    raise ValueError("the objective broke on purpose")


def scaled(
    hp: hs.HyperParameters, trial: hs.RunningTrial, scale: float, *, offset: float = 0.0
) -> float:
    """Uses the arguments of search() (after hp and the trial)."""
    x = hp.Float("x", -1.0, 1.0)
    return scale * x * x + offset


def dies_once(hp: hs.HyperParameters, trial: hs.RunningTrial, marker: str) -> float:
    """The first trial to run kills its own worker process (SIGKILL); the others sleep a bit."""
    x = hp.Float("x", -1.0, 1.0)
    try:
        with open(marker, "x"):
            pass
    except FileExistsError:
        time.sleep(0.05)
        return x * x
    os.kill(os.getpid(), 9)
    raise AssertionError("unreachable")


def victim(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> float:
    """The first trial to run writes its x to FOLDER/victim.x and its process's pid to
    FOLDER/victim.pid, and waits to be killed (SIGKILL from the test); the others take 0.1 s."""
    x = hp.Float("x", -1.0, 1.0)
    try:
        fd = os.open(os.path.join(folder, "victim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        time.sleep(0.1)
        return x * x
    os.close(fd)
    with open(os.path.join(folder, "victim.x"), "w") as f:
        f.write(repr(x))
    with open(os.path.join(folder, "victim.pid.part"), "w") as f:
        f.write(str(os.getpid()))
    os.replace(os.path.join(folder, "victim.pid.part"), os.path.join(folder, "victim.pid"))
    time.sleep(60.0)
    raise AssertionError("the test did not kill this worker process")


def steady(hp: hs.HyperParameters) -> float:
    """A 0.2-s trial (for the driver killed mid-search)."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(0.2)
    return x * x


def meet(folder: str, n: int) -> None:
    """Wait (20 s at most) until ``n`` processes have called this: they run at once."""
    with open(os.path.join(folder, f"{os.getpid()}.pid"), "w"):
        pass
    deadline = time.monotonic() + 20.0
    while len([f for f in os.listdir(folder) if f.endswith(".pid")]) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} worker processes never ran trials at once")
        time.sleep(0.01)


def torch_mlp(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> dict[str, float]:
    """A tiny PyTorch network on 64 random points, two epochs (torch in the worker only)."""
    import torch

    units = hp.Int("units", 2, 8)
    lr = hp.Float("lr", 1e-3, 1e-1, sampling="log")
    meet(folder, 2)
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x.sum(dim=1, keepdim=True)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, units), torch.nn.ReLU(), torch.nn.Linear(units, 1)
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for epoch in range(2):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        trial.report(epoch, loss=loss.item())
    parameters = sum(p.numel() for p in model.parameters())
    return {"loss": loss.item(), "pid": float(os.getpid()), "parameters": float(parameters)}


def keras_mlp(hp: hs.HyperParameters, trial: hs.RunningTrial, folder: str) -> dict[str, float]:
    """A tiny Keras network on 64 random points, two epochs (Keras in the worker only)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import numpy as np

    units = hp.Int("units", 2, 8)
    meet(folder, 2)
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return {
        "loss": float(history.history["loss"][-1]),
        "pid": float(os.getpid()),
        "torch_backend": float(keras.backend.backend() == "torch"),
        "parameters": float(model.count_params()),
    }


def slow(hp: hs.HyperParameters) -> float:
    """A long trial (for Ctrl-C)."""
    x = hp.Float("x", -1.0, 1.0)
    time.sleep(30.0)
    return x * x


class SquareTuner(hs.RandomSearch):
    """A tuner whose run_trial is overridden (KerasTuner's way); it needs no hypermodel."""

    def run_trial(self, trial: hs.RunningTrial, *args: object, **kwargs: object) -> float:
        x = trial.hyperparameters.Float("x", -1.0, 1.0)
        return x * x + 1.0


if __name__ == "__main__":  # python tests/executors/process_objectives.py URL [steady]
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job ignores it
    if sys.argv[2:] == ["steady"]:  # 8 short trials over 2 worker processes
        hs.RandomSearch(
            steady, max_trials=8, storage=sys.argv[1], project_name="p", seed=0, verbose=0
        ).search(n_jobs=2)
        sys.exit(0)
    tuner = hs.RandomSearch(
        slow, max_trials=4, storage=sys.argv[1], project_name="p", seed=0, verbose=0
    )
    tuner.search(n_jobs=2)
