"""The multi-fidelity benchmark's results: saved runs in, markdown tables and figures out.

``run.py`` runs the benchmark and calls :func:`write_report`; this module only reads the JSON
record of each (task, method, seed) and draws from them. The machine section and the table
helpers come from the harness (``benchmarks/harness/``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.folders import cell_path, read_json
from benchmarks.harness.machine import command_line, machine, versions
from benchmarks.harness.markdown import can_plot, figure_link, fmt, md_table
from benchmarks.multi_fidelity.methods import FACTOR, METHODS, hyperband_iteration_budget
from benchmarks.multi_fidelity.tasks import (
    LOSS_CAP,
    MAX_EPOCHS,
    Task,
    get_task,
    mf2_fidelity_correlation,
    synthetic_correlation,
)

__all__ = ["CHECKPOINTS", "RANKED", "RANK_CHECKPOINTS", "Results", "mean_ranks", "write_report"]

CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)  # fractions of the total budget
# The field of the anytime ranking: hyperscout's multi-fidelity methods and every peer
# (issue 16's targets); ranks are computed among those of them that ran.
RANKED = (
    "hs-bohb",
    "hs-hyperband",
    "hs-asha",
    "dehb",
    "smac-hb",
    "optuna-tpe-hb",
    "optuna-tpe-sha",
    "kt-hyperband",
)
RANK_CHECKPOINTS = (0.1, 0.3, 1.0)
SPEEDUP_TARGET = 5.0  # Hyperband reaches BO's final quality in at most a fifth of BO's budget
PACKAGES = (
    "hyperscout",
    "optuna",
    "keras-tuner",
    "dehb",
    "smac",
    "ConfigSpace",
    "mf2",
    "torch",
    "scikit-learn",
    "numpy",
    "scipy",
    "matplotlib",
)
_BIG = 1e300  # stands for "no full-budget result yet" inside percentiles


# -- reading results -------------------------------------------------------------------------------
def quantiles(a: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Percentiles over axis 0 where ``inf`` (no result yet) sorts last and stays ``inf``."""
    if a.shape[0] == 0:
        return np.full((len(qs), *a.shape[1:]), np.inf)
    out = np.percentile(np.where(np.isfinite(a), a, _BIG), qs, axis=0)
    return np.where(out >= _BIG * 1e-3, np.inf, out)


class Results:
    """The saved runs of a set of tasks, methods and seeds at one total budget and one full
    budget (``max_epochs``); a record of another total, full budget or version is left out."""

    def __init__(
        self,
        raw: Path,
        tasks: Sequence[str],
        methods: Sequence[str],
        seeds: int,
        total: int,
        version: int,
        max_epochs: int = MAX_EPOCHS,
    ) -> None:
        self.tasks = list(tasks)
        self.methods = list(methods)
        self.seeds = seeds
        self.total = total
        self.max_epochs = max_epochs
        self.grid = np.arange(1, total + 1)
        self.records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for task in tasks:
            for method in methods:
                found = [read_json(cell_path(raw, task, method, s)) for s in range(seeds)]
                self.records[task, method] = [
                    r
                    for r in found
                    if r is not None
                    and r.get("total_budget") == total
                    and r.get("max_epochs") == max_epochs
                    and r.get("version") == version
                ]

    def task(self, name: str) -> Task:
        """The task at this full budget."""
        return get_task(name, self.max_epochs)

    def has(self, task: str, method: str) -> bool:
        return bool(self.records.get((task, method)))

    def curves(self, task: str, method: str, *, full: bool = True) -> np.ndarray:
        """Best loss so far (regret for a synthetic task) at budgets 1..total, a row a seed.

        ``full``: among models trained to the full budget (else at any budget); ``inf``
        before the first.
        """
        t = self.task(task)
        rows = []
        for record in self.records.get((task, method), []):
            events = record["events"]
            budgets = np.array([e[0] for e in events], dtype=float)
            column = 1 if full else 2
            values = np.array([math.inf if e[column] is None else e[column] for e in events])
            values = np.minimum.accumulate(values) if len(values) else values
            row = np.full(len(self.grid), np.inf)
            if len(values):
                index = np.searchsorted(budgets, self.grid, side="right") - 1
                row = np.where(index >= 0, values[np.maximum(index, 0)], np.inf)
            if t.optimum is not None:
                row = np.where(np.isfinite(row), np.maximum(row - t.optimum, 0.0), np.inf)
            rows.append(row)
        return np.array(rows) if rows else np.empty((0, len(self.grid)))

    def at(self, task: str, method: str, fraction: float, *, full: bool = True) -> np.ndarray:
        """Each seed's best at ``fraction`` of the total budget."""
        curves = self.curves(task, method, full=full)
        return curves[:, max(round(fraction * self.total) - 1, 0)]

    def median_of(self, task: str, method: str, key: str) -> float | None:
        values = [r[key] for r in self.records.get((task, method), []) if key in r]
        return float(np.median(values)) if values else None


