"""Hypermodels that build framework models, and the seam through which the tuner trains them.

A *hypermodel* either returns metrics (the plain objective ``f(hp)``) or builds a model that a
framework trains: a function ``build_model(hp)`` that returns a compiled Keras model, or a
:class:`HyperModel` with ``build(hp)`` and, optionally, its own ``fit``. The tuner recognises a
built model by the framework it comes from and hands it to that framework's
:class:`ModelAdapter` (for Keras, :class:`hyperscout.integrations.keras.KerasAdapter`), which
trains it with the arguments of ``tuner.search(...)``, reports each epoch, saves its weights and
turns the training history into the trial's metrics. This module imports no framework.
"""

from __future__ import annotations

import abc
import functools
import inspect
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

from hyperscout.exceptions import InvalidArgumentError
from hyperscout.hypermodel.results import BadResultError, average, metrics_of
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import RunningTrial, _as_float

__all__ = [
    "FunctionHyperModel",
    "HyperModel",
    "ModelAdapter",
    "accepts_arguments",
    "adapter_name_for",
    "as_hypermodel",
    "build_model",
    "load_adapter",
    "looks_like_builder",
    "not_a_model",
    "run_trial_metrics",
]


class HyperModel(abc.ABC):
    """A family of models: :meth:`build` makes one from ``hp``, :meth:`fit` trains it.

    Pass an instance to a tuner as the hypermodel; ``tuner.search(*args, **kwargs)`` then calls
    ``fit(hp, model, *args, **kwargs)`` for every trial. Override :meth:`fit` to tune how the
    model is trained (batch size, augmentation, several phases); it should return what
    ``model.fit`` returns (a Keras ``History``), or the metrics as a dict.

    A HyperModel is also callable, ``hypermodel(hp)`` being ``hypermodel.build(hp)``, so it goes
    wherever a ``build_model`` function goes.

    >>> import hyperscout as hs
    >>> class Polynomial(hs.HyperModel):
    ...     def build(self, hp):
    ...         return {"degree": hp.Int("degree", 1, 3), "scale": hp.Float("scale", 0.5, 2.0)}
    >>> hp = hs.HyperParameters()
    >>> Polynomial()(hp)  # a fresh hp gives each parameter its default
    {'degree': 1, 'scale': 0.5}

    With Keras (see ``docs/keras.md``)::

        class MLP(hs.HyperModel):
            def build(self, hp):
                model = keras.Sequential([keras.Input((64,)),
                                          keras.layers.Dense(hp.Int("units", 16, 128)),
                                          keras.layers.Dense(10, activation="softmax")])
                model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
                return model

            def fit(self, hp, model, *args, **kwargs):
                return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 64]), **kwargs)
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        """KerasTuner's arguments, so that its subclasses' ``super().__init__(...)`` calls work.

        Args:
            name: a name for the hypermodel (default: the class name).
            tunable: must be True: hyperscout tunes every parameter a hypermodel defines.

        Raises:
            InvalidArgumentError: ``tunable`` is not True.
        """
        if tunable is not True:
            raise InvalidArgumentError(
                f"{type(self).__name__}(tunable={tunable!r}): hyperscout tunes every parameter "
                "the hypermodel defines; to fix one, define it with hp.Fixed(name, value)."
            )
        self.name = name or type(self).__name__
        self.tunable = True

    @abc.abstractmethod
    def build(self, hp: HyperParameters) -> Any:
        """Build (and compile) a model with the values of ``hp``; called once per execution."""

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``; the default is ``model.fit(*args, **kwargs)``.

        ``args`` and ``kwargs`` are those of ``tuner.search``, with the tuner's additions
        (callbacks that report each epoch, and ``epochs``/``initial_epoch`` under a budget).
        """
        return model.fit(*args, **kwargs)

    def __call__(self, hp: HyperParameters) -> Any:
        return self.build(hp)


