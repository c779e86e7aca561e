"""A worker that waits for another worker's trial looks again soon, then less and less often."""

from __future__ import annotations

from typing import Any

import hyperscout as hs


def objective(hp: hs.HyperParameters) -> float:
    return float(hp.Float("x", 0.0, 1.0))


def test_a_waiting_worker_looks_again_after_doubling_delays_up_to_poll_interval() -> None:
    storage = hs.MemoryStorage()
    kwargs: dict[str, Any] = {"max_trials": 1, "seed": 0, "storage": storage, "verbose": 0}
    other = hs.RandomSearch(objective, project_name="shared", **kwargs)
    hp, trial = other.ask()  # the study's only trial, running in another worker
    waiting = hs.RandomSearch(objective, project_name="shared", **kwargs)
    waiting.poll_interval = 0.1
    delays: list[float] = []
    next_delay = waiting._next_poll_delay

    def recorded() -> float:
        delays.append(next_delay())
        if len(delays) == 6:  # the other worker's trial ends during the sixth wait
            other.tell(trial, objective(hp))
        return delays[-1]

    waiting._next_poll_delay = recorded  # type: ignore[method-assign]
    waiting.search()
    # The first look 20 ms after the wait began, then twice as late each time, capped at
    # poll_interval; the search ended at the first look after the trial ended.
    assert delays == [0.02, 0.04, 0.08, 0.1, 0.1, 0.1]
    assert [t.state for t in waiting.trials] == [hs.TrialState.COMPLETE]