# -- tables ----------------------------------------------------------------------------------------
def _spread(values: np.ndarray) -> tuple[float, float, float]:
    q1, median, q3 = quantiles(values[:, None], (25, 50, 75))[:, 0]
    return float(median), float(q1), float(q3)


def _cell(values: np.ndarray) -> str:
    if values.size == 0:
        return "-"
    median, q1, q3 = _spread(values)
    if not math.isfinite(median):
        return "-"
    return f"{fmt(median)} [{fmt(q1)}, {fmt(q3)}]"


def checkpoint_table(results: Results, task: str) -> str:
    medians = {
        (m, c): _spread(results.at(task, m, c))[0]
        for m in results.methods
        if results.has(task, m)
        for c in CHECKPOINTS
    }
    best = {
        c: min((v for (_, cc), v in medians.items() if cc == c), default=None) for c in CHECKPOINTS
    }
    rows = []
    for method in results.methods:
        if not results.has(task, method):
            continue
        cells = []
        for c in CHECKPOINTS:
            text = _cell(results.at(task, method, c))
            bold = medians[method, c] == best[c] and math.isfinite(medians[method, c])
            cells.append(f"**{text}**" if bold else text)
        cells.append(_cell(results.at(task, method, 1.0, full=False)))
        rows.append([METHODS[method].label, *cells, str(len(results.records[task, method]))])
    header = [
        "method",
        *(f"@{c:.0%} ({round(c * results.total)} ep.)" for c in CHECKPOINTS),
        "any budget @100%",
        "seeds",
    ]
    return md_table(header, rows)


def runs_table(results: Results, task: str) -> str:
    rows = []
    for method in results.methods:
        if not results.has(task, method):
            continue
        records = results.records[task, method]
        spent = [r["spent"] for r in records]
        rows.append(
            [
                METHODS[method].label,
                fmt(results.median_of(task, method, "models")),
                fmt(results.median_of(task, method, "continued")),
                fmt(results.median_of(task, method, "completed")),
                f"{min(spent)}-{max(spent)}" if min(spent) != max(spent) else str(spent[0]),
                fmt(results.median_of(task, method, "wall_s")),
            ]
        )
    header = [
        "method",
        "new configurations",
        "continued from a checkpoint",
        f"trained to {results.max_epochs} epochs",
        "epochs spent",
        "wall s",
    ]
    return md_table(header, rows)


def _first_reach(curve: np.ndarray, target: float, grid: np.ndarray) -> float:
    """The first budget at which ``curve`` is at or below ``target`` (``inf``: never)."""
    hits = np.nonzero(curve <= target + 1e-12 * max(1.0, abs(target)))[0]
    return float(grid[hits[0]]) if hits.size else math.inf


