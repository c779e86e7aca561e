"""One description of a search space, and its adapters to every tuner library.

A space is a tuple of :class:`Param` (hyperscout's vocabulary: a float, an int with an optional
step, a categorical choice; ``log=True`` for a log scale). The adapters turn that one description
into each tuner's own space: hyperscout ``HyperParameters``, Optuna ``suggest_*`` calls, a
Hyperopt space, scikit-optimize dimensions and KerasTuner ``HyperParameters``. Every tuner
library is imported inside the adapter that needs it, so that a missing peer only skips it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Values = Mapping[str, Any]


# -- the space description -------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``"float"``, ``"int"`` or ``"choice"``.

    ``low``/``high`` bound numbers (both included), ``log`` puts them on a log scale, ``step``
    spaces an int's values ``low, low + step, ...`` (not with ``log``), ``choices`` lists a
    categorical parameter's values (unordered).
    """

    name: str
    kind: Literal["float", "int", "choice"]
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    step: int | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise ValueError(f"Param {self.name!r}: a choice needs two values or more.")
            return
        if not self.low < self.high:
            raise ValueError(f"Param {self.name!r}: expected low < high.")
        if self.log and self.low <= 0:
            raise ValueError(f"Param {self.name!r}: a log scale needs low > 0.")
        if self.step is not None:
            if self.kind != "int" or self.log or self.step < 1:
                raise ValueError(f"Param {self.name!r}: step is for linear ints only, >= 1.")
            if (self.high - self.low) % self.step:
                raise ValueError(f"Param {self.name!r}: high - low must be a multiple of step.")

    @property
    def n_steps(self) -> int:
        """How many values a stepped int has."""
        return int((self.high - self.low) // (self.step or 1)) + 1


def Float(name: str, low: float, high: float, *, log: bool = False) -> Param:
    return Param(name, "float", low, high, log=log)


def Int(name: str, low: int, high: int, *, step: int | None = None, log: bool = False) -> Param:
    return Param(name, "int", low, high, log=log, step=step)


def Choice(name: str, choices: Sequence[Any]) -> Param:
    return Param(name, "choice", choices=tuple(choices))


# -- adapters: hyperscout ------------------------------------------------------------------------
def declare_hyperscout(hp: Any, p: Param) -> Any:
    sampling = "log" if p.log else "linear"
    if p.kind == "float":
        return hp.Float(p.name, float(p.low), float(p.high), sampling=sampling)
    if p.kind == "int":
        return hp.Int(p.name, int(p.low), int(p.high), step=p.step, sampling=sampling)
    return hp.Choice(p.name, list(p.choices))


def hyperscout_space(space: Sequence[Param]) -> Any:
    """The space as ``hs.HyperParameters``, declared ahead so a sampler sees all of it."""
    import hyperscout as hs

    hp = hs.HyperParameters()
    for p in space:
        declare_hyperscout(hp, p)
    return hp


# -- adapters: Optuna ----------------------------------------------------------------------------
def optuna_suggest(trial: Any, space: Sequence[Param]) -> dict[str, Any]:
    """The values of one Optuna trial, asked parameter by parameter."""
    values: dict[str, Any] = {}
    for p in space:
        if p.kind == "float":
            values[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
        elif p.kind == "int":
            values[p.name] = trial.suggest_int(
                p.name, int(p.low), int(p.high), step=p.step or 1, log=p.log
            )
        else:
            values[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return values


# -- adapters: Hyperopt --------------------------------------------------------------------------
def hyperopt_space(space: Sequence[Param]) -> dict[str, Any]:
    """A Hyperopt space; decode its samples with :func:`hyperopt_decode`.

    A stepped int is searched as the index of its value (``uniformint``), so that its values
    are exactly ``low + k * step``; a log int is a ``qloguniform`` rounded to integers.
    """
    from hyperopt import hp

    out: dict[str, Any] = {}
    for p in space:
        if p.kind == "choice":
            out[p.name] = hp.choice(p.name, list(p.choices))
        elif p.kind == "float" and p.log:
            out[p.name] = hp.loguniform(p.name, math.log(p.low), math.log(p.high))
        elif p.kind == "float":
            out[p.name] = hp.uniform(p.name, p.low, p.high)
        elif p.log:
            out[p.name] = hp.qloguniform(p.name, math.log(p.low), math.log(p.high), 1)
        else:
            out[p.name] = hp.uniformint(p.name, 0, p.n_steps - 1)
    return out


def _clip(p: Param, x: float) -> float:
    return min(max(x, p.low), p.high)


def hyperopt_decode(space: Sequence[Param], sample: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's values from what Hyperopt passes to the objective."""
    values: dict[str, Any] = {}
    for p in space:
        raw = sample[p.name]
        if p.kind == "choice":
            values[p.name] = raw
        elif p.kind == "float":
            values[p.name] = _clip(p, float(raw))
        elif p.log:
            values[p.name] = int(_clip(p, round(float(raw))))
        else:
            values[p.name] = int(p.low) + round(float(raw)) * (p.step or 1)
    return values


# -- adapters: scikit-optimize -------------------------------------------------------------------
def skopt_dimensions(space: Sequence[Param]) -> list[Any]:
    """scikit-optimize dimensions; a stepped int is searched as the index of its value."""
    from skopt.space import Categorical, Integer, Real

    dims: list[Any] = []
    for p in space:
        prior = "log-uniform" if p.log else "uniform"
        if p.kind == "choice":
            dims.append(Categorical(list(p.choices), name=p.name))
        elif p.kind == "float":
            dims.append(Real(p.low, p.high, prior=prior, name=p.name))
        elif p.step is not None:
            dims.append(Integer(0, p.n_steps - 1, name=p.name))
        else:
            dims.append(Integer(int(p.low), int(p.high), prior=prior, name=p.name))
    return dims


def skopt_decode(space: Sequence[Param], x: Sequence[Any]) -> dict[str, Any]:
    """The problem's values from a point that scikit-optimize asks for."""
    values: dict[str, Any] = {}
    for p, raw in zip(space, x, strict=True):
        if p.kind == "choice":
            values[p.name] = raw.item() if isinstance(raw, np.generic) else raw
        elif p.kind == "float":
            values[p.name] = float(raw)
        elif p.step is not None:
            values[p.name] = int(p.low) + int(raw) * p.step
        else:
            values[p.name] = int(raw)
    return values


# -- adapters: KerasTuner ------------------------------------------------------------------------
def keras_tuner_hyperparameters(space: Sequence[Param]) -> Any:
    """The space as ``keras_tuner.HyperParameters`` for an oracle."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for p in space:
        sampling = "log" if p.log else "linear"
        if p.kind == "float":
            hp.Float(p.name, float(p.low), float(p.high), sampling=sampling)
        elif p.kind == "int":
            hp.Int(p.name, int(p.low), int(p.high), step=p.step, sampling=sampling)
        else:
            hp.Choice(p.name, list(p.choices))
    return hp


# -- adapters: ConfigSpace (SMAC3, DEHB) ----------------------------------------------------------
def configspace_space(space: Sequence[Param], seed: int) -> Any:
    """The space as a ``ConfigSpace.ConfigurationSpace`` seeded with ``seed``: a stepped int is
    searched as the index of its value (decode with :func:`configspace_decode`)."""
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

    cs = ConfigurationSpace(seed=seed)
    for p in space:
        if p.kind == "choice":
            cs.add(Categorical(p.name, list(p.choices)))
        elif p.kind == "float":
            cs.add(Float(p.name, (float(p.low), float(p.high)), log=p.log))
        elif p.step is not None:
            cs.add(Integer(p.name, (0, p.n_steps - 1)))
        else:
            cs.add(Integer(p.name, (int(p.low), int(p.high)), log=p.log))
    return cs


def configspace_decode(space: Sequence[Param], config: Mapping[str, Any]) -> dict[str, Any]:
    """The problem's values from a ``ConfigSpace.Configuration`` (or its dictionary)."""
    values: dict[str, Any] = {}
    for p in space:
        raw = config[p.name]
        if isinstance(raw, np.generic):
            raw = raw.item()
        if p.kind == "choice":
            values[p.name] = raw
        elif p.kind == "float":
            values[p.name] = _clip(p, float(raw))
        elif p.step is not None:
            values[p.name] = int(p.low) + int(raw) * p.step
        else:
            values[p.name] = int(_clip(p, int(raw)))
    return values
