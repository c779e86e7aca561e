"""The sample-efficiency benchmark's results: saved runs in, markdown tables and figures out.

``run.py`` runs the benchmark and calls :func:`write_report` (and
:func:`write_timing_report` for ``--timing``); this module only reads the JSON files of the runs
(one per problem, method and seed) and draws from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness.folders import cell_path, read_json
from benchmarks.harness.machine import command_line, machine, versions
from benchmarks.harness.markdown import can_plot, figure_link, fmt, fmt_ms, md_table
from benchmarks.sample_efficiency.methods import METHODS, hyperscout_default_method
from benchmarks.sample_efficiency.problems import PROBLEMS

PEER_PACKAGES = (
    "hyperscout",
    "optuna",
    "hyperopt",
    "scikit-optimize",
    "keras-tuner",
    "keras",
    "torch",
    "scikit-learn",
    "numpy",
    "scipy",
    "matplotlib",
)
WINDOW = 2  # proposal time "at trial n" is the median over trials n-2 .. n+2


# -- reading results -----------------------------------------------------------------------------
class Results:
    """The saved runs of a set of problems, methods and seeds."""

    def __init__(
        self, raw: Path, problems: Sequence[str], methods: Sequence[str], seeds: int
    ) -> None:
        self.problems = list(problems)
        self.methods = list(methods)
        self.seeds = seeds
        self.records: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for problem in problems:
            for method in methods:
                found = [read_json(cell_path(raw, problem, method, s)) for s in range(seeds)]
                self.records[problem, method] = [r for r in found if r is not None]

    def has(self, problem: str, method: str) -> bool:
        return bool(self.records[problem, method])

    def scores(self, problem: str, method: str, budget: int) -> dict[int, float]:
        """Seed -> regret (or loss) of the best trial among the first ``budget``."""
        p = PROBLEMS[problem]
        return {
            r["seed"]: p.score(min(r["values"][:budget]))
            for r in self.records[problem, method]
            if len(r["values"]) >= budget
        }

    def curves(self, problem: str, method: str) -> np.ndarray:
        """Best so far, as regret or loss, one row per seed (the shortest run's length)."""
        runs = self.records[problem, method]
        if not runs:
            return np.empty((0, 0))
        n = min(len(r["values"]) for r in runs)
        best = np.minimum.accumulate(np.array([r["values"][:n] for r in runs]), axis=1)
        optimum = PROBLEMS[problem].optimum
        return best if optimum is None else np.maximum(best - optimum, 0.0)

    def timing(self, method: str, key: str, centre: int, problems: Sequence[str]) -> float | None:
        """Median of a per-trial time (seconds) over trials ``centre +- WINDOW``, all runs."""
        pooled: list[float] = []
        for problem in problems:
            for r in self.records[problem, method]:
                times = r[key]
                lo, hi = max(centre - WINDOW, 1), min(centre + WINDOW, len(times))
                pooled.extend(times[lo - 1 : hi])
        return float(np.median(pooled)) if pooled else None

    def median_wall(self, method: str) -> float | None:
        walls = [r["wall_s"] for p in self.problems for r in self.records[p, method]]
        return float(np.median(walls)) if walls else None


# -- the report ----------------------------------------------------------------------------------
def rank_table(results: Results, budgets: Sequence[int]) -> str:
    """Mean rank of each method across problems, by its median at each budget (1 is best)."""
    from scipy.stats import rankdata

    ranks: dict[tuple[str, int], list[float]] = {}
    for budget in budgets:
        for problem in results.problems:
            medians = {
                m: float(np.median(list(s.values())))
                for m in results.methods
                if (s := results.scores(problem, m, budget))
            }
            if len(medians) < 2:
                continue
            for method, rank in zip(medians, rankdata(list(medians.values())), strict=True):
                ranks.setdefault((method, budget), []).append(float(rank))
    rows = []
    for method in results.methods:
        counts = [len(ranks.get((method, b), [])) for b in budgets]
        if not any(counts):
            continue
        cells = [
            f"{np.mean(ranks[method, b]):.2f}" if ranks.get((method, b)) else "-" for b in budgets
        ]
        rows.append([METHODS[method].label, *cells, str(max(counts))])
    header = ["method", *(f"mean rank @{b}" for b in budgets), "problems"]
    return md_table(header, rows)


def win_table(results: Results, ours: str, theirs: str, budget: int) -> str:
    rows = []
    totals = [0, 0, 0]
    for problem in results.problems:
        a, b = results.scores(problem, ours, budget), results.scores(problem, theirs, budget)
        seeds = sorted(set(a) & set(b))
        if not seeds:
            continue
        counts = [0, 0, 0]  # wins, ties, losses
        for s in seeds:
            tolerance = 1e-12 * max(1.0, abs(a[s]), abs(b[s]))
            counts[0 if a[s] < b[s] - tolerance else 2 if a[s] > b[s] + tolerance else 1] += 1
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append([PROBLEMS[problem].title, *map(str, counts)])
    rows.append(["**all problems**", *(f"**{t}**" for t in totals)])
    return md_table(["problem", "wins", "ties", "losses"], rows)


def timing_table(results: Results, centres: Sequence[int]) -> str:
    rows = []
    last = max(centres)
    for method in results.methods:
        if not any(results.has(p, method) for p in results.problems):
            continue
        proposal = [
            fmt_ms(results.timing(method, "propose_s", c, results.problems)) for c in centres
        ]
        loop = fmt_ms(results.timing(method, "gap_s", last, results.problems))
        wall = results.median_wall(method)
        rows.append([METHODS[method].label, *proposal, loop, fmt(wall, 3)])
    header = [
        "method",
        *(f"proposal ms, trial ~{c}" for c in centres),
        f"loop outside objective ms, ~{last}",
        "median s per run",
    ]
    return md_table(header, rows)


def problem_table(results: Results, problem: str, budgets: Sequence[int]) -> str:
    medians: dict[tuple[str, int], float] = {}
    means: dict[tuple[str, int], float] = {}
    for method in results.methods:
        for b in budgets:
            scores = list(results.scores(problem, method, b).values())
            if scores:
                medians[method, b] = float(np.median(scores))
                means[method, b] = float(np.mean(scores))
    best = {b: min((v for (_, bb), v in medians.items() if bb == b), default=None) for b in budgets}
    rows = []
    for method in results.methods:
        if not results.has(problem, method):
            continue
        cells = []
        for b in budgets:
            median = medians.get((method, b))
            text = fmt(median)
            cells += [f"**{text}**" if median is not None and median == best[b] else text]
            cells += [fmt(means.get((method, b)))]
        rows.append([METHODS[method].label, *cells, str(len(results.records[problem, method]))])
    header = ["method"]
    for b in budgets:
        header += [f"median @{b}", f"mean @{b}"]
    return md_table([*header, "seeds"], rows)


def environment_section(skipped: dict[str, str]) -> list[str]:
    lines = ["### Machine and command", ""]
    lines += [f"- {k}: {v}" for k, v in machine().items()]
    lines += [f"- command: `{command_line()}`", ""]
    lines += [
        md_table(["package", "version"], [[k, v] for k, v in versions(PEER_PACKAGES).items()]),
        "",
    ]
    if skipped:
        lines += ["Skipped (library not importable when this ran):", ""]
        lines += [f"- {METHODS[m].label}: {why}" for m, why in skipped.items()]
        lines.append("")
    return lines


def write_report(
    out: Path,
    results: Results,
    budgets: Sequence[int],
    initial: int | None,
    win_budget: int,
    skipped: dict[str, str],
) -> Path:
    ours, ours_note = hyperscout_default_method()
    theirs = "optuna-gp"
    figure = plot_best_so_far(out / "best_so_far.png", results) if can_plot() else None
    seeds_text = f"seeds 0-{results.seeds - 1}" if results.seeds > 1 else "seed 0"
    lines = [
        "## Sample efficiency",
        "",
        f"{len(results.problems)} problems, {len(results.methods)} methods, {seeds_text}, "
        f"budgets {', '.join(map(str, budgets))} trials (each run goes to "
        f"{max(budgets)} once; the best so far is read at each budget). Initial random or "
        "space-filling trials: "
        + (f"{initial} for every method." if initial else "each method's own default (below).")
        + " Everything else is each library's default."
        + " Synthetic problems are scored by simple regret (best value found minus the known "
        "optimum), the real tuning tasks by their best 3-fold cross-validation error; lower is "
        "better for both.",
        "",
        "### Mean rank across problems",
        "",
        "Each method is ranked on each problem by its median over seeds (1 is best, ties share "
        "the mean rank), then the ranks are averaged over problems.",
        "",
        rank_table(results, budgets),
        "",
        f"### {METHODS[ours].label} (hyperscout's default) against Optuna GPSampler, "
        f"{win_budget} trials",
        "",
        f"Seed by seed, the lower best-so-far wins ({ours_note}).",
        "",
    ]
    if ours in results.methods and theirs in results.methods:
        lines += [win_table(results, ours, theirs, win_budget), ""]
    else:
        lines += [f"Not measured: this run lacks {ours} or {theirs}.", ""]
    lines += [
        "### Time per proposal",
        "",
        "Milliseconds a method spends choosing a trial, apart from the objective: the median "
        f"over trials n-{WINDOW} .. n+{WINDOW} of every problem and seed. hyperscout: the "
        "sampler's `sample()`; Optuna: `study.ask()` and the `suggest_*` calls; "
        "scikit-optimize: `ask()` plus the `tell()` that fitted the model; KerasTuner: "
        "`create_trial()`; Hyperopt: the `fmin` loop outside the objective. The loop column is "
        "all the time outside the objective (storage and bookkeeping included), measured alike "
        "for every method. One thread per process.",
        "",
        timing_table(results, budgets),
        "",
        "### Best so far",
        "",
        figure_link("Median best so far per problem, quartiles shaded", figure),
        "",
    ]
    for problem in results.problems:
        p = PROBLEMS[problem]
        measure = "simple regret" if p.is_synthetic else "cross-validation error (loss)"
        lines += [f"#### {p.title}: {measure}", ""]
        if p.note:
            lines += [f"{p.note[0].upper()}{p.note[1:]}.", ""]
        lines += [problem_table(results, problem, budgets), ""]
    lines += ["### Methods", ""]
    lines += [
        md_table(
            ["method", "name", "initial trials by default"],
            [[METHODS[m].label, f"`{m}`", METHODS[m].default_initial] for m in results.methods],
        ),
        "",
    ]
    lines += environment_section(skipped)
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


# -- figures -------------------------------------------------------------------------------------
def _style(method: str) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab10").colors
    index = list(METHODS).index(method)
    ours = method.startswith("hs-")
    return {
        "color": colours[index % len(colours)],
        "linestyle": "-" if ours else "--",
        "linewidth": 2.0 if ours else 1.3,
    }


def plot_best_so_far(path: Path, results: Results) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results.problems)
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, problem in zip(axes.flat, results.problems, strict=False):
        p = PROBLEMS[problem]
        for method in results.methods:
            curves = results.curves(problem, method)
            if curves.size == 0:
                continue
            if p.is_synthetic:
                curves = np.maximum(curves, 1e-10)  # a log axis; regret 0 drawn at 1e-10
            x = np.arange(1, curves.shape[1] + 1)
            style = _style(method)
            ax.plot(x, np.median(curves, axis=0), label=METHODS[method].label, **style)
            q1, q3 = np.percentile(curves, [25, 75], axis=0)
            ax.fill_between(x, q1, q3, color=style["color"], alpha=0.12, linewidth=0)
        ax.set_title(p.title, fontsize=10)
        ax.set_xlabel("trials")
        ax.set_ylabel("simple regret" if p.is_synthetic else "CV error")
        if p.is_synthetic:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    ncol = min(5, len(labels))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=9)
    # Room below the subplots for the legend's rows (inches, as a fraction of the height).
    legend_rows = -(-len(labels) // ncol) if labels else 0
    fig.tight_layout(rect=(0, (0.15 + 0.25 * legend_rows) / fig.get_figheight(), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_proposal_time(path: Path, sweeps: Sequence[tuple[str, Results]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(6 * len(sweeps), 4), squeeze=False)
    for ax, (title, results) in zip(axes.flat, sweeps, strict=True):
        problem = results.problems[0]
        for method in results.methods:
            runs = results.records[problem, method]
            if not runs:
                continue
            n = min(len(r["propose_s"]) for r in runs)
            times = np.median(np.array([r["propose_s"][:n] for r in runs]), axis=0) * 1e3
            ax.plot(np.arange(1, n + 1), times, label=METHODS[method].label, **_style(method))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("trial")
        ax.set_ylabel("proposal time (ms, median over seeds)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_timing_report(
    out: Path,
    sweeps: Sequence[tuple[str, Results, Sequence[int]]],
    seeds: int,
    skipped: dict[str, str],
) -> Path:
    """``timing.md`` and ``proposal_time.png``: proposal time against trial count."""
    curves = [(t, r) for t, r, _ in sweeps]
    figure = plot_proposal_time(out / "proposal_time.png", curves) if can_plot() else None
    lines = [
        "## Proposal time against trial count",
        "",
        f"Median milliseconds per proposal over trials n-{WINDOW} .. n+{WINDOW} and "
        f"{seeds} seed(s), one thread per process; timed as in the sample-efficiency report.",
        "",
    ]
    for title, results, centres in sweeps:
        rows = [
            [METHODS[m].label]
            + [fmt_ms(results.timing(m, "propose_s", c, results.problems)) for c in centres]
            for m in results.methods
            if results.has(results.problems[0], m)
        ]
        lines += [f"### {title}", "", md_table(["method", *(f"~{c}" for c in centres)], rows), ""]
    lines += [figure_link("Proposal time against trial count", figure), ""]
    lines += environment_section(skipped)
    report = out / "timing.md"
    report.write_text("\n".join(lines))
    return report