def speedups(results: Results, task: str, reference: str = "hs-bo") -> dict[str, Any] | None:
    """The Hyperband paper's speedup against a full-budget method (BO by default), per method.

    ``target``: the reference's final median (over seeds); ``bo_budget``: the first budget at
    which the reference's median curve reaches it. For each method and seed, the first budget
    that seed's curve reaches the target; speedup = ``bo_budget`` / that budget (0 when never
    reached), then the median over seeds. ``curve_speedup``: the same from the method's median
    curve.
    """
    if not results.has(task, reference):
        return None
    bo = results.curves(task, reference)
    median_bo = quantiles(bo, (50,))[0]
    target = float(median_bo[-1])
    if not math.isfinite(target):
        return None
    bo_budget = _first_reach(median_bo, target, results.grid)
    rows: dict[str, dict[str, float]] = {}
    for method in results.methods:
        if not results.has(task, method):
            continue
        curves = results.curves(task, method)
        reach = np.array([_first_reach(row, target, results.grid) for row in curves])
        per_seed = np.where(np.isfinite(reach), bo_budget / reach, 0.0)
        from_median = _first_reach(quantiles(curves, (50,))[0], target, results.grid)
        rows[method] = {
            "reach_median": float(quantiles(reach[:, None], (50,))[0, 0]),
            "reached": int(np.isfinite(reach).sum()),
            "seeds": len(reach),
            "speedup": float(np.median(per_seed)),
            "curve_speedup": bo_budget / from_median if math.isfinite(from_median) else 0.0,
        }
    return {"target": target, "bo_budget": bo_budget, "rows": rows}


def speedup_table(info: dict[str, Any]) -> str:
    rows = []
    for method, row in info["rows"].items():
        reach = row["reach_median"]
        rows.append(
            [
                METHODS[method].label,
                fmt(reach, 4) if math.isfinite(reach) else "not reached",
                f"{row['reached']}/{row['seeds']}",
                f"{row['speedup']:.2f}x",
                f"{row['curve_speedup']:.2f}x" if row["curve_speedup"] > 0 else "not reached",
            ]
        )
    header = [
        "method",
        "epochs to reach it (median over seeds)",
        "seeds that reach it",
        "speedup (per seed, median)",
        "speedup (median curve)",
    ]
    return md_table(header, rows)


# -- anytime ranks ---------------------------------------------------------------------------------
def ranked_methods(results: Results, task: str) -> tuple[list[str], list[int]]:
    """The methods of :data:`RANKED` that ran on ``task``, and the seeds all of them ran."""
    methods = [m for m in RANKED if m in results.methods and results.has(task, m)]
    seeds = [
        s
        for s in range(results.seeds)
        if all(any(r["seed"] == s for r in results.records[task, m]) for m in methods)
    ]
    return methods, seeds


def _seed_values(results: Results, task: str, method: str, fraction: float) -> dict[int, float]:
    records = results.records[task, method]
    values = results.at(task, method, fraction)
    return {int(r["seed"]): float(v) for r, v in zip(records, values, strict=True)}


def mean_ranks(results: Results, task: str, fraction: float) -> dict[str, float]:
    """Each method's rank (1 = best) of its best full-budget loss at ``fraction`` of the
    budget among :func:`ranked_methods`, per seed (ties share the mean rank; no full-budget
    model yet ranks last), averaged over the seeds all of them ran."""
    from scipy.stats import rankdata

    methods, seeds = ranked_methods(results, task)
    if len(methods) < 2 or not seeds:
        return {}
    per_method = {m: _seed_values(results, task, m, fraction) for m in methods}
    ranks = np.array(
        [rankdata([per_method[m][s] for m in methods], method="average") for s in seeds]
    )
    return {m: float(ranks[:, i].mean()) for i, m in enumerate(methods)}


def rank_table(results: Results) -> str:
    """Mean rank per task at each of :data:`RANK_CHECKPOINTS`, and over the tasks."""
    columns = [m for m in RANKED if m in results.methods]
    rows = []
    overall: dict[tuple[str, float], list[float]] = {}
    counted: list[str] = []
    for task in results.tasks:
        methods, seeds = ranked_methods(results, task)
        if len(methods) < 2 or not seeds:
            continue
        counted.append(task)
        for c in RANK_CHECKPOINTS:
            ranks = mean_ranks(results, task, c)
            best = min(ranks.values())
            cells = []
            for m in columns:
                if m not in ranks:
                    cells.append("-")
                    continue
                overall.setdefault((m, c), []).append(ranks[m])
                text = f"{ranks[m]:.2f}"
                cells.append(f"**{text}**" if ranks[m] == best else text)
            rows.append([task, f"{c:.0%}", str(len(seeds)), *cells])
    for c in RANK_CHECKPOINTS:
        means = {m: float(np.mean(overall[m, c])) for m in columns if (m, c) in overall}
        if not means:
            continue
        best = min(means.values())
        cells = [
            "-"
            if m not in means
            else (f"**{means[m]:.2f}**" if means[m] == best else f"{means[m]:.2f}")
            for m in columns
        ]
        rows.append([f"mean over tasks ({len(counted)})", f"{c:.0%}", "", *cells])
    header = ["task", "budget", "seeds", *(METHODS[m].label for m in columns)]
    return md_table(header, rows)


