"""The median stopping rule: stop a trial that does worse than the typical trial did by now.

Golovin et al. (2017, "Google Vizier: a service for black-box optimization", KDD) stop a
running trial at step ``t`` when its best reported value so far is strictly worse than the
median of the values other trials reported at step ``t``. The rule needs no budget ladder and
no parameters worth tuning, and works with any sampler and any objective that calls
``trial.report(step, metric=...)``; it is Optuna's ``MedianPruner`` and Ray Tune's
``MedianStoppingRule``.

As in Optuna, the other trials are the complete ones (the stopped ones reported only their
worse beginnings), the rule waits for ``n_startup_trials`` of them, a trial is not stopped
before ``n_warmup_steps``, and then it is judged every ``interval_steps`` steps.
"""

from __future__ import annotations

import statistics
from typing import Any

from hyperscout._validation import check_int, plain
from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.schedulers._rungs import check_metric, metric_objective, metric_settings
from hyperscout.schedulers.base import Decision
from hyperscout.schedulers.fifo import FIFOScheduler
from hyperscout.trial import Trial, TrialState

__all__ = ["MedianStoppingScheduler"]


class MedianStoppingScheduler(FIFOScheduler):
    """Stops a trial whose best report so far is worse than the median of others at that step.

    Trials run the sampler's proposals at full budget, as with :class:`FIFOScheduler`.

    Args:
        n_startup_trials: complete trials before any trial is stopped.
        n_warmup_steps: steps of a trial before it may be stopped (step ``< n_warmup_steps``
            is never judged).
        interval_steps: judge a trial at steps ``n_warmup_steps + k * interval_steps`` only.
        metric: the reported metric to compare; default the objective. A name other than the
            objective's has its direction inferred, or pass an :class:`~hyperscout.Objective`.

    >>> from hyperscout.objective import Objective
    >>> from hyperscout.trial import Trial, TrialState
    >>> done = [Trial(i, {"x": i}, TrialState.COMPLETE, value=v, intermediate={1: {"loss": v}})
    ...         for i, v in enumerate([0.2, 0.3, 0.4])]
    >>> history = History(done, Objective("loss"))
    >>> rule = MedianStoppingScheduler(n_startup_trials=3)
    >>> rule.on_report(Trial(3, {"x": 3}, TrialState.RUNNING, intermediate={1: {"loss": 0.9}}),
    ...                history)
    <Decision.STOP: 'stop'>
    >>> rule.on_report(Trial(4, {"x": 4}, TrialState.RUNNING, intermediate={1: {"loss": 0.1}}),
    ...                history)
    <Decision.CONTINUE: 'continue'>
    """

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        metric: Objective | str | None = None,
    ) -> None:
        owner = "MedianStoppingScheduler"
        check_int(owner, "n_startup_trials", plain(n_startup_trials), minimum=0)
        check_int(owner, "n_warmup_steps", plain(n_warmup_steps), minimum=0)
        check_int(owner, "interval_steps", plain(interval_steps), minimum=1)
        self.n_startup_trials = int(n_startup_trials)
        self.n_warmup_steps = int(n_warmup_steps)
        self.interval_steps = int(interval_steps)
        self.metric = check_metric(owner, metric)

    def on_report(self, trial: Trial, history: History) -> Decision:
        """STOP when the trial's best report so far is worse than the median at this step."""
        objective = metric_objective(self.metric, history)
        name = objective.name
        reported = {s: m[name] for s, m in trial.intermediate.items() if name in m}
        if not reported:
            return Decision.CONTINUE
        step = max(reported)
        if step < self.n_warmup_steps or (step - self.n_warmup_steps) % self.interval_steps:
            return Decision.CONTINUE
        complete = [
            t for t in history if t.state is TrialState.COMPLETE and t.number != trial.number
        ]
        if len(complete) < self.n_startup_trials:
            return Decision.CONTINUE
        others = [
            objective.loss(t.intermediate[step][name])
            for t in complete
            if name in t.intermediate.get(step, {})
        ]
        if not others:
            return Decision.CONTINUE
        best = min(objective.loss(v) for v in reported.values())
        return Decision.STOP if best > statistics.median(others) else Decision.CONTINUE

    def settings(self) -> dict[str, Any]:
        return {
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "interval_steps": self.interval_steps,
            "metric": metric_settings(self.metric),
        }

    def __repr__(self) -> str:
        return (
            f"MedianStoppingScheduler(n_startup_trials={self.n_startup_trials}, "
            f"n_warmup_steps={self.n_warmup_steps}, interval_steps={self.interval_steps}, "
            f"metric={self.metric!r})"
        )
