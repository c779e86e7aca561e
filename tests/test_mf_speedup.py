"""The lecture's "10-20x faster" measured: speedups at several targets from saved records."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.harness.folders import cell_path
from benchmarks.multi_fidelity.report import Results
from benchmarks.multi_fidelity.run import RECORD_VERSION
from benchmarks.multi_fidelity.speedup import main, speedup_rows

TOTAL = 400


def save(raw: Path, method: str, seed: int, events: list[tuple[int, float]]) -> None:
    record = {
        "version": RECORD_VERSION,
        "task": "mlp-digits",
        "method": method,
        "seed": seed,
        "total_budget": TOTAL,
        "max_epochs": 10,
        "events": [[at, loss, loss] for at, loss in events],
    }
    path = cell_path(raw, "mlp-digits", method, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_speedups_are_the_ratio_of_the_budgets_that_reach_each_target(tmp_path: Path) -> None:
    for seed in range(3):
        # BO reaches 2.0 at epoch 40 and 1.0 at 200, and stays there: its losses at 10, 25,
        # 50 and 100 % of 400 epochs are 2.0, 2.0, 1.0 and 1.0.
        save(tmp_path, "hs-bo", seed, [(40, 2.0), (200, 1.0)])
        # Hyperband reaches 2.0 at 10 epochs (4x sooner) and never 1.0.
        save(tmp_path, "hs-hyperband", seed, [(10, 2.0), (300, 1.5)])
        # BOHB reaches 2.0 at 20 and 1.0 at 50 (2x and 4x sooner).
        save(tmp_path, "hs-bohb", seed, [(20, 2.0), (50, 1.0)])
    methods = ["hs-bo", "hs-hyperband", "hs-bohb"]
    results = Results(tmp_path, ["mlp-digits"], methods, 3, TOTAL, RECORD_VERSION, 10)
    rows = speedup_rows(results, "mlp-digits", "hs-bo", methods)
    assert rows == [
        ["hyperscout Hyperband", "3", "4.0x", "4.0x", "never", "never"],
        ["hyperscout BOHB", "3", "2.0x", "2.0x", "4.0x", "4.0x"],
    ]
    assert speedup_rows(results, "mlp-digits", "hs-random", methods) is None
    out = tmp_path / "speedup.md"
    assert (
        main(
            [
                f"--results={tmp_path}",
                "--tasks=mlp-digits",
                "--methods=" + ",".join(methods),
                "--seeds=3",
                "--max-epochs=10",
                f"--out={out}",
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "mlp-digits, full budget 10 epochs: against hyperscout BayesianOptimization" in text
    assert "| hyperscout BOHB | 3 | 2.0x | 2.0x | 4.0x | 4.0x |" in text
