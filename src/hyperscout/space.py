"""The search space: hyperparameters declared where the model is built.

``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean`` and ``hp.Fixed`` register a parameter the
first time they are called and return this trial's value every time (define-by-run), so the space
grows as the code reaches new parameters. Parameters inside ``hp.conditional_scope`` (or given
``parent_name=``/``parent_values=``) exist only while their condition holds; an inactive
parameter is absent from the trial's values and its call returns ``None``.

A trial records only the parameters its code read (:attr:`HyperParameters.read_values`), so
plain Python control flow needs no declared condition: in
``for i in range(hp.Int("n_layers", 1, 3)): hp.Choice(f"units_{i}", ...)`` a one-layer trial
records no ``units_1``, and an ``if``/``else`` records only the branch taken. Samplers count a
trial as having run every configuration that agrees with what it read
(:class:`hyperscout.samplers.base.Coverage`).

Every parameter encodes its values to ``[0, 1]`` and decodes them back (log scales and steps
respected): samplers work in that unit cube. A discrete parameter with ``n`` values maps value
``i`` to the middle of the ``i``-th of ``n`` equal buckets, so a uniform draw is uniform over
its values.

>>> hp = HyperParameters()
>>> hp.Float("lr", 1e-4, 1e-1, sampling="log")
0.0001
>>> hp.Choice("activation", ["relu", "tanh"])
'relu'
>>> hp.values
{'lr': 0.0001, 'activation': 'relu'}
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from hyperscout._parameters import (
    DEFAULT_GRID_POINTS,
    Boolean,
    Choice,
    Condition,
    Fixed,
    Float,
    Int,
    Parameter,
)
from hyperscout._parameters.declared import EntryRules
from hyperscout.exceptions import InvalidArgumentError, InvalidSpaceError

__all__ = [
    "DEFAULT_GRID_POINTS",
    "Boolean",
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "HyperParameters",
    "Int",
    "Parameter",
]

_SPACE_FORMAT = 1


def _frozen(value: Any) -> Any:
    """Lists as tuples, so that arguments can key a dict."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


# A function that gives the value of a parameter met for the first time during a trial.
NewValueFunction = Callable[[Parameter, Mapping[str, Any]], Any]


