"""The ``hyperscout demo`` task: tune a small neural network on the digits data, end to end.

The lecture in one command. A multilayer perceptron (PyTorch when it is installed, otherwise
scikit-learn's ``MLPClassifier``) learns scikit-learn's bundled digits (1,797 8x8 images of
handwritten digits, so the demo runs offline with no setup). The images are split once, with
a fixed seed and stratified by class, into a training set (60 %), a validation set (20 %)
that the search optimises, and a test set (20 %) that only the final model sees.

The budget of a trial is epochs, with either framework: the PyTorch network trains epoch by
epoch, the scikit-learn one with ``partial_fit``. By default the search is BOHB: Hyperband
brackets whose new configurations come from a Gaussian-process model of the best results so far. A
configuration promoted to a larger budget continues from the checkpoint of its lower-rung
trial. Every trial is kept in an SQLite study; the best trial's network is reloaded from its
checkpoint, scored on the test split, and saved beside the study.

The package is an application of the library, in three modules: :mod:`.data` (the digits and
their splits), :mod:`.networks` (the PyTorch and scikit-learn networks and their training)
and :mod:`.run` (the search, the evaluation of its best network, and the report).

>>> from hyperscout.demo import run_demo
>>> result = run_demo("bohb", directory="hyperscout_runs")  # doctest: +SKIP
>>> result["test_accuracy"]  # doctest: +SKIP
0.97...
"""

from __future__ import annotations

from hyperscout.demo.compare import run_compare_demo
from hyperscout.demo.data import DigitsSplits, load_digits_splits
from hyperscout.demo.networks import (
    FRAMEWORKS,
    build_torch_mlp,
    load_sklearn_model,
    resolve_framework,
)
from hyperscout.demo.run import (
    DEFAULT_DIRECTORY,
    DEFAULT_MAX_TRIALS,
    DEFAULT_STRATEGY,
    FACTOR,
    MAX_EPOCHS,
    OBJECTIVE,
    STRATEGIES,
    demo_objective,
    project_name,
    run_demo,
)

__all__ = [
    "DEFAULT_DIRECTORY",
    "DEFAULT_MAX_TRIALS",
    "DEFAULT_STRATEGY",
    "FACTOR",
    "FRAMEWORKS",
    "MAX_EPOCHS",
    "OBJECTIVE",
    "STRATEGIES",
    "DigitsSplits",
    "build_torch_mlp",
    "demo_objective",
    "load_digits_splits",
    "load_sklearn_model",
    "project_name",
    "resolve_framework",
    "run_compare_demo",
    "run_demo",
]