def head_to_head(results: Results, ours: str = "hs-bohb") -> str:
    """``ours`` against each other ranked method: over every (task, seed) of the rank table,
    how often its best full-budget loss is lower, equal or higher at each rank checkpoint; and
    on how many tasks its median is lower."""
    rows = []
    for other in RANKED:
        if other == ours or other not in results.methods:
            continue
        cells = []
        for c in RANK_CHECKPOINTS:
            win = tie = loss = tasks_better = tasks = 0
            for task in results.tasks:
                if not (results.has(task, ours) and results.has(task, other)):
                    continue
                a = _seed_values(results, task, ours, c)
                b = _seed_values(results, task, other, c)
                # The seeds of the rank table (every ranked method ran them).
                common = sorted(set(a) & set(b) & set(ranked_methods(results, task)[1]))
                if not common:
                    continue
                tasks += 1
                for s in common:
                    if a[s] < b[s]:
                        win += 1
                    elif a[s] == b[s]:
                        tie += 1
                    else:
                        loss += 1
                mine = quantiles(np.array([[a[s]] for s in common]), (50,))[0, 0]
                theirs = quantiles(np.array([[b[s]] for s in common]), (50,))[0, 0]
                tasks_better += int(mine < theirs)
            cells.append(f"{win}/{tie}/{loss}, {tasks_better} of {tasks} tasks" if tasks else "-")
        rows.append([METHODS[other].label, *cells])
    header = [
        f"{METHODS[ours].label} against",
        *(f"@{c:.0%}: better/equal/worse seeds, median better on" for c in RANK_CHECKPOINTS),
    ]
    return md_table(header, rows)


