"""The scripts in examples/ run as they are and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hyperscout.storage import open_storage
from hyperscout.storage.sql import sqlite_url

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_runs_30_trials_and_prints_the_best_values(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "Best val_accuracy: " in out
    best = float(out.split("Best val_accuracy: ")[1].split()[0])
    assert 0.0 < best <= 1.0
    values = out.split("Best values:\n")[1]
    for name in ("x", "lr", "units", "activation", "dropout"):
        assert f"  {name} = " in values
    assert "quickstart: best 5 of 30 trials" in out

    storage = open_storage(sqlite_url(tmp_path / "quickstart" / "hyperscout.db"))
    try:
        study = storage.load_study("quickstart")
        assert study is not None
        trials = storage.trials(study.id)
    finally:
        storage.close()
    assert len(trials) == 30
    assert best == pytest.approx(max(t.value for t in trials if t.value is not None), abs=1e-4)
    # The conditional rate exists exactly when dropout is on.
    assert all(("rate" in t.values) == t.values["dropout"] for t in trials)
    assert {t.values["dropout"] for t in trials} == {True, False}
