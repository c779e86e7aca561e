"""Model-based sampling with early stopping on define-by-run conditional spaces.

Optuna's usual setup, a model-based sampler with a median stopping pruner, on spaces written as
plain Python (``if``/``else`` branches, a loop over ``hp.Int("n_layers", ...)``): the GP
(``AutoSampler``), TPE and random search, each with ``MedianStoppingScheduler`` (or ASHA in its
stopping form), 30 trials, side by side on the same seeds.

Tasks:

``classifiers``
    synthetic and instant: SVC, random forest or k-NN, each with its own parameters; the
    error of a configuration shrinks over 8 epochs as ``error * (1 + 2 / epoch)``; the optimum
    is 0.125 (SVC, C = 10**1.2, rbf kernel).
``digits``
    real: scikit-learn's digits (1,797 images, 8x8), a linear model or a multi-layer
    perceptron of 1-3 layers with ``units_i`` per layer, trained 10 epochs with
    ``partial_fit`` and scored by the validation error after each (the first 1,200 images
    train, the rest validate; every model is seeded).

For each method: the mean and median of the best complete loss, the number of trials that
ran a configuration already run (the same values of the parameters the objective used), how
many trials were stopped, and the epochs trained in all.

Run: ``python -m benchmarks.sample_efficiency.conditional_stopping [--task classifiers|digits|all]
[--seeds 10] [--scheduler median|asha] [--markdown] [--out DIR]``; ``--quick`` is a smoke run of
a few seconds (the synthetic task, 2 seeds, 12 trials). ``--out DIR`` also writes the rows to
``DIR/conditional_stopping.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import hyperscout as hs
from benchmarks.harness.folders import write_json

TRIALS = 30


@dataclass
class Log:
    """What the objective used in each trial, and the epochs it trained."""

    programs: list[str] = field(default_factory=list)
    epochs: int = 0


Objective = Callable[[hs.HyperParameters, hs.RunningTrial], float]


def classifiers(log: Log) -> Objective:
    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        used: dict[str, Any] = {"classifier": hp.Choice("classifier", ["SVC", "RF", "KNN"])}
        if used["classifier"] == "SVC":
            used["svc_c"] = hp.Float("svc_c", 1e-3, 1e3, sampling="log")
            used["svc_kernel"] = hp.Choice("svc_kernel", ["rbf", "linear"])
            linear = used["svc_kernel"] == "linear"
            error = 0.10 + 0.02 * (math.log10(used["svc_c"]) - 1.2) ** 2 + 0.04 * linear
        elif used["classifier"] == "RF":
            used["rf_max_depth"] = hp.Int("rf_max_depth", 2, 32, sampling="log")
            used["rf_n_estimators"] = hp.Int("rf_n_estimators", 10, 200, step=10)
            depth, trees = used["rf_max_depth"], used["rf_n_estimators"]
            error = 0.13 + 0.03 * (math.log2(depth) - 3) ** 2 + 0.02 * (1 - trees / 200)
        else:
            used["knn_k"] = hp.Int("knn_k", 1, 30)
            error = 0.16 + 0.002 * (used["knn_k"] - 9) ** 2
        log.programs.append(json.dumps(used, sort_keys=True))
        loss = error
        for epoch in range(1, 9):
            loss = error * (1 + 2.0 / epoch)
            log.epochs += 1
            trial.report(epoch, loss=loss)
            if trial.should_stop():
                raise hs.TrialPruned()
        return loss

    return objective


def digits(log: Log) -> Objective:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    order = np.random.default_rng(0).permutation(len(x))
    train, val = order[:1200], order[1200:]
    classes = np.unique(y)

    def objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
        used: dict[str, Any] = {"model": hp.Choice("model", ["linear", "mlp"])}
        model: Any
        if used["model"] == "linear":
            used["alpha"] = hp.Float("alpha", 1e-6, 1e-1, sampling="log")
            used["loss"] = hp.Choice("loss", ["hinge", "log_loss", "modified_huber"])
            model = SGDClassifier(alpha=used["alpha"], loss=used["loss"], random_state=0)
        else:
            layers = []
            for i in range(hp.Int("n_layers", 1, 3)):
                layers.append(hp.Choice(f"units_{i}", [8, 16, 32, 64]))
                used[f"units_{i}"] = layers[-1]
            used["n_layers"] = len(layers)
            used["lr"] = hp.Float("lr", 1e-4, 1e-1, sampling="log")
            model = MLPClassifier(
                tuple(layers), learning_rate_init=used["lr"], batch_size=64, random_state=0
            )
        log.programs.append(json.dumps(used, sort_keys=True))
        error = 1.0
        for epoch in range(1, 11):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings of single epochs
                model.partial_fit(x[train], y[train], classes=classes)
            error = 1.0 - float(model.score(x[val], y[val]))
            log.epochs += 1
            trial.report(epoch, loss=error)
            if trial.should_stop():
                raise hs.TrialPruned()
        return error

    return objective


TASKS: dict[str, Callable[[Log], Objective]] = {"classifiers": classifiers, "digits": digits}
METHODS: dict[str, Callable[[], hs.Sampler]] = {
    "GP (AutoSampler)": hs.AutoSampler,
    "TPE": hs.TPESampler,
    "random": hs.RandomSampler,
}


def scheduler_of(name: str, task: str) -> hs.Scheduler:
    if name == "median":
        return hs.MedianStoppingScheduler()
    epochs = 8 if task == "classifiers" else 10
    return hs.ASHAScheduler(1, epochs, mode="stopping")


@dataclass
class Run:
    best: float
    repeats: int
    stopped: int
    epochs: int
    seconds: float


def run(task: str, method: str, scheduler: str, seed: int, trials: int = TRIALS) -> Run:
    log = Log()
    started = time.perf_counter()
    tuner = hs.Tuner(
        TASKS[task](log),
        objective="loss",
        sampler=METHODS[method](),
        scheduler=scheduler_of(scheduler, task),
        max_trials=trials,
        seed=seed,
        storage="memory",
        verbose=0,
    )
    tuner.search()
    seconds = time.perf_counter() - started
    trials = tuner.trials
    best = min(t.value for t in trials if t.state is hs.TrialState.COMPLETE and t.value is not None)
    return Run(
        best=float(best),
        repeats=len(log.programs) - len(set(log.programs)),
        stopped=sum(t.state is hs.TrialState.PRUNED for t in trials),
        epochs=log.epochs,
        seconds=seconds,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=[*TASKS, "all"], help="default all; --quick: classifiers")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 10; --quick: 2)")
    parser.add_argument("--trials", type=int, help=f"trials a run (default {TRIALS}; --quick: 12)")
    parser.add_argument("--scheduler", choices=["median", "asha"], default="median")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--out", type=Path, help="also write the rows to OUT/<this script>.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args()
    quick = {"task": "classifiers", "seeds": 2, "trials": 12}
    full = {"task": "all", "seeds": 10, "trials": TRIALS}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.seeds < 1 or args.trials < 1:
        parser.error("--seeds and --trials must be >= 1")
    return args


def main() -> None:
    args = parse_args()
    tasks = list(TASKS) if args.task == "all" else [args.task]
    header = (
        "| task | method | mean best | median best | repeated trials | stopped | epochs | s/run |"
    )
    print(f"{args.trials} trials, {args.scheduler} stopping, seeds 0-{args.seeds - 1}")
    print(header if args.markdown else header.replace("|", " "))
    if args.markdown:
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    rows: list[dict[str, Any]] = []
    for task in tasks:
        for method in METHODS:
            runs = [
                run(task, method, args.scheduler, seed, args.trials) for seed in range(args.seeds)
            ]
            bests = [r.best for r in runs]
            row = {
                "task": task,
                "method": method,
                "mean_best": statistics.mean(bests),
                "median_best": statistics.median(bests),
                "repeated": sum(r.repeats for r in runs),
                "trials": args.trials * len(runs),
                "stopped": statistics.mean(r.stopped for r in runs),
                "epochs": statistics.mean(r.epochs for r in runs),
                "seconds": statistics.mean(r.seconds for r in runs),
            }
            rows.append(row)
            cells = [
                task,
                method,
                f"{row['mean_best']:.4f}",
                f"{row['median_best']:.4f}",
                f"{row['repeated']} of {row['trials']}",
                f"{row['stopped']:.1f}",
                f"{row['epochs']:.0f}",
                f"{row['seconds']:.1f}",
            ]
            line = " | ".join(cells)
            print(f"| {line} |" if args.markdown else line, flush=True)
    if args.out is not None:
        settings = {"trials": args.trials, "seeds": args.seeds, "scheduler": args.scheduler}
        path = write_json(args.out / "conditional_stopping.json", {**settings, "rows": rows}, 1)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