# -- the targets -----------------------------------------------------------------------------------
def target_lines(results: Results, infos: dict[str, dict[str, Any] | None]) -> list[str]:
    lines: list[str] = []
    real = [t for t in results.tasks if not results.task(t).is_synthetic]

    # 1. Hyperband reaches BO's final quality with at most a fifth of BO's budget (real tasks).
    for task in real:
        info = infos.get(task)
        row = info["rows"].get("hs-hyperband") if info else None
        if row is None:
            lines.append(f"- Target 1, {task}: not measured (needs hs-bo and hs-hyperband).")
            continue
        ok = row["speedup"] >= SPEEDUP_TARGET
        lines.append(
            f"- Target 1, {task}: **{'PASS' if ok else 'FAIL'}**: Hyperband's speedup over "
            f"full-budget BO is {row['speedup']:.2f}x per seed (median; "
            f"{row['curve_speedup']:.2f}x from the median curves; "
            f"{row['reached']}/{row['seeds']} seeds reach BO's final median); "
            f"the target is >= {SPEEDUP_TARGET:g}x."
        )

    # 2. BOHB best, or tied within the seed spread, at every checkpoint, among the other
    # methods: BOHB's own variants (another model, all budgets) are reported, not competitors.
    for task in results.tasks:
        present = [
            m
            for m in results.methods
            if results.has(task, m) and (m == "hs-bohb" or not m.startswith("hs-bohb"))
        ]
        if "hs-bohb" not in present or len(present) < 2:
            lines.append(f"- Target 2, {task}: not measured (needs hs-bohb and another method).")
            continue
        verdicts = []
        ok = True
        for c in CHECKPOINTS:
            spreads = {m: _spread(results.at(task, m, c)) for m in present}
            leader = min(present, key=lambda m: spreads[m][0])
            bohb = spreads["hs-bohb"][0]
            tied = math.isfinite(bohb) and bohb <= spreads[leader][2]
            if not math.isfinite(spreads[leader][0]):
                verdicts.append(f"@{c:.0%} no method has a full-budget model yet")
                continue
            ok &= tied
            if leader == "hs-bohb":
                verdicts.append(f"@{c:.0%} best")
            else:
                verdicts.append(
                    f"@{c:.0%} {'tied with' if tied else 'behind'} "
                    f"{METHODS[leader].label} ({fmt(bohb)} vs {fmt(spreads[leader][0])} "
                    f"[.., {fmt(spreads[leader][2])}])"
                )
        lines.append(
            f"- Target 2, {task}: **{'PASS' if ok else 'FAIL'}**: " + "; ".join(verdicts) + "."
        )

    # 3. Hyperband and BOHB end better (median) than Optuna TPE + HyperbandPruner.
    for task in results.tasks:
        if not results.has(task, "optuna-tpe-hb"):
            lines.append(f"- Target 3, {task}: not measured (needs optuna-tpe-hb).")
            continue
        theirs = results.at(task, "optuna-tpe-hb", 1.0)
        parts = []
        ok = True
        for ours in ("hs-hyperband", "hs-bohb"):
            if not results.has(task, ours):
                parts.append(f"{ours} not measured")
                ok = False
                continue
            mine = results.at(task, ours, 1.0)
            better = _spread(mine)[0] < _spread(theirs)[0]
            ok &= better
            n = min(len(mine), len(theirs))
            wins = int(np.sum(mine[:n] < theirs[:n]))
            parts.append(f"{METHODS[ours].label} {fmt(_spread(mine)[0])} ({wins}/{n} seeds better)")
        lines.append(
            f"- Target 3, {task}: **{'PASS' if ok else 'FAIL'}**: "
            + ", ".join(parts)
            + f" against Optuna's {fmt(_spread(theirs)[0])} (final medians)."
        )
    return lines


# -- figures ---------------------------------------------------------------------------------------
def _style(method: str) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    colours = list(plt.get_cmap("tab10").colors) + list(plt.get_cmap("tab20").colors[1::2])
    index = list(METHODS).index(method)
    ours = METHODS[method].ours
    return {
        "color": colours[index % len(colours)],
        "linestyle": "-" if ours else "--",
        "linewidth": 2.0 if ours else 1.4,
    }


