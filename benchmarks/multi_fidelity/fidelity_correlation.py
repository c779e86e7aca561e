"""How well a multi-fidelity task's low budgets predict its full budget.

Trains random configurations of a task of the multi-fidelity benchmark (``tasks.py``) to its
full budget, reads the validation loss at every rung of Hyperband with factor 3 (1, 3, 9, ...
epochs), and prints, per rung, the Spearman rank correlation with the full-budget loss and how
many of the best tenth at full budget are in the best third at that rung (the share successive
halving would promote).
This is what decides whether early stopping can pay: a high correlation and a best tenth that
survives every rung let Hyperband find the best configurations at a fraction of the cost.

    python -m benchmarks.multi_fidelity.fidelity_correlation --task mlp-digits --max-epochs 81
    python -m benchmarks.multi_fidelity.fidelity_correlation --quick   # seconds: synth-rho0.9
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr

import hyperscout as hs
from benchmarks.harness.machine import cpu_model
from benchmarks.harness.space import hyperscout_space
from benchmarks.multi_fidelity.tasks import LOSS_CAP, get_task


def random_configurations(
    space: Sequence[object], count: int, seed: int
) -> list[dict[str, object]]:
    """``count`` configurations drawn by hyperscout's RandomSampler (seeded)."""
    tuner = hs.RandomSearch(
        objective="loss",
        hyperparameters=hyperscout_space(space),
        max_trials=count,  # the preset's default (10) would end the draws early
        seed=seed,
        storage="memory",
        verbose=0,
    )
    drawn = []
    for _ in range(count):
        hp, trial = tuner.ask()
        drawn.append(dict(hp.values))
        tuner.tell(trial, {"loss": 0.0})
    return drawn


def rungs(max_epochs: int, factor: int = 3) -> list[int]:
    """Hyperband's rungs below ``max_epochs``: 1, 3, 9, ... (and the full budget)."""
    out, budget = [], 1
    while budget < max_epochs:
        out.append(budget)
        budget *= factor
    return [*out, max_epochs]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", help="a task (default mlp-digits; --quick: synth-rho0.9)")
    parser.add_argument("--max-epochs", type=int, help="full budget (default 27; --quick: 9)")
    parser.add_argument(
        "--configs", type=int, help="random configurations (default 60; --quick: 12)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = parser.parse_args(argv)
    quick = {"task": "synth-rho0.9", "max_epochs": 9, "configs": 12}
    full = {"task": "mlp-digits", "max_epochs": 27, "configs": 60}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    task = get_task(args.task, args.max_epochs)
    task.warm_up()
    at = rungs(task.max_epochs)
    started = time.perf_counter()
    losses = np.empty((args.configs, len(at)))
    for i, values in enumerate(random_configurations(task.space, args.configs, args.seed)):
        model = task.build(values, args.seed)
        column = 0
        while model.epoch < task.max_epochs:
            model.train_epoch()
            if model.epoch in at:
                loss = model.val_loss()
                losses[i, column] = loss if math.isfinite(loss) else LOSS_CAP
                column += 1
    losses = np.minimum(losses, LOSS_CAP)
    final = losses[:, -1]
    best_tenth = set(np.argsort(final)[: max(1, args.configs // 10)].tolist())
    print(
        f"# {task.title}: {args.configs} random configurations (seed {args.seed}), "
        f"full budget {task.max_epochs} epochs\n"
    )
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{time.perf_counter() - started:.0f} s.\n"
    )
    print("| rung (epochs) | Spearman with full budget | best tenth in the rung's best third |")
    print("| ---: | ---: | ---: |")
    for column, budget in enumerate(at[:-1]):
        rho = float(spearmanr(losses[:, column], final)[0])
        third = set(np.argsort(losses[:, column])[: math.ceil(args.configs / 3)].tolist())
        kept = len(best_tenth & third)
        print(f"| {budget} | {rho:.2f} | {kept} of {len(best_tenth)} |")
    print(
        f"\nFull-budget loss: best {final.min():.4f}, median {np.median(final):.4f}; "
        f"the best tenth from {np.sort(final)[len(best_tenth) - 1]:.4f} down."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
