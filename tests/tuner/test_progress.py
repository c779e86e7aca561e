"""The progress display of a running search."""

from __future__ import annotations

import io

from rich.console import Console

import hyperscout as hs
from hyperscout.trial import Trial, TrialState
from hyperscout.tuner.progress import SearchProgress

LOSS = hs.Objective("val_loss", "min")


def test_the_progress_best_so_far_prefers_a_higher_budget_to_a_better_value() -> None:
    out = io.StringIO()
    progress = SearchProgress(
        LOSS, total=4, enabled=True, per_trial=True, console=Console(file=out, width=200)
    )
    with progress:
        progress.start(0, None)
        for number, budget, value in [(0, 1, 0.1), (1, 3, 0.5), (2, 1, 0.05), (3, 3, 0.4)]:
            progress.advance(
                Trial(number, {"x": number}, TrialState.COMPLETE, value, budget=budget)
            )
    bests = [line.split("best=")[1].split()[0] for line in out.getvalue().splitlines()]
    assert bests == ["0.1", "0.5", "0.5", "0.4"]
    assert "budget=3" in out.getvalue().splitlines()[1]
