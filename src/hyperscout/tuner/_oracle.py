"""``tuner.oracle``: a read-only view of a tuner under KerasTuner's oracle's names.

KerasTuner code reads results through the oracle (``tuner.oracle.get_best_trials(n)``,
``tuner.oracle.trials[trial_id]``, ``tuner.oracle.objective``). In hyperscout the study's
storage holds the trials and the tuner's sampler and scheduler decide, so :class:`OracleView`
only reads: every answer comes from the tuner, none is kept here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial

if TYPE_CHECKING:
    from hyperscout.tuner import Tuner

__all__ = ["OracleView"]


class OracleView:
    """KerasTuner's ``tuner.oracle``, read-only: the trials, the best ones, the space.

    Args:
        tuner: the tuner whose study is read.

    >>> import hyperscout as hs
    >>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3, seed=0,
    ...                         storage="memory", verbose=0)
    >>> tuner.search()
    >>> best = tuner.oracle.get_best_trials(1)[0]
    >>> best.score == min(t.score for t in tuner.oracle.trials.values())
    True
    >>> tuner.oracle.get_trial(best.trial_id).hyperparameters.values == best.values
    True
    """

    def __init__(self, tuner: Tuner) -> None:
        self._tuner = tuner

    @property
    def objective(self) -> Objective:
        """The metric the search optimises, and its direction."""
        return self._tuner.objective

    @property
    def max_trials(self) -> int | None:
        """The tuner's ``max_trials``."""
        return self._tuner.max_trials

    @property
    def trials(self) -> dict[str, Trial]:
        """Every trial of the study by its ``trial_id``, in order."""
        return {trial.trial_id: trial for trial in self._tuner.trials}

    @property
    def hyperparameters(self) -> HyperParameters:
        """The search space as known so far (a copy)."""
        return self._tuner.hyperparameters

    def get_space(self) -> HyperParameters:
        """The search space as known so far (a copy), as KerasTuner's ``oracle.get_space()``."""
        return self._tuner.hyperparameters

    def get_trial(self, trial_id: str) -> Trial:
        """The trial whose ``trial_id`` (or number) is ``trial_id``.

        Raises:
            KeyError: no trial of the study has that id.
        """
        for trial in self._tuner.trials:
            if trial.trial_id == str(trial_id) or str(trial.number) == str(trial_id):
                return trial
        raise KeyError(f"oracle.get_trial(trial_id={trial_id!r}): the study has no such trial.")

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The ``num_trials`` best complete trials, best first (the tuner's ranking)."""
        return self._tuner.get_best_trials(num_trials)

    def remaining_trials(self) -> int | None:
        """Trials still to start before ``max_trials`` is reached; None without a limit."""
        if self.max_trials is None:
            return None
        return max(0, self.max_trials - len(self._tuner.trials))

    def __repr__(self) -> str:
        return f"OracleView({self._tuner!r})"
