"""The public names of hyperscout: adding or removing one is a decision, made here."""

from __future__ import annotations

import importlib

import pytest

import hyperscout as hs

PUBLIC = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert hs.__all__ == PUBLIC
    assert hs.__all__ == sorted(hs.__all__)
    assert len(set(hs.__all__)) == len(hs.__all__)


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("hyperscout")
    assert getattr(module, name) is getattr(hs, name)
    namespace: dict[str, object] = {}
    exec(f"from hyperscout import {name}", namespace)
    assert namespace[name] is getattr(hs, name)


def test_star_import_gives_exactly_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from hyperscout import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(PUBLIC)


def test_kerastuner_namespace_reaches_the_presets() -> None:
    """``import hyperscout as kt`` then ``kt.tuners.RandomSearch``, as in KerasTuner code."""
    for name in hs.tuners.__all__:
        assert getattr(hs.tuners, name) is getattr(hs, name)
    assert set(hs.tuners.__all__) == {
        "BOHB",
        "BayesianOptimization",
        "GridSearch",
        "Hyperband",
        "RandomSearch",
        "SuccessiveHalving",
    }
    assert "tuners" not in hs.__all__  # a namespace module, not a public name of its own


def test_version_is_a_string() -> None:
    assert isinstance(hs.__version__, str) and hs.__version__.count(".") >= 2


def test_errors_form_the_documented_tree() -> None:
    for error in (hs.InvalidSpaceError, hs.InvalidArgumentError, hs.ObjectiveDirectionError):
        assert issubclass(error, hs.HyperscoutError) and issubclass(error, ValueError)
    assert issubclass(hs.TooManyFailedTrialsError, RuntimeError)
    assert issubclass(hs.UsageError, hs.InvalidArgumentError)
    assert issubclass(hs.SchemaVersionError, hs.StorageError)
    assert issubclass(hs.DamagedStudyError, hs.StorageError)
    assert issubclass(hs.MissingDependencyError, ImportError)
    assert issubclass(hs.SearchFinished, hs.HyperscoutError)
    assert not issubclass(hs.TrialPruned, hs.HyperscoutError)
    # A warning, not an error: filterwarnings="error" and -W error turn it into one.
    assert issubclass(hs.HyperscoutWarning, UserWarning)
    assert not issubclass(hs.HyperscoutWarning, hs.HyperscoutError)
