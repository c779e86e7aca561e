"""How far random Hyperband can get on a task: its own selection, and a perfect one.

Target 1 of the early-stopping issue asks random Hyperband to reach full-budget
BayesianOptimization's final validation loss within a fifth of BO's budget. This script
measures what that asks. It trains a pool of random configurations (hyperscout's
RandomSampler) to the full budget once, keeping the validation loss at every rung of
Hyperband with factor 3, then replays Hyperband on the pool many times: each replicate draws
its configurations from the pool without replacement, runs Hyperband's brackets (the
scheduler's own bracket arithmetic, promotions continuing from the lower rung, so a promotion
costs only the epochs it lacks) until the budget is spent, and records

- the best loss among the models it trained to the full budget (what the benchmark scores), and
- the best full-budget loss among *all* the configurations it drew in brackets that reached
  the full budget within the budget: what Hyperband would get if every promotion were perfect.

Both are compared with full-budget BO's final median, read from the multi-fidelity results.
The pool is saved (``--results``, default ``benchmarks/results/hyperband_ceiling/``,
git-ignored), so ``--replay-only`` redraws the tables in seconds; the table goes to ``--out``
(default ``docs/benchmarks/hyperband_ceiling/<task>.md``).

    python -m benchmarks.multi_fidelity.hyperband_ceiling --task mlp-digits --configs 405
    python -m benchmarks.multi_fidelity.hyperband_ceiling --task torch-digits --configs 405
    python -m benchmarks.multi_fidelity.hyperband_ceiling --quick   # seconds, into a temp folder
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.folders import (
    docs_folder,
    quick_folder,
    read_json,
    results_folder,
    write_json,
)
from benchmarks.harness.machine import cpu_model
from benchmarks.multi_fidelity.fidelity_correlation import random_configurations, rungs
from benchmarks.multi_fidelity.report import Results
from benchmarks.multi_fidelity.run import DEFAULT_MULTIPLIER, RECORD_VERSION, folder_name
from benchmarks.multi_fidelity.tasks import LOSS_CAP, get_task
from hyperscout.schedulers._rungs import hyperband_brackets

NAME = "hyperband_ceiling"
FACTOR = 3


def train_pool(task_name: str, max_epochs: int, configs: int, seed: int) -> dict[str, Any]:
    """``configs`` random configurations trained to ``max_epochs``; losses at every rung."""
    task = get_task(task_name, max_epochs)
    task.warm_up()
    at = rungs(max_epochs, FACTOR)
    started = time.perf_counter()
    losses = []
    drawn = random_configurations(task.space, configs, seed)
    for i, values in enumerate(drawn):
        model = task.build(values, seed + i)
        row = []
        while model.epoch < max_epochs:
            model.train_epoch()
            if model.epoch in at:
                loss = model.val_loss()
                row.append(min(loss, LOSS_CAP) if math.isfinite(loss) else LOSS_CAP)
        losses.append(row)
    return {
        "task": task_name,
        "max_epochs": max_epochs,
        "seed": seed,
        "rungs": at,
        "configs": drawn,
        "losses": losses,
        "seconds": time.perf_counter() - started,
        "machine": f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }


def replay(
    losses: np.ndarray, at: Sequence[int], full: int, budget: float, rng: np.random.Generator
) -> tuple[float, float, int, int]:
    """One Hyperband run on the pool at full budget ``full`` (a rung of ``at``), stopped when
    ``budget`` epochs are spent.

    Returns the best loss of a model trained to ``full``, the best full-budget loss among the
    configurations of brackets that trained a model to ``full`` (perfect promotions), how many
    configurations it drew and how many models reached ``full``.
    """
    column = {b: at.index(b) for b in at if b <= full}
    order = rng.permutation(len(losses))
    drawn = 0
    spent = 0.0
    best, oracle, completed = math.inf, math.inf, 0
    while True:
        for bracket in hyperband_brackets(1, full, FACTOR):
            ids = order[drawn : drawn + bracket.rungs[0].n_configs]
            if len(ids) < bracket.rungs[0].n_configs:
                raise SystemExit("the pool is too small for this budget: raise --configs")
            drawn += len(ids)
            candidates = ids
            trained = {int(i): 0.0 for i in ids}
            for rung_index, rung in enumerate(bracket.rungs):
                b = int(rung.budget)
                for i in ids:
                    cost = b - trained[int(i)]
                    if spent + cost > budget:
                        return best, oracle, drawn, completed
                    spent += cost
                    trained[int(i)] = b
                    if b == full:
                        best = min(best, float(losses[i, column[full]]))
                        oracle = min(oracle, float(losses[candidates, column[full]].min()))
                        completed += 1
                if rung_index + 1 < len(bracket.rungs):
                    keep = bracket.rungs[rung_index + 1].n_configs
                    scores = losses[ids, column[b]]
                    ids = ids[np.argsort(scores, kind="stable")[:keep]]


def final_median(task: str, method: str, full: int, fraction: float = 1.0) -> float | None:
    """A method's median best full-budget score at ``fraction`` of the total budget, in the
    multi-fidelity results at full budget ``full`` (None where they are missing)."""
    raw = results_folder(folder_name(full))
    results = Results(raw, [task], [method], 10, DEFAULT_MULTIPLIER * full, RECORD_VERSION, full)
    if not results.has(task, method):
        return None
    return float(np.median(results.at(task, method, fraction)))


# The benchmark's references: what target 1 (full-budget BO at the end) and target 3 (Optuna
# TPE + HyperbandPruner at the end) ask random Hyperband to reach.
REFERENCES = (
    ("hs-bo", "full-budget BO's final median"),
    ("optuna-tpe-hb", "Optuna's final median"),
)


def _share(values: np.ndarray, target: float | None) -> str:
    return "-" if target is None else f"{np.mean(values <= target):.0%}"


def report(pool: dict[str, Any], replicates: int, fractions: Sequence[float]) -> str:
    task = get_task(pool["task"], pool["max_epochs"])
    # Regret for a synthetic task (scored as the benchmark scores it), the loss for a real one.
    losses = np.vectorize(task.score)(np.array(pool["losses"], dtype=float))
    at = list(pool["rungs"])
    # A synthetic task's losses depend on its full budget: only the pool's own applies.
    fulls = [pool["max_epochs"]] if task.is_synthetic else [b for b in at if b >= 27]
    lines = [
        f"### {task.title}: a pool of {len(losses)} random configurations",
        "",
        f"Trained to {pool['max_epochs']} epochs in {pool['seconds']:.0f} s ({pool['machine']}, "
        f"seed {pool['seed']}); {replicates} replays per row. *Hyperband* is the best model it "
        "trained to the full budget; *perfect* is the best full-budget loss among the "
        "configurations of its brackets that reached the full budget (every promotion right). "
        "The benchmark's own Hyperband runs (10 seeds) are given for comparison.",
        "",
    ]
    for full in fulls:
        total = DEFAULT_MULTIPLIER * full
        targets = {m: final_median(pool["task"], m, full) for m, _ in REFERENCES}
        named = ", ".join(
            f"{label} {'-' if targets[m] is None else format(targets[m], '.4g')}"
            for m, label in REFERENCES
        )
        lines += [
            f"Full budget {full} epochs, total {total} epochs; {named}.",
            "",
            "| spent | configurations drawn | trained to the full budget | Hyperband (median) | "
            "perfect (median) | benchmark's Hyperband (median) | Hyperband reaches BO | "
            "perfect reaches BO | Hyperband reaches Optuna | perfect reaches Optuna |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for fraction in fractions:
            rng = np.random.default_rng([pool["seed"], full, round(fraction * 1000)])
            runs = np.array(
                [replay(losses, at, full, fraction * total, rng) for _ in range(replicates)]
            )
            best, perfect, drawn, completed = runs.T
            measured = final_median(pool["task"], "hs-hyperband", full, fraction)
            bo, optuna = targets["hs-bo"], targets["optuna-tpe-hb"]
            lines.append(
                f"| {fraction:.0%} | {np.median(drawn):.0f} | {np.median(completed):.0f} | "
                f"{np.median(best):.4g} | {np.median(perfect):.4g} | "
                f"{'-' if measured is None else format(measured, '.4g')} | "
                f"{_share(best, bo)} | {_share(perfect, bo)} | {_share(best, optuna)} | "
                f"{_share(perfect, optuna)} |"
            )
        lines.append("")
    final = losses[:, at.index(pool["max_epochs"])]
    lines += [
        f"The pool at {pool['max_epochs']} epochs: best {final.min():.4g}, median "
        f"{np.median(final):.4g}, 1st percentile {np.percentile(final, 1):.4g}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", help="a task (default mlp-digits; --quick: synth-rho0.9)")
    parser.add_argument(
        "--max-epochs", type=int, help="the pool's training length (default 81; --quick: 9)"
    )
    parser.add_argument(
        "--configs", type=int, help="random configurations (default 405; --quick: 200)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--replicates", type=int, help="replays per row (default 2000; --quick: 20)"
    )
    parser.add_argument(
        "--out", type=Path, help=f"the table's folder (default docs/benchmarks/{NAME})"
    )
    parser.add_argument(
        "--results", type=Path, help=f"the pools' folder (default benchmarks/results/{NAME})"
    )
    parser.add_argument(
        "--replay-only", action="store_true", help="replay the saved pool, train nothing"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds, into a temp folder"
    )
    args = parser.parse_args(argv)
    quick = {"task": "synth-rho0.9", "max_epochs": 9, "configs": 200, "replicates": 20}
    full = {"task": "mlp-digits", "max_epochs": 81, "configs": 405, "replicates": 2000}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = quick_folder(NAME) if args.quick else docs_folder(NAME)
    if args.results is None:
        args.results = args.out / "raw" if args.quick else results_folder(NAME)
    raw = args.results / f"{args.task}-{args.max_epochs}-{args.configs}.json"
    if args.replay_only:
        pool = read_json(raw)
        if pool is None:
            raise SystemExit(f"No saved pool at {raw}: run without --replay-only first.")
    else:
        pool = train_pool(args.task, args.max_epochs, args.configs, args.seed)
        write_json(raw, pool)
    text = report(pool, args.replicates, (0.2, 0.5, 1.0))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.task}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
