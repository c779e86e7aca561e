"""The one argument-check template: ``Owner(name=...): expected X, got Y.``

Every role (the presets and the tuner, samplers, schedulers, executors, storage, the
scikit-learn search) checks its arguments in its constructor through these helpers, so that
every such error reads alike and names who refused what. The owner is the name the user
typed: the class (``RandomSearch``, ``TPESampler``), or the method (``Tuner.search``).

>>> check_int("RandomSearch", "max_trials", 0, minimum=1)
Traceback (most recent call last):
...
hyperscout.exceptions.InvalidArgumentError: RandomSearch(max_trials=...): expected an int \
>= 1, got 0.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any, NoReturn

import numpy as np

from hyperscout.exceptions import InvalidArgumentError

__all__ = [
    "check",
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_seconds",
    "fail",
    "is_int",
    "is_number",
    "message",
    "near_miss",
    "plain",
]


def message(owner: str, name: str, value: Any, expected: str) -> str:
    """The template's sentence: ``Owner(name=...): expected X, got Y.``

    >>> message("GridSearch", "seed", "a", "an int or None")
    "GridSearch(seed=...): expected an int or None, got 'a'."
    """
    return f"{owner}({name}=...): expected {expected}, got {value!r}."


def fail(owner: str, name: str, value: Any, expected: str) -> NoReturn:
    """Raise :class:`~hyperscout.exceptions.InvalidArgumentError` with :func:`message`."""
    raise InvalidArgumentError(message(owner, name, value, expected))


def check(owner: str, name: str, value: Any, ok: bool, expected: str) -> None:
    """Refuse ``value`` (see :func:`fail`) unless ``ok``."""
    if not ok:
        fail(owner, name, value, expected)


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds, anything else as it is.

    Checks take ``plain(value)`` where a NumPy number is as good as a Python one (budgets,
    counts read from arrays); the checked value is then an int or a float, fit for JSON.

    >>> plain(np.int64(9)), plain(np.float32(0.5)), plain("a")
    (9, 0.5, 'a')
    """
    return value.item() if isinstance(value, np.generic) else value


def is_int(value: Any, minimum: int | None = None) -> bool:
    """True for an int (not a bool) at or above ``minimum``.

    >>> is_int(3, 1), is_int(True), is_int(2.0)
    (True, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return minimum is None or value >= minimum


def is_number(value: Any) -> bool:
    """True for a finite int or float (not a bool).

    >>> is_number(0.5), is_number(float("nan")), is_number("1")
    (True, False, False)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def check_int(
    owner: str,
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> None:
    """An int (not a bool) within ``[minimum, maximum]``, or None when ``allow_none``.

    >>> check_int("ASHAScheduler", "factor", 1, minimum=2)
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: ASHAScheduler(factor=...): expected an int \
>= 2, got 1.
    """
    if value is None and allow_none:
        return
    ok = is_int(value, minimum) and (maximum is None or value <= maximum)
    if not ok:
        fail(owner, name, value, _range("an int", minimum, maximum, False, allow_none))


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: bool = False,
    allow_none: bool = False,
) -> None:
    """A finite number within ``[minimum, maximum]`` (``above``: strictly above ``minimum``).

    >>> check_number("GPSampler", "xi", -1.0, minimum=0)
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: GPSampler(xi=...): expected a finite number \
>= 0, got -1.0.
    """
    if value is None and allow_none:
        return
    ok = is_number(value)
    if ok and minimum is not None:
        ok = value > minimum if above else value >= minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        fail(owner, name, value, _range("a finite number", minimum, maximum, above, allow_none))


def check_seconds(owner: str, name: str, value: Any) -> None:
    """A duration: finite seconds > 0, or None (no limit).

    >>> check_seconds("Tuner.search", "timeout", float("nan"))
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: Tuner.search(timeout=...): expected a finite \
number of seconds > 0, or None for no limit, got nan.
    """
    if value is not None and not (is_number(value) and value > 0):
        fail(owner, name, value, "a finite number of seconds > 0, or None for no limit")


def check_bool(owner: str, name: str, value: Any) -> None:
    """True or False (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        fail(owner, name, value, "True or False")


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    """One of ``choices``.

    >>> check_choice("SearchCV", "strategy", "bayesian", ["grid", "random"])
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: SearchCV(strategy=...): expected one of \
'grid', 'random', got 'bayesian'.
    """
    options = list(choices)
    try:
        ok = value in options
    except TypeError:  # an unhashable value against a set-like
        ok = False
    if not ok:
        fail(owner, name, value, "one of " + ", ".join(map(repr, options)))


def _range(
    kind: str, minimum: float | None, maximum: float | None, above: bool, allow_none: bool
) -> str:
    if minimum is not None and maximum is not None:
        text = f"{kind} in ({minimum}, {maximum}]" if above else f"{kind} in [{minimum}, {maximum}]"
    elif minimum is not None:
        text = f"{kind} {'>' if above else '>='} {minimum}"
    elif maximum is not None:
        text = f"{kind} <= {maximum}"
    else:
        text = kind
    return text + (" or None" if allow_none else "")


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The name of ``known`` that ``name`` is most likely a typo of, or None.

    Names are compared without case and separators (``Lr`` and ``lr``, ``batch-size`` and
    ``batch_size`` are one name), and close spellings (``momentun``, ``momentum``) match;
    names that differ only in their digits (``units_1``, ``units_2``) are different
    parameters, as define-by-run loops name them.

    >>> near_miss("Lr", ["lr", "units_1"]), near_miss("units_2", ["lr", "units_1"])
    ('lr', None)
    """

    def plain(text: str) -> str:
        return re.sub(r"[\s_.\-]", "", text.lower())

    def letters(text: str) -> str:
        return re.sub(r"\d", "", plain(text))

    known = list(known)
    if name in known:
        return None
    wanted = plain(name)
    candidates: dict[str, str] = {}
    for other in known:
        if plain(other) != wanted and letters(other) == letters(name):
            continue  # units_1 and units_2: another parameter, not a typo
        candidates.setdefault(plain(other), other)
    match = difflib.get_close_matches(wanted, list(candidates), n=1, cutoff=0.8)
    return candidates[match[0]] if match else None
