"""The presets under KerasTuner's namespace, so that ``kt.tuners.RandomSearch`` works after
``import hyperscout as kt``.

>>> import hyperscout as kt
>>> kt.tuners.RandomSearch is kt.RandomSearch
True
"""

from __future__ import annotations

from hyperscout.tuner.presets import (
    BOHB,
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    SuccessiveHalving,
)

__all__ = [
    "BOHB",
    "BayesianOptimization",
    "GridSearch",
    "Hyperband",
    "RandomSearch",
    "SuccessiveHalving",
]
