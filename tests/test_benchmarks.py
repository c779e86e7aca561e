"""Smoke tests of the benchmarks: each family's quick mode runs and writes what it should.

Every script runs as documented (``python -m benchmarks.<family>.<script> --quick``), in a
fresh process whose working directory is pytest's ``tmp_path`` and whose output goes there,
never into the repository. hyperscout's own methods always run; the peers (Optuna, Hyperopt,
scikit-optimize, KerasTuner) come with the ``bench`` extra, not the ``test`` one, and each
peer's part is skipped, with the reason, when its package is missing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hyperscout

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]
PEERS = {  # method of the sample-efficiency benchmark -> the package it needs
    "optuna-tpe": "optuna",
    "hyperopt-tpe": "hyperopt",
    "skopt-gp": "skopt",
    "keras-bo": "keras_tuner",
}
MF_PEERS = {
    "optuna-tpe-hb": "optuna",
    "optuna-tpe-sha": "optuna",
    "kt-hyperband": "keras_tuner",
    "dehb": "dehb",
    "smac-hb": "smac",
}


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def installed_peers(peers: dict[str, str]) -> list[str]:
    return [method for method, package in peers.items() if installed(package)]


def skip_unless_installed(package: str) -> None:
    if not installed(package):
        pytest.skip(f"{package} is not installed (it comes with the bench extra)")


def run_benchmark(module: str, *args: str, cwd: Path) -> str:
    """``python -m <module> <args>`` from ``cwd``; its standard output (fails on exit != 0)."""
    # The repository (for the benchmarks package) and the hyperscout this test imports.
    paths = [str(REPO), str(Path(hyperscout.__file__).resolve().parents[1])]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
        "KERAS_BACKEND": "torch",
    }
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert done.returncode == 0, f"{module} {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def read(path: Path) -> Any:
    return json.loads(path.read_text())


# -- sample efficiency ---------------------------------------------------------------------------
SE_OURS = ["hs-random", "hs-tpe", "hs-gp"]
SE_SEEDS, SE_BUDGET = 2, 8


@pytest.fixture(scope="module")
def sample_efficiency(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample_efficiency")
    methods = ",".join(SE_OURS + installed_peers(PEERS))
    run_benchmark(
        "benchmarks.sample_efficiency.run",
        "--quick",
        "--problems=branin",
        f"--methods={methods}",
        f"--seeds={SE_SEEDS}",
        f"--budgets=4,{SE_BUDGET}",
        "--initial-points=3",
        f"--out={out}",
        cwd=out,
    )
    return out


def check_sample_efficiency_runs(out: Path, method: str) -> None:
    for seed in range(SE_SEEDS):
        record = read(out / "raw" / "branin" / method / f"seed{seed}.json")
        assert (record["method"], record["seed"], record["budget"]) == (method, seed, SE_BUDGET)
        values = record["values"]
        assert len(values) == len(record["propose_s"]) == SE_BUDGET
        # Branin's minimum is 0.397887: no value below it, none infinite.
        assert all(math.isfinite(v) and v >= record["optimum"] - 1e-9 for v in values)
        assert all(t >= 0 for t in record["propose_s"] + record["eval_s"])


def test_sample_efficiency_quick_hyperscout(sample_efficiency: Path) -> None:
    for method in SE_OURS:
        check_sample_efficiency_runs(sample_efficiency, method)
    report = (sample_efficiency / "report.md").read_text()
    assert report.startswith("## Sample efficiency")
    assert "| hyperscout GP |" in report and "### Machine and command" in report
    assert "python -m benchmarks.sample_efficiency.run --quick" in report
    assert (sample_efficiency / "best_so_far.png").exists() == installed("matplotlib")


@pytest.mark.parametrize("method", list(PEERS))
def test_sample_efficiency_quick_peers(sample_efficiency: Path, method: str) -> None:
    skip_unless_installed(PEERS[method])
    check_sample_efficiency_runs(sample_efficiency, method)


# -- multi-fidelity ------------------------------------------------------------------------------
MF_OURS = ["hs-random", "hs-sh", "hs-hyperband", "hs-asha", "hs-bohb"]
MF_TOTAL = 4 * 9  # --total-budget 4 full trainings of --max-epochs 9


@pytest.fixture(scope="module")
def multi_fidelity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("multi_fidelity")
    methods = ",".join(MF_OURS + installed_peers(MF_PEERS))
    run_benchmark(
        "benchmarks.multi_fidelity.run",
        "--quick",
        "--tasks=synth-rho0.9",
        f"--methods={methods}",
        "--seeds=1",
        "--max-epochs=9",
        "--total-budget=4",
        f"--out={out}",
        cwd=out,
    )
    return out


def check_multi_fidelity_run(out: Path, method: str) -> None:
    record = read(out / "raw" / "synth-rho0.9" / method / "seed0.json")
    assert (record["method"], record["max_epochs"], record["total_budget"]) == (
        method,
        9,
        MF_TOTAL,
    )
    # The meter stops a run at the budget; a strategy may finish below it, never above.
    assert 0 < record["spent"] <= MF_TOTAL
    assert record["stopped_by"] in ("budget", "strategy")
    full = [event[1] for event in record["events"] if event[1] is not None]
    assert full, "no model trained to the full budget"
    assert all(math.isfinite(loss) for loss in full)


def test_multi_fidelity_quick_hyperscout(multi_fidelity: Path) -> None:
    for method in MF_OURS:
        check_multi_fidelity_run(multi_fidelity, method)
    report = (multi_fidelity / "report.md").read_text()
    assert "hyperscout Hyperband" in report and "### Machine and command" in report


@pytest.mark.parametrize("method", list(MF_PEERS))
def test_multi_fidelity_quick_peers(multi_fidelity: Path, method: str) -> None:
    skip_unless_installed(MF_PEERS[method])
    check_multi_fidelity_run(multi_fidelity, method)


def test_parallel_simulation_quick(tmp_path: Path) -> None:
    """``parallel_sim --quick``: every method with 1 and 4 simulated workers, one seed."""
    methods = ["hs-random", "hs-hyperband", "hs-bohb", "hs-asha", "hs-asha-bohb"]
    methods += ["optuna-tpe-hb"] if installed("optuna") else []
    run_benchmark(
        "benchmarks.multi_fidelity.parallel_sim",
        "--quick",
        "--workers=1,4",
        f"--methods={','.join(methods)}",
        f"--out={tmp_path}",
        cwd=tmp_path,
    )
    for method in methods:
        for workers, horizon in ((1, 72.0), (4, 18.0)):  # 8 x 9 epochs over N, at least 2 x 9
            record = read(tmp_path / "raw" / "synth-rho0.9" / method / f"w{workers}" / "seed0.json")
            assert (record["workers"], record["horizon"], record["end"]) == (
                workers,
                horizon,
                horizon,
            )
            assert 0.0 <= record["idle_fraction"] <= 1.0
            assert record["busy"] <= workers * horizon
            assert record["trace"], f"{method} N={workers}: no model trained to the full budget"
    report = (tmp_path / "report.md").read_text()
    assert "## N = 4 workers" in report and "| method | rank @10% | @30% | @100% |" in report


def test_fidelity_correlation_quick(tmp_path: Path) -> None:
    printed = run_benchmark(
        "benchmarks.multi_fidelity.fidelity_correlation", "--quick", cwd=tmp_path
    )
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["1", "3"]  # rungs below 9
    for row in rows[1:]:
        assert -1.0 <= float(row.split("|")[2]) <= 1.0  # a Spearman correlation


def test_hyperband_ceiling_quick(tmp_path: Path) -> None:
    run_benchmark(
        "benchmarks.multi_fidelity.hyperband_ceiling", "--quick", f"--out={tmp_path}", cwd=tmp_path
    )
    pool = read(tmp_path / "raw" / "synth-rho0.9-9-200.json")
    assert len(pool["losses"]) == len(pool["configs"]) == 200
    assert pool["rungs"] == [1, 3, 9]
    table = (tmp_path / "synth-rho0.9.md").read_text()
    for spent in ("| 20% |", "| 50% |", "| 100% |"):
        assert spent in table


def test_processes_quick(tmp_path: Path) -> None:
    run_benchmark("benchmarks.processes", "--quick", f"--out={tmp_path}", cwd=tmp_path)
    found = read(tmp_path / "results.json")
    arguments = found["arguments"]
    assert arguments["trials"] == 6 and arguments["megabytes"] == pytest.approx(1.0)
    assert set(arguments["results"]) == {"once per worker process", "with every trial"}
    startup = found["startup"]
    assert "spawn" in startup["start_methods"] and startup["trials"] == 4
    for method in startup["start_methods"].values():
        assert 0 < method["worker_cpu_before_first_trial_s"] < 60
    assert set(startup["imports_cpu_s"]["this tree"]) >= {"import hyperscout", "import sqlalchemy"}
    assert "| sent once per worker process |" in (tmp_path / "report.md").read_text()


def test_conditional_stopping_quick(tmp_path: Path) -> None:
    run_benchmark(
        "benchmarks.sample_efficiency.conditional_stopping",
        "--quick",
        f"--out={tmp_path}",
        cwd=tmp_path,
    )
    found = read(tmp_path / "conditional_stopping.json")
    assert [row["method"] for row in found["rows"]] == ["GP (AutoSampler)", "TPE", "random"]
    for row in found["rows"]:
        assert row["trials"] == 2 * 12
        assert 0.125 - 1e-9 <= row["median_best"] <= row["mean_best"] + 1  # optimum 0.125
        assert 0 <= row["stopped"] <= 12


# -- parallel and overhead -----------------------------------------------------------------------
def test_parallel_quick(tmp_path: Path) -> None:
    run_benchmark("benchmarks.parallel.run", "--quick", f"--out={tmp_path}", cwd=tmp_path)
    found = read(tmp_path / "results.json")
    rows = found["rows"]
    setups = ["ThreadExecutor", "ProcessExecutor"]
    expected = [("sleep", s, n) for s in setups for n in (1, 2)] + [("asha", setups[0], 2)]
    assert [(r["group"], r["setup"], r["workers"]) for r in rows] == expected
    for r in rows:
        if r["group"] == "sleep":  # 3 trials per worker, every one read back from storage
            assert r["trials"] == 3 * r["workers"]
        assert 0 < r["first_trial_s"] <= r["all_busy_s"] < r["wall_s"]
        assert 0.0 <= r["idle_fraction"] <= 1.0
    # One worker, or threads of one process (which both start at once): a steady state.
    steady = [r for r in rows if r["group"] == "sleep" and (r["workers"] == 1 or r is rows[1])]
    for r in steady:
        assert r["steady_pairs"] >= 2 and r["steady_trials_per_s"] > 0
        assert r["overhead_ms"] is not None
    assert rows[1]["workers_seen"] == 2
    assert rows[1]["efficiency"] == pytest.approx(
        rows[1]["steady_trials_per_s"] / (2 * rows[0]["steady_trials_per_s"])
    )
    report = (tmp_path / "README.md").read_text()
    assert "| ProcessExecutor | 2 | 6 |" in report and "load average before the run" in report


def test_parallel_steady_state_leaves_start_up_and_drain_out() -> None:
    from benchmarks.parallel.analysis import Record, measure

    # Worker a starts at 1 s, worker b at 3 s (slow start-up); each then runs trials of 0.5 s
    # with 0.1 s between them; a's last trial starts at 5.8 s, b's at 5.4 s; b then drains.
    a = [Record(1.0 + 0.6 * k, 1.5 + 0.6 * k, "a") for k in range(9)]
    b = [Record(3.0 + 0.6 * k, 3.5 + 0.6 * k, "b") for k in range(5)]
    row = measure(a + b, 2, launched=0.0, ended=7.0, trial_seconds=0.5)
    assert row["first_trial_s"] == 1.0 and row["all_busy_s"] == 3.0
    assert row["cycle_s"] == pytest.approx(0.6)  # from pairs after 3 s only
    assert row["steady_pairs"] == 4 + 4  # a: starts at 3.4 ... 5.8; b: 3.0 ... 5.4
    assert row["overhead_ms"] == pytest.approx(100.0)
    assert row["steady_trials_per_s"] == pytest.approx(2 / 0.6)
    assert row["end_to_end_trials_per_s"] == pytest.approx(14 / 7.0)
    # From all busy (3 s) to the last end (6.3 s): a's trial of 2.8 s is busy 0.3 s of it.
    busy = 0.3 + 5 * 0.5 + 5 * 0.5
    assert row["idle_fraction"] == pytest.approx(1 - busy / (2 * 3.3))


@pytest.fixture(scope="module")
def overhead(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("overhead")
    run_benchmark("benchmarks.overhead", "--quick", "--trials=20", f"--out={out}", cwd=out)
    assert (out / "report.md").read_text().startswith("# What hyperscout itself costs")
    results: dict[str, Any] = read(out / "results.json")
    return results


def test_overhead_quick_hyperscout(overhead: dict[str, Any]) -> None:
    imported = {r["module"]: r for r in overhead["import"]}
    ours = imported["hyperscout"]
    assert ours["repeats"] == len(ours["runs_s"]) == 3
    assert 0 < ours["min_s"] <= ours["median_s"] <= ours["max_s"] < 60
    assert overhead["machine"]["CPU"] and int(overhead["machine"]["cores"]) >= 1
    storages = [r["storage"] for r in overhead["trials"] if r["tuner"].startswith("hyperscout")]
    assert storages == ["memory", "sqlite"]
    assert all(r["ms_per_trial"] > 0 for r in overhead["trials"])


def test_overhead_quick_optuna(overhead: dict[str, Any]) -> None:
    skip_unless_installed("optuna")
    assert "optuna" in {r["module"] for r in overhead["import"]}
    assert [r["storage"] for r in overhead["trials"] if r["tuner"].startswith("Optuna")] == [
        "memory",
        "sqlite",
    ]


# -- the report's rendering time -----------------------------------------------------------------
def test_report_render_quick(tmp_path: Path) -> None:
    out = run_benchmark("benchmarks.report_render", "--quick", cwd=tmp_path)
    assert out.startswith("200 trials (")
    assert "figures: history, importance, slices, contour" in out
    timings = {
        match.group(1): float(match.group(2))
        for match in re.finditer(r"^  (\w+)\s+([\d.]+) s$", out, flags=re.MULTILINE)
    }
    assert {"all_figures", "to_json", "write_report"} <= timings.keys()
    assert all(value > 0 for value in timings.values())
    assert list(tmp_path.iterdir()) == []  # it writes nothing where it runs
