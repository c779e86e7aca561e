"""A scikit-learn ``MLPClassifier``, saved and loaded without pickle.

Unpickling a file runs whatever code the file names, so a checkpoint planted in a study's
folder would run when the study resumes. This format holds only numbers and text: the
model's arrays in a NumPy ``.npz`` file read with ``allow_pickle=False``, and its other
attributes as JSON inside it. It keeps the whole training state (weights, the Adam moments,
the random state that orders the examples, the loss curve), so that ``partial_fit`` on a
loaded model continues exactly as on the saved one.

>>> import numpy as np, tempfile, pathlib
>>> from sklearn.neural_network import MLPClassifier
>>> x, y = np.eye(4), np.arange(4) % 2
>>> model = MLPClassifier(hidden_layer_sizes=(3,), random_state=0)
>>> model = model.partial_fit(x, y, classes=[0, 1])
>>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
>>> save_mlp(model, path)
>>> bool((load_mlp(path).predict_proba(x) == model.predict_proba(x)).all())
True
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hyperscout.exceptions import InvalidArgumentError

__all__ = ["load_mlp", "load_mlp_and_notes", "save_mlp"]

_FORMAT = "hyperscout.mlp/1"
# The optimizers an MLPClassifier trains with, by class name: only these are rebuilt.
_OPTIMIZERS = ("AdamOptimizer", "SGDOptimizer")


def _split(attributes: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``attributes`` as JSON-ready values and arrays (keyed ``prefix + name``)."""
    values: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, np.ndarray):
            arrays[prefix + name] = value
            values[name] = {"array": prefix + name}
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            keys = [f"{prefix}{name}.{i}" for i in range(len(value))]
            arrays.update(zip(keys, value, strict=True))
            values[name] = {"arrays": keys}
        elif isinstance(value, tuple):
            values[name] = {"tuple": [_plain(v) for v in value]}
        elif isinstance(value, list):
            values[name] = {"list": [_plain(v) for v in value]}
        else:
            values[name] = {"value": _plain(value)}
    return values, arrays


def _plain(value: Any) -> Any:
    """A number, text, bool or None as a JSON value (NumPy scalars as Python ones)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save_mlp(): cannot store {type(value).__name__} value {value!r}.")


def _join(values: Mapping[str, Any], arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`_split`."""
    attributes: dict[str, Any] = {}
    for name, entry in values.items():
        if "array" in entry:
            attributes[name] = arrays[entry["array"]]
        elif "arrays" in entry:
            attributes[name] = [arrays[key] for key in entry["arrays"]]
        elif "tuple" in entry:
            attributes[name] = tuple(entry["tuple"])
        elif "list" in entry:
            attributes[name] = list(entry["list"])
        else:
            attributes[name] = entry["value"]
    return attributes


def save_mlp(
    model: Any, path: str | os.PathLike[str], notes: Mapping[str, Any] | None = None
) -> None:
    """Save an ``MLPClassifier`` (fitted or not) to the ``.npz`` file ``path``.

    ``notes``: JSON values kept with it (the demo keeps the epochs trained: scikit-learn's
    ``n_iter_`` counts only the last ``partial_fit``), read by :func:`load_mlp_and_notes`.
    """
    state = dict(vars(model))
    special: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    # The label binarizer is fitted on classes_ again when loaded.
    state.pop("_label_binarizer", None)
    random_state = state.pop("_random_state", None)
    if random_state is not None:
        kind, keys, position, has_gauss, gauss = random_state.get_state()
        arrays["random_state.keys"] = keys
        special["random_state"] = [kind, int(position), int(has_gauss), float(gauss)]
    optimizer = state.pop("_optimizer", None)
    if optimizer is not None:
        name = type(optimizer).__name__
        if name not in _OPTIMIZERS:
            raise TypeError(f"save_mlp(): cannot store the optimizer {name}.")
        values, more = _split(vars(optimizer), "optimizer.")
        special["optimizer"] = {"class": name, "attributes": values}
        arrays.update(more)
    values, more = _split(state, "model.")
    arrays.update(more)
    header = {
        "format": _FORMAT,
        "class": type(model).__name__,
        "attributes": values,
        "notes": dict(notes or {}),
        **special,
    }
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def load_mlp(path: str | os.PathLike[str]) -> Any:
    """The ``MLPClassifier`` that :func:`save_mlp` saved in ``path``; no code is run.

    Raises:
        InvalidArgumentError: the file is not such a model (for example a pickle).
    """
    return load_mlp_and_notes(path)[0]


def load_mlp_and_notes(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """:func:`load_mlp`, and the ``notes`` saved with the model."""
    from sklearn.neural_network import MLPClassifier, _stochastic_optimizers
    from sklearn.preprocessing import LabelBinarizer

    try:
        with np.load(Path(path), allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        header = json.loads(str(arrays.pop("header")))
        if header.get("format") != _FORMAT or header.get("class") != "MLPClassifier":
            raise ValueError(f"not a {_FORMAT} file")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InvalidArgumentError(
            f"load_mlp(path=...): expected an MLPClassifier saved by hyperscout (a .npz "
            f"file), got {os.fspath(path)!r} ({exc})."
        ) from exc
    model = MLPClassifier()
    vars(model).update(_join(header["attributes"], arrays))
    if "classes_" in vars(model):
        model._label_binarizer = LabelBinarizer().fit(model.classes_)
    if "random_state" in header:
        kind, position, has_gauss, gauss = header["random_state"]
        generator = np.random.RandomState()
        generator.set_state((kind, arrays["random_state.keys"], position, has_gauss, gauss))
        model._random_state = generator
    if "optimizer" in header:
        name = header["optimizer"]["class"]
        if name not in _OPTIMIZERS:
            raise InvalidArgumentError(
                f"load_mlp(path=...): expected the optimizer {' or '.join(_OPTIMIZERS)}, got "
                f"{name!r} in {os.fspath(path)!r}."
            )
        optimizer = object.__new__(getattr(_stochastic_optimizers, name))
        vars(optimizer).update(_join(header["optimizer"]["attributes"], arrays))
        model._optimizer = optimizer
    return model, dict(header.get("notes") or {})
