"""SearchCV's argument checks: one template for the errors, and one table of rules.

The arguments are checked at ``fit``, not in the constructor, as scikit-learn's conventions ask.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperscout._paths import PROJECT_NAME_EXPECTED, is_project_name
from hyperscout.exceptions import InvalidArgumentError, InvalidSpaceError

if TYPE_CHECKING:
    from hyperscout.integrations.sklearn._search import SearchCV

STRATEGIES = ("bayes", "random", "grid", "halving", "hyperband")


def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    """The one template of SearchCV's argument errors."""
    if not ok:
        raise InvalidArgumentError(f"SearchCV({name}=...): expected {expected}, got {value!r}.")


@contextlib.contextmanager
def _named_as(owner: str, renames: Mapping[str, str]) -> Iterator[None]:
    """Argument errors told with another class's name and argument names (``renames``)."""
    try:
        yield
    except (InvalidArgumentError, InvalidSpaceError) as exc:
        message = re.sub(r"\bSearchCV\b", owner, str(exc))
        for old, new in renames.items():
            message = re.sub(rf"(?<![\w.']){old}(?=[\[:=])", new, message)
        if message == str(exc):
            raise
        raise type(exc)(message).with_traceback(exc.__traceback__) from None


def _is_int(value: Any, minimum: int) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, np.integer))
        and int(value) >= minimum
    )


def _check_arguments(search: SearchCV) -> None:
    """Check the arguments of ``search`` against the table of rules."""

    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)

    def is_text(value: Any, *allowed: str) -> bool:
        return isinstance(value, str) and (not allowed or value in allowed)

    s = search
    rules: list[tuple[str, bool, str]] = [
        ("estimator", hasattr(s.estimator, "fit"), "an estimator"),
        (
            "strategy",
            is_text(s.strategy, *STRATEGIES),
            "one of " + ", ".join(map(repr, STRATEGIES)),
        ),
        (
            "space",
            sum(v is not None for v in (s.space, s.param_grid, s.param_distributions)) == 1,
            "exactly one of space, param_grid and param_distributions (the same argument)",
        ),
        ("n_trials", s.n_trials is None or _is_int(s.n_trials, 1), "an int >= 1 or None"),
        ("n_iter", s.n_iter is None or _is_int(s.n_iter, 1), "an int >= 1 or None"),
        (
            "n_iter",
            s.n_trials is None or s.n_iter is None,
            "None when n_trials is given (n_iter is scikit-learn's name for n_trials)",
        ),
        (
            "refit",
            isinstance(s.refit, (bool, str)) or callable(s.refit),
            "True, False, a metric name or a callable",
        ),
        (
            "n_jobs",
            s.n_jobs is None or (_is_int(s.n_jobs, -(2**31)) and s.n_jobs != 0),
            "an int other than 0, or None",
        ),
        ("seed", s.seed is None or _is_int(s.seed, 0), "an int >= 0 or None"),
        (
            "random_state",
            s.random_state is None
            or _is_int(s.random_state, 0)
            or isinstance(s.random_state, np.random.RandomState),
            "None, an int >= 0 or a numpy RandomState",
        ),
        ("resource", is_text(s.resource), "a str"),
        (
            "min_resources",
            is_text(s.min_resources, "auto") or _is_int(s.min_resources, 1),
            "'auto' or an int >= 1",
        ),
        (
            "max_resources",
            is_text(s.max_resources, "auto") or _is_int(s.max_resources, 1),
            "'auto' or an int >= 1",
        ),
        ("factor", _is_int(s.factor, 2), "an int >= 2"),
        (
            "error_score",
            is_text(s.error_score, "raise") or is_number(s.error_score),
            "'raise' or a number",
        ),
        (
            "return_train_score",
            isinstance(s.return_train_score, (bool, np.bool_)),
            "True or False",
        ),
        ("verbose", _is_int(s.verbose, 0), "an int >= 0"),
        (
            "storage",
            s.storage is None or is_text(s.storage),
            "None, 'memory' or a database URL such as 'sqlite:///search.db' (a Storage "
            "object cannot be cloned by scikit-learn)",
        ),
        (
            "directory",
            s.directory is None or isinstance(s.directory, (str, os.PathLike)),
            "a folder or None",
        ),
        ("project_name", is_project_name(s.project_name), PROJECT_NAME_EXPECTED),
    ]
    for name, ok, expected in rules:
        _check(name, getattr(search, name), ok, expected)
