"""hyperscout: hyperparameter tuning for any Python model.

Declare the search space where the model is built (``hp.Int``, ``hp.Float``, ``hp.Choice``,
``hp.Boolean``, ``hp.Fixed``), pick a tuner (``GridSearch``, ``RandomSearch``), call
``search()``. Every trial is kept in storage (SQLite by default), so a search resumes where it
stopped. The hypermodel may also build Keras models (``build_model(hp)`` or a
:class:`HyperModel`), as with KerasTuner, whose ``kt.tuners.RandomSearch`` is
``hyperscout.tuners.RandomSearch``.

>>> import hyperscout as hs
>>> def objective(hp):
...     return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2
>>> tuner = hs.RandomSearch(objective, max_trials=5, seed=0, storage="memory", verbose=0)
>>> tuner.search()
>>> len(tuner.trials)
5
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperscout import applications as applications  # kt.applications.HyperResNet
from hyperscout import tuners as tuners  # kt.tuners.RandomSearch, as in KerasTuner
from hyperscout._version import __version__
from hyperscout.comparison import compare
from hyperscout.exceptions import (
    DamagedStudyError,
    HyperscoutError,
    HyperscoutWarning,
    InvalidArgumentError,
    InvalidSpaceError,
    MissingDependencyError,
    ObjectiveDirectionError,
    SchemaVersionError,
    SearchFinished,
    StorageError,
    TooManyFailedTrialsError,
    TrialPruned,
    UsageError,
)
from hyperscout.executors import Executor, InlineExecutor, ProcessExecutor, ThreadExecutor
from hyperscout.hypermodel import HyperModel
from hyperscout.objective import Objective
from hyperscout.samplers import (
    AutoSampler,
    GPSampler,
    GridSampler,
    History,
    RandomSampler,
    Sampler,
    TPESampler,
)
from hyperscout.schedulers import (
    ASHAScheduler,
    BOHBScheduler,
    FIFOScheduler,
    HyperbandScheduler,
    MedianStoppingScheduler,
    Scheduler,
    SuccessiveHalvingScheduler,
)
from hyperscout.space import HyperParameters
from hyperscout.storage import MemoryStorage, Storage
from hyperscout.trial import RunningTrial, Trial, TrialState
from hyperscout.tuner import Tuner
from hyperscout.tuner.presets import (
    ASHA,
    BOHB,
    BayesianOptimization,
    GridSearch,
    Hyperband,
    RandomSearch,
    SuccessiveHalving,
)

if TYPE_CHECKING:
    from hyperscout.storage.sql import SQLStorage

__all__ = [
    "ASHA",
    "ASHAScheduler",
    "AutoSampler",
    "BOHB",
    "BOHBScheduler",
    "BayesianOptimization",
    "DamagedStudyError",
    "Executor",
    "FIFOScheduler",
    "GPSampler",
    "GridSampler",
    "GridSearch",
    "History",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "HyperbandScheduler",
    "HyperscoutError",
    "HyperscoutWarning",
    "InlineExecutor",
    "InvalidArgumentError",
    "InvalidSpaceError",
    "MedianStoppingScheduler",
    "MemoryStorage",
    "MissingDependencyError",
    "Objective",
    "ObjectiveDirectionError",
    "ProcessExecutor",
    "RandomSampler",
    "RandomSearch",
    "RunningTrial",
    "SQLStorage",
    "Sampler",
    "Scheduler",
    "SchemaVersionError",
    "SearchFinished",
    "Storage",
    "StorageError",
    "SuccessiveHalving",
    "SuccessiveHalvingScheduler",
    "TPESampler",
    "ThreadExecutor",
    "TooManyFailedTrialsError",
    "Trial",
    "TrialPruned",
    "TrialState",
    "Tuner",
    "UsageError",
    "__version__",
    "compare",
]


def __getattr__(name: str) -> Any:
    # SQLStorage on first use: it imports SQLAlchemy, which takes a quarter of a second.
    if name == "SQLStorage":
        from hyperscout.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