def plot_task(path: Path, results: Results, task: str, target: float | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = results.task(task)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    x = results.grid
    early = max(round(CHECKPOINTS[0] * results.total) - 1, 0)
    top, bottom = [], []  # the y range: every median from the first checkpoint on
    for method in results.methods:
        curves = results.curves(task, method)
        if curves.size == 0:
            continue
        q1, median, q3 = quantiles(curves, (25, 50, 75))
        top += [v for v in median[early:] if math.isfinite(v)]
        bottom += [v for v in q1 if math.isfinite(v)]
        style = _style(method)
        finite = np.isfinite(median)
        ax.plot(x[finite], median[finite], label=METHODS[method].label, **style)
        band = np.isfinite(q1) & np.isfinite(q3)
        ax.fill_between(x[band], q1[band], q3[band], color=style["color"], alpha=0.12, lw=0)
    if target is not None and math.isfinite(target):
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label="BO's final median")
    for c in CHECKPOINTS[:-1]:
        ax.axvline(c * results.total, color="black", alpha=0.15, linewidth=0.8)
    ax.set_yscale("log")
    if top and bottom and min(bottom) > 0:
        ax.set_ylim(min(bottom) / 1.1, max(top) * 1.3)
    ax.set_title(f"{t.title}: median and quartiles over seeds", fontsize=10)
    ax.set_xlabel(f"epochs spent (the full budget of one configuration is {t.max_epochs})")
    ax.set_ylabel(
        "regret of best full-budget loss" if t.is_synthetic else "best full-budget val. loss"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- the report ------------------------------------------------------------------------------------
def environment_section(skipped: dict[str, str]) -> list[str]:
    lines = ["### Machine and command", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += [f"- command: `{command_line()}`", ""]
    found = [[package, version] for package, version in versions(PACKAGES).items()]
    lines += [md_table(["package", "version"], found), ""]
    if skipped:
        lines += ["Skipped (library not importable when this ran):", ""]
        lines += [f"- {METHODS[m].label}: {why}" for m, why in skipped.items()]
        lines.append("")
    return lines


def _task_intro(task: Task) -> list[str]:
    lines = [f"### {task.title}", ""]
    measure = (
        f"Regret of the best full-budget loss (loss minus the known optimum {task.optimum:.4f})"
        if task.is_synthetic
        else f"Best full-budget {task.metric} (a diverged network counts as {LOSS_CAP:g})"
    )
    lines += [f"{measure}; {task.note}."]
    if task.name.startswith("mf2-"):
        pearson, spearman = mf2_fidelity_correlation(task.name, max_epochs=task.max_epochs)
        lines[-1] += (
            f" Measured on 4,000 random points: Pearson {pearson:.2f}, Spearman "
            f"{spearman:.2f} between the budget-1 and the full-budget losses."
        )
    if task.name.startswith("synth-rho"):
        rho = float(task.name.removeprefix("synth-rho"))
        pearson, spearman = synthetic_correlation(rho, max_epochs=task.max_epochs)
        lines[-1] += (
            f" Measured on 4,000 random points: Pearson {pearson:.2f}, Spearman "
            f"{spearman:.2f} between the budget-1 and the full-budget losses."
        )
    return [*lines, ""]


def write_report(
    out: Path, results: Results, skipped: dict[str, str], wall_s: float | None = None
) -> Path:
    max_epochs = results.max_epochs
    seeds_text = f"seeds 0-{results.seeds - 1}" if results.seeds > 1 else "seed 0"
    per_iteration = hyperband_iteration_budget(max_epochs, FACTOR)
    lines = [
        "## Multi-fidelity: budgets in epochs",
        "",
        f"{len(results.tasks)} tasks, {len(results.methods)} methods, {seeds_text}. Every run "
        f"may train {results.total} epochs in all ({results.total / max_epochs:g} full-budget "
        f"trainings of {max_epochs} epochs; one Hyperband iteration with factor {FACTOR} trains "
        f"{per_iteration} when promotions continue from their checkpoints). Epochs are counted "
        "as they are trained: a configuration promoted to a higher rung restores its "
        "lower-rung model and trains only the epochs it lacks, so continuation saves budget; "
        "a run stops the moment its total is spent, mid-trial if need be.",
        "",
        "**Best validation loss** is that of the best model *trained to the full budget* "
        f"({max_epochs} epochs), as in the Hyperband paper's curves: a low-budget evaluation "
        "alone never counts. The tables also give the best loss at any budget at the end. "
        "Medians over seeds, with the quartiles in brackets; the lowest median at each "
        "checkpoint in bold; `-` where most seeds have no full-budget model yet.",
        "",
        "**Speedup**, as the Hyperband paper measures it: the budget full-budget "
        "BayesianOptimization's median curve needs to reach its final median value, divided "
        "by the budget a method needs to reach that value; computed per seed (0 when a seed "
        "never reaches it), then the median, and also from the method's median curve.",
        "",
    ]
    infos: dict[str, dict[str, Any] | None] = {}
    task_lines: list[str] = []
    for task in results.tasks:
        t = results.task(task)
        info = speedups(results, task)
        infos[task] = info
        target = info["target"] if info else None
        figure = (
            plot_task(out / f"anytime_{task}.png", results, task, target) if can_plot() else None
        )
        task_lines += _task_intro(t)
        task_lines += [checkpoint_table(results, task), ""]
        if info is not None:
            task_lines += [
                f"Speedup against full-budget BO: its final median is {fmt(info['target'], 4)}, "
                f"which its median curve reaches at {info['bo_budget']:g} epochs.",
                "",
                speedup_table(info),
                "",
            ]
        against_random = speedups(results, task, reference="hs-random")
        if against_random is not None:
            task_lines += [
                "Speedup against full-budget random search (the Hyperband paper's other "
                f"reference): its final median is {fmt(against_random['target'], 4)}, which its "
                f"median curve reaches at {against_random['bo_budget']:g} epochs.",
                "",
                speedup_table(against_random),
                "",
            ]
        task_lines += [
            figure_link(f"{t.title}: best full-budget loss against epochs spent", figure),
            "",
            "Runs (medians per run):",
            "",
            runs_table(results, task),
            "",
        ]
    lines += [
        "### Anytime ranks",
        "",
        "Mean rank (1 = best) of the best full-budget loss at "
        + ", ".join(f"{c:.0%}" for c in RANK_CHECKPOINTS)
        + " of the total budget among hyperscout's Hyperband, BOHB and ASHA and the peers "
        "that ran: per seed (ties share the mean rank; no full-budget model yet ranks "
        "last), then the mean over the seeds every one of them ran; the last rows average "
        "the tasks. The lowest in bold.",
        "",
        rank_table(results),
        "",
        "BOHB head to head: over every (task, seed) of the rank table, how often BOHB's best "
        "full-budget loss is lower / equal / higher than the peer's, and on how many tasks "
        "its median is lower.",
        "",
        head_to_head(results),
        "",
    ]
    lines += ["### Targets", ""]
    lines += [
        "Target 1: Hyperband's speedup over full-budget BO is at least "
        f"{SPEEDUP_TARGET:g} on the real tasks. Target 2: BOHB's median is the best, or "
        "tied (at or below the upper quartile of the best method), at every checkpoint, "
        "among the other methods (BOHB's variants with TPE or with all budgets are reported "
        "beside it but are not its competitors). "
        "Target 3: Hyperband's and BOHB's final medians are below Optuna TPE + "
        "HyperbandPruner's.",
        "",
        *target_lines(results, infos),
        "",
    ]
    lines += task_lines
    lines += ["### Methods", ""]
    lines += [
        md_table(
            ["method", "name", "settings"],
            [
                [METHODS[m].label, f"`{m}`", METHODS[m].settings(max_epochs)]
                for m in results.methods
            ],
        ),
        "",
        "Notes:",
        "",
        "- Every method runs with one worker, ASHA included (its promotions are then "
        "deterministic); the comparison is in epochs, not seconds.",
        "- Optuna has no checkpoints: each trial trains from scratch and the pruner stops it "
        "at a rung; a trial that goes on keeps training, so Optuna spends nothing twice either.",
        "- KerasTuner: its `HyperbandOracle` is driven directly, as `keras_tuner.Hyperband` "
        "drives it (`tuner/epochs`, `tuner/initial_epoch`, `tuner/trial_id`), on the same "
        "trainers as every other method. Wrapping the trainers in Keras models would change "
        "the task (another training loop, initialisation and optimiser), so that the "
        "comparison would measure Keras against PyTorch and scikit-learn rather than one "
        "tuner against another; and the scikit-learn and synthetic tasks have no Keras model.",
        "- `SuccessiveHalving` runs one bracket per search; it is started again with new "
        "configurations until the budget is spent.",
        "- DEHB, SMAC3 and Optuna + SuccessiveHalvingPruner run through their ask/tell "
        "interfaces (`benchmarks/multi_fidelity/peers.py`). A job continues a lower budget's "
        "model when the peer asks for a configuration it trained before: SMAC's Hyperband "
        "promotes the same configuration, so every promotion continues; DEHB promotes "
        "(same `config_id`, continued) only in its first Hyperband iteration, and every later "
        "job is a new mutant trained from scratch, as DEHB intends; an Optuna trial is one "
        "training that goes on until pruned. SMAC's `n_trials` only sizes its initial "
        "design (ten configurations per hyperparameter at this budget); DEHB's "
        '`save_freq="end"` only keeps it from writing its history to disk.',
        "",
    ]
    if wall_s is not None:
        lines += [f"The runs of this invocation took {wall_s:.0f} s.", ""]
    lines += environment_section(skipped)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report