class HyperParameters:
    """The search space and the values of one trial.

    Inside an objective, ``hp`` is given by the tuner and each call returns this trial's value.
    Declared ahead (``hp = HyperParameters(); hp.Float(...)``) it fixes the space and can be
    passed to a tuner as ``hyperparameters=``.

    >>> hp = HyperParameters()
    >>> if hp.Boolean("dropout", default=True):
    ...     with hp.conditional_scope("dropout", [True]):
    ...         rate = hp.Float("rate", 0.1, 0.5, step=0.1)
    >>> hp.values
    {'dropout': True, 'rate': 0.1}
    >>> HyperParameters.from_dict(hp.to_dict()).names
    ['dropout', 'rate']
    """

    def __init__(self) -> None:
        self._space: dict[str, Parameter] = {}
        self._values: dict[str, Any] = {}
        # Names whose value this trial read (see read_values), in the order first read.
        self._read: dict[str, None] = {}
        self._scope: list[Condition] = []
        self._new_value: NewValueFunction | None = None
        # Parameters by the arguments that defined them, shared by copies (see _define).
        self._known: dict[tuple[Any, ...], Parameter] = {}
        # Set by a tuner's hyperparameters= (see _declare_ahead), kept by copies.
        self._rules: EntryRules | None = None

    # -- the space -----------------------------------------------------------------------
    @property
    def space(self) -> list[Parameter]:
        """The parameters, in the order they were defined (parents before children)."""
        return list(self._space.values())

    @property
    def names(self) -> list[str]:
        """The parameter names, in definition order."""
        return list(self._space)

    @property
    def values(self) -> dict[str, Any]:
        """This trial's value of every active parameter known so far, by name.

        Looking at the whole dict counts as reading every value in it (see
        :attr:`read_values`): the program may depend on any of them.
        """
        self._read.update(dict.fromkeys(self._values))
        return self._values

    @values.setter
    def values(self, values: dict[str, Any]) -> None:
        self._values = values

    @property
    def read_values(self) -> dict[str, Any]:
        """The values this trial read, in space order: what the tuner records for it.

        A value is read by a call that returns it (``hp.Int``, ``hp.Float``, ``hp.Choice``,
        ``hp.Boolean``, ``hp.Fixed``, ``hp.get``, ``hp[name]``) or by looking at
        :attr:`values`. The parents whose conditions switch a read parameter on count as
        read too. A parameter the program never reached (the third layer's units when
        ``num_layers`` is 2, the other branch of an ``if``) is left out: the trial did not
        depend on it.

        >>> hp = HyperParameters()
        >>> for i in range(hp.Int("layers", 1, 3)):
        ...     _ = hp.Choice(f"units_{i}", [32, 64])
        >>> hp = hp.with_values({"layers": 1, "units_0": 64, "units_1": 32})
        >>> for i in range(hp.Int("layers", 1, 3)):
        ...     _ = hp.Choice(f"units_{i}", [32, 64])
        >>> hp.read_values
        {'layers': 1, 'units_0': 64}
        """
        wanted = set()
        for name in self._read:
            if name in self._values:
                wanted.add(name)
                param = self._space.get(name)
                stack = list(param.conditions) if param is not None else []
                while stack:  # the parents that switch it on, and theirs
                    parent = stack.pop().parent
                    if parent not in wanted and parent in self._values:
                        wanted.add(parent)
                        grand = self._space.get(parent)
                        stack.extend(grand.conditions if grand is not None else ())
        return {k: v for k, v in self._values.items() if k in wanted}

    def __contains__(self, name: object) -> bool:
        return name in self._space

    def __len__(self) -> int:
        return len(self._space)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def parameter(self, name: str) -> Parameter:
        """The definition of ``name``."""
        try:
            return self._space[name]
        except KeyError:
            raise KeyError(f"No hyperparameter named {name!r}; defined: {self.names}.") from None

    def get(self, name: str) -> Any:
        """The value of ``name`` in this trial (its default when no value was set)."""
        if name in self._values:
            self._read[name] = None
            return self._values[name]
        return self.parameter(name).default

    def is_active(self, name: str | Parameter, values: Mapping[str, Any] | None = None) -> bool:
        """True when every condition of the parameter holds (for ``values``, or this trial's)."""
        param = self.parameter(name) if isinstance(name, str) else name
        return param.is_active(self._values if values is None else values)

    def active_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` without the parameters that their conditions switch off, in space order."""
        kept: dict[str, Any] = {}
        for param in self._space.values():
            if param.name in values and param.is_active(kept):
                kept[param.name] = values[param.name]
        extra = {k: v for k, v in values.items() if k not in self._space}
        return {**kept, **extra}

    # -- defining parameters -------------------------------------------------------------
    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: str = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
        *,
        step_size: int | None = None,
    ) -> Any:
        """An integer parameter; returns this trial's value (None when inactive).

        ``step_size`` is accepted as another name of ``step`` (older KerasTuner examples).
        """
        step = step if step is not None else step_size
        args = (min_value, max_value, step, sampling, default)
        return self._define(Int, name, args, parent_name, parent_values)

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
        *,
        step_size: float | None = None,
    ) -> Any:
        """A float parameter (``sampling`` linear, log or reverse_log); returns its value."""
        step = step if step is not None else step_size
        args = (min_value, max_value, step, sampling, default)
        return self._define(Float, name, args, parent_name, parent_values)

    def Choice(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> Any:
        """One of ``values`` (all ints, floats, strs or bools); returns this trial's choice."""
        return self._define(Choice, name, (values, ordered, default), parent_name, parent_values)

    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> Any:
        """True or False; returns this trial's value."""
        return self._define(Boolean, name, (default,), parent_name, parent_values)

    def Fixed(
        self,
        name: str,
        value: Any,
        parent_name: str | None = None,
        parent_values: Sequence[Any] | None = None,
    ) -> Any:
        """A constant that is recorded but not searched; returns it."""
        return self._define(Fixed, name, (value,), parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Sequence[Any]) -> Iterator[None]:
        """Parameters defined inside exist only while ``parent_name`` is in ``parent_values``.

        Scopes nest: a parameter in two scopes needs both conditions.
        """
        condition = self._condition("hp.conditional_scope", parent_name, parent_values)
        self._scope.append(condition)
        try:
            yield
        finally:
            self._scope.pop()

    def _condition(self, label: str, parent_name: str, parent_values: Any) -> Condition:
        if parent_name not in self._space:
            raise InvalidSpaceError(
                f"{label}: the parent {parent_name!r} is not defined; define it before its "
                f"children (defined so far: {self.names})."
            )
        if isinstance(parent_values, (str, bytes)) or not isinstance(parent_values, Sequence):
            parent_values = [parent_values]
        if not parent_values:
            raise InvalidSpaceError(
                f"{label}: parent_values for {parent_name!r} must not be empty."
            )
        parent = self._space[parent_name]
        outside = [v for v in parent_values if not parent.contains(v)]
        # A parent restricted or fixed by hyperparameters= may lack values that the objective's
        # scopes name: their condition never holds, as in KerasTuner.
        if outside and not (self._rules is not None and self._rules.decides(parent_name)):
            raise InvalidSpaceError(
                f"{label}: parent_values {outside!r} are not values of {parent_name!r} "
                f"({parent.grid() if parent.cardinality else parent!r})."
            )
        return Condition(parent_name, tuple(parent_values))

    def _conditions(
        self, name: str, parent_name: str | None, parent_values: Sequence[Any] | None
    ) -> tuple[Condition, ...]:
        conditions = list(self._scope)
        if parent_name is not None or parent_values is not None:
            if parent_name is None or parent_values is None:
                raise InvalidSpaceError(
                    f"hp parameter {name!r}: parent_name and parent_values go together, got "
                    f"parent_name={parent_name!r}, parent_values={parent_values!r}."
                )
            conditions.append(self._condition(f"hp parameter {name!r}", parent_name, parent_values))
        return tuple(conditions)

    def _define(
        self,
        cls: type[Parameter],
        name: str,
        args: tuple[Any, ...],
        parent_name: str | None,
        parent_values: Any,
    ) -> Any:
        """Register (or find) a parameter and return this trial's value for it.

        An objective calls ``hp.Float(...)`` with the same arguments in every trial; the
        parameter built the first time is found again by those arguments, so a repeated call
        costs a dict lookup instead of a validation.
        """
        signature: tuple[Any, ...] | None = (
            cls,
            name,
            tuple(_frozen(a) for a in args),
            parent_name,
            _frozen(parent_values),
            tuple(self._scope),
        )
        try:
            param = self._known.get(signature)  # type: ignore[arg-type]
        except TypeError:  # an unhashable argument: take the long way
            param, signature = None, None
        if param is None or self._space.get(name) is not param:
            conditions = self._conditions(name, parent_name, parent_values)
            param = self._add(cls(name, *args, conditions=conditions))
            if signature is not None:
                self._known[signature] = param
        return self._value_of(param)

    def _register(self, param: Parameter) -> Any:
        """Add ``param`` to the space (or check it against its first definition); its value."""
        return self._value_of(self._add(param))

    def _add(self, param: Parameter) -> Parameter:
        existing = self._space.get(param.name)
        if self._rules is not None:
            param = self._rules.apply(param, existing)
        if existing is None:
            self._space[param.name] = param
        elif existing.to_dict() != param.to_dict():
            error = InvalidSpaceError(
                f"{param._label()} is defined again differently: first {existing.to_dict()}, "
                f"now {param.to_dict()}. Give a different parameter a different name."
            )
            error.parameter = param.name
            raise error
        else:
            param = existing
        return param

    def _value_of(self, param: Parameter) -> Any:
        if not param.is_active(self._values):
            self._values.pop(param.name, None)
            return None
        self._read[param.name] = None
        if param.name in self._values:
            value = self._values[param.name]
            if not param.contains(value):
                raise InvalidArgumentError(
                    f"{param._label()}: the value {value!r} given for this trial is not one of "
                    f"its values ({param!r})."
                )
            return value
        if self._new_value is not None:
            value = self._new_value(param, self._values)
        else:
            value = param.default
        self._values[param.name] = value
        return value

    # -- copies and serialisation --------------------------------------------------------
    def copy(self) -> HyperParameters:
        """A copy with the same space and values."""
        clone = HyperParameters()
        clone._space = dict(self._space)
        clone._known = self._known
        clone._rules = self._rules
        clone._values = dict(self._values)
        return clone

    def with_values(
        self, values: Mapping[str, Any], *, new_value: NewValueFunction | None = None
    ) -> HyperParameters:
        """A copy of the space holding ``values`` (inactive ones dropped).

        ``new_value`` decides the value of a parameter first met while a trial runs.
        """
        clone = HyperParameters()
        clone._space = dict(self._space)
        clone._known = self._known
        clone._rules = self._rules
        clone._values = self.active_values(values)
        clone._new_value = new_value
        return clone

    def _declare_ahead(
        self, names: Iterable[str], *, tune_new_entries: bool, allow_new_entries: bool
    ) -> None:
        """Let the definitions of ``names`` stand over the objective's, as KerasTuner does.

        The tuner calls it with the names of its ``hyperparameters=``: an objective that defines
        one of them differently gets the declared definition's value (no error). A parameter
        not among them is searched (``tune_new_entries=True``), fixed at its default in every
        trial, or refused (``allow_new_entries=False``). Copies keep the rules.

        >>> space = HyperParameters()
        >>> _ = space.Choice("lr", [0.01, 0.001])
        >>> space._declare_ahead(["lr"], tune_new_entries=False, allow_new_entries=True)
        >>> hp = space.with_values({"lr": 0.001})
        >>> hp.Float("lr", 1e-4, 1e-1, sampling="log"), hp.Int("units", 8, 64, default=32)
        (0.001, 32)
        >>> hp.parameter("units")
        Fixed('units', value=32)
        """
        self._rules = EntryRules(
            declared=frozenset(names),
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
        )

    def merge(self, other: HyperParameters) -> None:
        """Add the parameters of ``other`` that this space lacks (same names must agree)."""
        for param in other.space:
            existing = self._space.get(param.name)
            if existing is param:  # copies share their parameters: nothing to compare
                continue
            if existing is None:
                self._space[param.name] = param
            elif existing != param:
                error = InvalidSpaceError(
                    f"{param._label()} is defined again differently: first "
                    f"{existing.to_dict()}, now {param.to_dict()}."
                )
                error.parameter = param.name
                raise error

    def to_dict(self) -> dict[str, Any]:
        """The space as plain JSON-able data (values not included)."""
        return {"format": _SPACE_FORMAT, "parameters": [p.to_dict() for p in self._space.values()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HyperParameters:
        """Rebuild a space written by :meth:`to_dict`."""
        hp = cls()
        for entry in data.get("parameters", []):
            param = Parameter.from_dict(entry)
            for condition in param.conditions:
                if condition.parent not in hp._space:
                    raise InvalidSpaceError(
                        f"{param._label()}: the parent {condition.parent!r} is not defined "
                        "before it."
                    )
            hp._space[param.name] = param
        return hp

    def __repr__(self) -> str:
        return f"HyperParameters(values={self._values!r})"