class FunctionHyperModel:
    """A hypermodel function as the tuner holds it: itself, plus KerasTuner's ``build``.

    ``tuner.hypermodel`` is one of these for a tuner given a function, so that KerasTuner's
    ``model = tuner.hypermodel.build(best_hp)`` (TensorFlow's Hyperband tutorial) works. It
    calls and inspects as the function does (same name and signature), so the tuner treats it
    as the function itself.

    >>> def build_model(hp):
    ...     return {"units": hp.Int("units", 8, 64)}
    >>> hypermodel = FunctionHyperModel(build_model)
    >>> hp = HyperParameters()
    >>> hp.values["units"] = 32
    >>> hypermodel.build(hp), hypermodel(hp), hypermodel.__name__
    ({'units': 32}, {'units': 32}, 'build_model')
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        functools.update_wrapper(self, function)
        self.function = function

    def build(self, hp: HyperParameters) -> Any:
        """``function(hp)``: a model built with the values of ``hp``."""
        return self.function(hp)

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """``model.fit(*args, **kwargs)``, as KerasTuner's ``HyperModel.fit``."""
        return model.fit(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionHyperModel({getattr(self.function, '__name__', self.function)!r})"


def as_hypermodel(hypermodel: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """The tuner's form of a hypermodel: a function gains ``build`` (:class:`FunctionHyperModel`).

    A :class:`HyperModel`, or any object that already has ``build``, stays as it is.
    """
    if hypermodel is None or callable(getattr(hypermodel, "build", None)):
        return hypermodel
    return FunctionHyperModel(hypermodel)


# Names whose use in a function shows that it trains or evaluates, not just builds, a model.
_TRAINING_NAMES = frozenset(
    {"fit", "fit_generator", "train_on_batch", "evaluate", "backward", "report", "predict"}
)


def looks_like_builder(hypermodel: Callable[..., Any] | None) -> bool:
    """True when calling ``hypermodel(hp)`` only builds a model, so it is cheap to call.

    A :class:`HyperModel`'s ``build`` is; a function of ``hp`` alone is when its code (nested
    functions included) compiles a model (``.compile``) and calls nothing that trains or
    evaluates one (``fit``, ``evaluate``, ``predict``, ``backward``, ``report`` ...). Any
    other function may train, so it is never called just to learn the space.

    >>> def build_model(hp):
    ...     model = object()
    ...     model.compile(optimizer="adam")
    ...     return model
    >>> def objective(hp):
    ...     model = build_model(hp)
    ...     return model.fit().history["val_loss"][-1]
    >>> looks_like_builder(build_model), looks_like_builder(objective)
    (True, False)
    """
    if hypermodel is None:
        return False
    if isinstance(hypermodel, HyperModel):
        return True
    function = inspect.unwrap(getattr(hypermodel, "function", hypermodel))
    code = getattr(function, "__code__", None)
    if not isinstance(code, types.CodeType):
        return False
    try:
        positional = [
            p
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        return False
    if len(positional) != 1:
        return False
    names = _code_names(code)
    return "compile" in names and not names & _TRAINING_NAMES


def _code_names(code: types.CodeType) -> set[str]:
    """The global and attribute names a code object (and those nested in it) uses."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def run_trial_metrics(result: Any, objective: Objective) -> dict[str, Any]:
    """The metrics of what a tuner's own ``run_trial`` returned, read as KerasTuner reads it.

    A number is the objective's value; a dict holds the metrics; a Keras ``History`` (anything
    with a ``history`` dict of per-epoch lists) gives the logs of its best epoch for the
    objective; a list of these (one per execution) is averaged, metric by metric.

    >>> class History:
    ...     history = {"loss": [0.9, 0.5, 0.6], "val_loss": [1.0, 0.7, 0.8]}
    >>> run_trial_metrics(History(), Objective("val_loss", "min"))
    {'loss': 0.5, 'val_loss': 0.7}
    >>> run_trial_metrics([0.5, {"objective": 0.25}], Objective("objective", "min"))
    {'objective': 0.375}

    Raises:
        BadResultError: the result is none of these, or lacks the objective.
    """
    if isinstance(result, (list, tuple)):
        if not result:
            raise BadResultError(
                "run_trial() returned an empty list; expected a float, a dict of metrics, a "
                "Keras History, or a list of those (one per execution)."
            )
        return average([run_trial_metrics(item, objective) for item in result])
    history = getattr(result, "history", None)
    if isinstance(history, Mapping) and not isinstance(result, Mapping):
        return _best_epoch(history, objective)
    return metrics_of(result, objective)


def _best_epoch(history: Mapping[str, Any], objective: Objective) -> dict[str, Any]:
    """The logs of the epoch with the best objective value in a Keras ``History.history``."""
    length = max((len(v) for v in history.values() if isinstance(v, (list, tuple))), default=0)
    epochs = [
        objective.with_value(
            {
                str(name): _as_float(values[epoch]) if epoch < len(values) else None
                for name, values in history.items()
            }
        )
        for epoch in range(length)
    ]
    if not any(objective.name in logs for logs in epochs):
        raise BadResultError(
            f"run_trial() returned a History without {objective.name!r}, the metric this "
            f"search optimises; it has {sorted(history)!r}. Pass objective= one of those."
        )
    best: tuple[float, int] | None = None
    for epoch, logs in enumerate(epochs):
        value = _as_float(logs.get(objective.name))
        if value is not None and (best is None or objective.is_better(value, best[0])):
            best = (value, epoch)
    if best is None:
        raise BadResultError(
            f"run_trial() returned a History whose {objective.name!r} is not a finite number "
            "at any epoch: the training diverged."
        )
    return epochs[best[1]]


class ModelAdapter(abc.ABC):
    """Trains the models of one framework for the tuner; one instance per tuner.

    The tuner builds each trial's model (calling :meth:`before_build` first), gives it to
    :meth:`run`, and records the metrics :meth:`run` returns. :meth:`load_best` serves
    ``tuner.get_best_models``. Implementations live in :mod:`hyperscout.integrations` and are
    found by :func:`adapter_name_for`.

    Args:
        hypermodel: the tuner's hypermodel (a :class:`HyperModel`, or a ``build_model``
            function).
        objective: the metric the search optimises.
    """

    #: The framework's name, kept with every trial whose model this adapter saved.
    name: ClassVar[str]
    #: Whether trials may train in several threads of one process at once.
    supports_threads: ClassVar[bool] = False

    def __init__(self, hypermodel: Any, objective: Objective) -> None:
        self.hypermodel = hypermodel
        self.objective = objective

    def before_build(self, seed: int) -> None:  # noqa: B027 - optional hook
        """Called before each model is built: reset the framework's state, seed it."""

    @abc.abstractmethod
    def run(
        self,
        hp: HyperParameters,
        model: Any,
        trial: RunningTrial,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> dict[str, float]:
        """Train ``model`` with the search arguments; return the trial's metrics.

        Reports go through ``trial.report``; training stops when ``trial.should_stop()``; the
        weights are saved into ``trial.checkpoint_dir``.
        """

    @abc.abstractmethod
    def load_best(self, model: Any, checkpoint_dir: Path) -> Any:
        """Load into ``model`` (freshly built with a trial's ``hp``) that trial's best weights."""


#: The entry-point group where the adapters of frameworks are found, by the name of the
#: framework's top-level package. hyperscout declares its Keras adapter there (pyproject.toml:
#: ``keras = "hyperscout.integrations.keras:KerasAdapter"``), so that this module names no
#: integration and imports a framework only when one of its models turns up; another package
#: can declare an adapter for its framework the same way.
ADAPTER_GROUP = "hyperscout.model_adapters"


@functools.cache
def _adapters() -> dict[str, EntryPoint]:
    # Imported here: reading the installed packages' metadata is only needed once a model
    # of some framework turns up, and importing it costs a tenth of `import hyperscout`.
    from importlib.metadata import entry_points

    found = entry_points(group=ADAPTER_GROUP)
    return {entry.name: entry for entry in sorted(found, key=lambda e: e.name)}


def adapter_name_for(model: object) -> str | None:
    """The name of the adapter that trains ``model``, or None when it is no known model.

    >>> adapter_name_for(0.5) is None
    True
    """
    adapters = _adapters()
    for cls in type(model).__mro__:
        root = (cls.__module__ or "").partition(".")[0]
        if root in adapters:
            return root
    return None


def load_adapter(name: str, hypermodel: Any, objective: Objective) -> ModelAdapter:
    """An instance of the adapter called ``name`` (its framework is imported now)."""
    cls = _adapters()[name].load()
    adapter: ModelAdapter = cls(hypermodel, objective)
    return adapter


def build_model(hypermodel: Callable[..., Any], hp: HyperParameters) -> Any:
    """A model from ``hypermodel``: ``HyperModel.build(hp)``, or ``build_model(hp)``."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel.build(hp)
    return hypermodel(hp)


def accepts_arguments(
    fn: Callable[..., Any], passes_trial: bool, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> bool:
    """False when ``fn`` cannot take ``hp`` (and ``trial``) followed by search's arguments.

    Such a function of ``hp`` alone is taken for a ``build_model(hp)``: the arguments are for
    its model's ``fit``.

    >>> accepts_arguments(lambda hp: 0.0, False, (1, 2), {}), accepts_arguments(
    ...     lambda hp, x, y: 0.0, False, (1, 2), {})
    (False, True)
    """
    if not args and not kwargs:
        return True
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(None, *([None] if passes_trial else []), *args, **kwargs)
    except TypeError:
        return False
    return True


def not_a_model(
    hypermodel: Callable[..., Any], result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str:
    """Why a hypermodel expected to build a model failed: it returned something else."""
    given = ", ".join([type(a).__name__ for a in args] + [f"{k}=" for k in kwargs])
    if isinstance(hypermodel, HyperModel):
        what = f"{type(hypermodel).__name__}.build(hp)"
    else:
        what = f"{getattr(hypermodel, '__name__', 'The hypermodel')}(hp)"
    return (
        f"{what} returned a {type(result).__name__} ({result!r:.80}), which is no model "
        f"hyperscout can train, and search() was given arguments ({given or 'none'}) for "
        "a model's fit. A hypermodel that builds models must return a compiled Keras model; "
        "an objective that returns metrics must accept search()'s arguments after hp (and "
        "trial)."
    )
