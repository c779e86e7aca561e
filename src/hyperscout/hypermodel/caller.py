"""How the tuner calls its hypermodel: one execution of a trial in, the trial's metrics out.

The tuner's loop calls objectives and nothing else. Whether the hypermodel returns metrics
(``f(hp)``, ``f(hp, trial, *args)``) or builds a model that a framework trains
(``build_model(hp)``, an :class:`~hyperscout.HyperModel`) is decided here, where the model's
framework is recognised and its :class:`~hyperscout.hypermodel.base.ModelAdapter` found. The
best models are rebuilt here too, from the trials' checkpoints.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hyperscout.exceptions import InvalidArgumentError, UsageError
from hyperscout.hypermodel.base import (
    HyperModel,
    ModelAdapter,
    accepts_arguments,
    adapter_name_for,
    build_model,
    load_adapter,
    not_a_model,
)
from hyperscout.hypermodel.results import BadResultError, check_result, metrics_of
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import RunningTrial, Trial, checkpoint_path

__all__ = ["ObjectiveCaller", "takes_trial"]


class ObjectiveCaller:
    """Calls a hypermodel for one execution of a trial and returns the metrics.

    Args:
        hypermodel: the tuner's hypermodel (a function or an :class:`HyperModel`).
        objective: the metric the search optimises.
        seed: the study's seed; a framework's random state is seeded from it, the trial's
            number and the execution.
        n_workers: trials the executor runs at once (a framework that keeps global state
            trains one at a time).
        metric_seen: whether any trial of the study has produced the objective's metric, so
            that a result without it is a failure of the trial rather than a usage error.
    """

    def __init__(
        self,
        hypermodel: Any,
        objective: Objective,
        *,
        seed: int,
        n_workers: int,
        metric_seen: Callable[[], bool],
    ) -> None:
        self.hypermodel = hypermodel
        self.objective = objective
        self.seed = seed
        self.n_workers = n_workers
        self._metric_seen = metric_seen
        self.passes_trial = hypermodel is not None and takes_trial(hypermodel)
        #: Trains the models the hypermodel builds; found when the first model is built.
        self.adapter: ModelAdapter | None = None

    def outcome_attrs(self) -> dict[str, Any] | None:
        """What a finished trial records of how it ran (the framework that trained it)."""
        return {"model": self.adapter.name} if self.adapter is not None else None

    def __call__(
        self,
        hp: HyperParameters,
        handle: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        execution: int,
    ) -> dict[str, Any]:
        """One run of the hypermodel: the objective's metrics, or those of the model it built."""
        hypermodel = self.hypermodel
        assert hypermodel is not None  # the tuner checked it
        if self.adapter is not None:
            self.adapter.before_build(self.model_seed(handle.number, execution))
        if self.adapter is not None or isinstance(hypermodel, HyperModel):
            result, alone = build_model(hypermodel, hp), True
        elif accepts_arguments(hypermodel, self.passes_trial, args, kwargs):
            call_args = (hp, handle, *args) if self.passes_trial else (hp, *args)
            result, alone = hypermodel(*call_args, **kwargs), False
        else:  # build_model(hp): search()'s arguments are for the model's fit
            result, alone = build_model(hypermodel, hp), True
        if self.adapter is None:
            name = adapter_name_for(result)
            if name is None:
                if isinstance(hypermodel, HyperModel) or (alone and (args or kwargs)):
                    reason = not_a_model(hypermodel, result, args, kwargs)
                    raise BadResultError(reason) if self._metric_seen() else UsageError(reason)
                check_result(result, self.objective, metric_seen=self._metric_seen)
                return metrics_of(result, self.objective)
            self.adapter = self._first_adapter(name)
            # The first model was built before the adapter was known: build it again on a
            # clean, seeded session, as every later model is.
            self.adapter.before_build(self.model_seed(handle.number, execution))
            result = build_model(hypermodel, hp)
        return self.adapter.run(hp, result, handle, args, kwargs)

    def _first_adapter(self, name: str) -> ModelAdapter:
        adapter = load_adapter(name, self.hypermodel, self.objective)
        if self.n_workers > 1 and not adapter.supports_threads:
            raise UsageError(
                f"{name} models train one trial at a time in a process ({name} keeps "
                f"global state that is reset between trials), but executor= runs "
                f"{self.n_workers} trials at once. Drop executor=; run several "
                "processes on one storage to train in parallel."
            )
        return adapter

    def model_seed(self, number: int, execution: int) -> int:
        """The seed of a framework's random state for one execution of a trial."""
        return int(np.random.SeedSequence([self.seed, number, execution]).generate_state(1)[0])

    def best_models(
        self, trials: Sequence[Trial], space: HyperParameters, checkpoint_root: Path
    ) -> list[Any]:
        """The models of ``trials``, built again and given the weights their trials kept.

        Raises:
            InvalidArgumentError: a trial was run by an objective that returns metrics.
        """
        models = []
        for trial in trials:
            name = trial.attrs.get("model")
            if self.hypermodel is None or name is None:
                raise InvalidArgumentError(
                    f"get_best_models(): trial {trial.number} was run by an objective that "
                    "returns metrics, so it kept no model. Only a hypermodel that builds models "
                    "(build_model(hp) returning a Keras model, or an hs.HyperModel) keeps them; "
                    "build yours again from get_best_hyperparameters()."
                )
            if self.adapter is None or self.adapter.name != name:
                self.adapter = load_adapter(name, self.hypermodel, self.objective)
            model = build_model(self.hypermodel, space.with_values(trial.values))
            folder = checkpoint_path(checkpoint_root, trial.number)
            models.append(self.adapter.load_best(model, folder))
        return models


def takes_trial(fn: Callable[..., Any]) -> bool:
    """True when the objective's signature has room for ``trial`` after ``hp``.

    >>> takes_trial(lambda hp, trial: 0.0), takes_trial(lambda hp: 0.0)
    (True, False)
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.name == "trial" for p in params):
        return True
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2
