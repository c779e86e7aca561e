"""The default of Bayesian optimization: a Gaussian process while it is affordable, TPE beyond."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperscout._validation import check_int
from hyperscout.history import History
from hyperscout.samplers.base import Sampler
from hyperscout.samplers.gp import GPSampler
from hyperscout.samplers.tpe import TPESampler
from hyperscout.space import HyperParameters, Parameter

__all__ = ["AutoSampler"]

#: Trials up to which the GP proposes; TPE takes over beyond (the GP's cost grows with the
#: square of the trials, TPE's linearly).
MAX_GP_TRIALS = 250
#: Parameters up to which the GP proposes; a larger space goes to TPE from the start.
MAX_GP_PARAMETERS = 32


class AutoSampler(Sampler):
    """A :class:`GPSampler` while the study is small, a :class:`TPESampler` beyond.

    The GP is the more sample-efficient of the two, and its proposal cost grows with the
    square of the number of trials, while TPE's grows linearly (``benchmarks/
    sample_efficiency.py --timing`` measures both). So the GP
    proposes while the study has fewer than ``max_gp_trials`` trials and the space at most
    ``max_gp_parameters`` parameters, and TPE afterwards, learning from every trial so far.

    Args:
        gp: the GP sampler (default ``GPSampler()``).
        tpe: the TPE sampler (default ``TPESampler()``).
        max_gp_trials: trials (any state) before TPE takes over (default 250).
        max_gp_parameters: spaces with more parameters use TPE from the start (default 32).

    >>> AutoSampler().max_gp_trials
    250
    """

    def __init__(
        self,
        *,
        gp: GPSampler | None = None,
        tpe: TPESampler | None = None,
        max_gp_trials: int = MAX_GP_TRIALS,
        max_gp_parameters: int = MAX_GP_PARAMETERS,
    ) -> None:
        check_int("AutoSampler", "max_gp_trials", max_gp_trials, minimum=0)
        check_int("AutoSampler", "max_gp_parameters", max_gp_parameters, minimum=0)
        self.gp = gp or GPSampler()
        self.tpe = tpe or TPESampler()
        self.max_gp_trials = max_gp_trials
        self.max_gp_parameters = max_gp_parameters

    @property
    def n_startup_trials(self) -> int:
        """Completed trials before a model is used (the GP's start-up; TPE's is no larger)."""
        return max(self.gp.n_startup_trials, 0)

    def choose(self, space: HyperParameters, history: History) -> Sampler:
        """The sampler that proposes next for this space and history."""
        if len(history) < self.max_gp_trials and len(space) <= self.max_gp_parameters:
            return self.gp
        return self.tpe

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        return self.choose(space, history).sample(space, history, rng)

    def sample_new(
        self, param: Parameter, values: Mapping[str, Any], rng: np.random.Generator
    ) -> Any:
        return self.gp.sample_new(param, values, rng)

    def settings(self) -> dict[str, Any]:
        return {
            "gp": self.gp.settings(),
            "tpe": self.tpe.settings(),
            "max_gp_trials": self.max_gp_trials,
            "max_gp_parameters": self.max_gp_parameters,
        }

    def __repr__(self) -> str:
        return (
            f"AutoSampler(gp={self.gp!r}, tpe={self.tpe!r}, max_gp_trials={self.max_gp_trials}, "
            f"max_gp_parameters={self.max_gp_parameters})"
        )
