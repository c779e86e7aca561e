"""SearchCV's argument checks: one table of rules, told in the one template of ``_validation``.

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
from hyperscout._validation import check, fail, is_int, plain
from hyperscout.exceptions import InvalidArgumentError, InvalidSpaceError
from hyperscout.tuner.strategies import STRATEGIES as REGISTRY

if TYPE_CHECKING:
    from hyperscout.integrations.sklearn._search import SearchCV

#: The strategies SearchCV runs: every one of hyperscout's registry
#: (hyperscout.tuner.strategies), bayes first (its default).
STRATEGIES = ("bayes", *(name for name in REGISTRY if name != "bayes"))


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


_Rule = tuple[str, bool, str]  # an argument's name, whether it is right, what was expected


def _check_arguments(search: SearchCV) -> None:
    """Check the arguments of ``search`` against the table of rules, in the table's order."""
    rules = [*_search_rules(search), *_budget_rules(search), *_output_rules(search)]
    for name, ok, expected in rules:
        check("SearchCV", name, getattr(search, name), ok, expected)


def _is_text(value: Any, *allowed: str) -> bool:
    return isinstance(value, str) and (not allowed or value in allowed)


def _search_rules(s: SearchCV) -> list[_Rule]:
    """The rules of what is searched, how, and how long."""
    return [
        ("estimator", hasattr(s.estimator, "fit"), "an estimator"),
        (
            "strategy",
            _is_text(s.strategy, *STRATEGIES),
            "one of " + ", ".join(map(repr, STRATEGIES)),
        ),
        (
            "space",
            sum(v is not None for v in (s.space, s.param_grid, s.param_distributions)) == 1,
            "exactly one of space, param_grid and param_distributions (the same argument)",
        ),
        ("n_trials", s.n_trials is None or is_int(plain(s.n_trials), 1), "an int >= 1 or None"),
        ("n_iter", s.n_iter is None or is_int(plain(s.n_iter), 1), "an int >= 1 or None"),
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
            s.n_jobs is None or (is_int(plain(s.n_jobs), -(2**31)) and s.n_jobs != 0),
            "an int other than 0, or None",
        ),
        ("seed", s.seed is None or is_int(plain(s.seed), 0), "an int >= 0 or None"),
        (
            "random_state",
            s.random_state is None
            or is_int(plain(s.random_state), 0)
            or isinstance(s.random_state, np.random.RandomState),
            "None, an int >= 0 or a numpy RandomState",
        ),
    ]


def _budget_rules(s: SearchCV) -> list[_Rule]:
    """The rules of the budget of halving and Hyperband."""
    return [
        ("resource", _is_text(s.resource), "a str"),
        (
            "min_resources",
            _is_text(s.min_resources, "auto") or is_int(plain(s.min_resources), 1),
            "'auto' or an int >= 1",
        ),
        (
            "max_resources",
            _is_text(s.max_resources, "auto") or is_int(plain(s.max_resources), 1),
            "'auto' or an int >= 1",
        ),
        ("factor", is_int(plain(s.factor), 2), "an int >= 2"),
    ]


def _output_rules(s: SearchCV) -> list[_Rule]:
    """The rules of the scores, the output and where the study is kept."""

    def is_score(value: Any) -> bool:  # NaN included: error_score's default
        return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)

    return [
        (
            "error_score",
            _is_text(s.error_score, "raise") or is_score(s.error_score),
            "'raise' or a number",
        ),
        (
            "return_train_score",
            isinstance(s.return_train_score, (bool, np.bool_)),
            "True or False",
        ),
        ("verbose", is_int(plain(s.verbose), 0), "an int >= 0"),
        (
            "storage",
            s.storage is None or _is_text(s.storage),
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


def _scorers(search: SearchCV) -> tuple[Any, bool]:
    """The scorer, or a dict of named scorers, and whether several metrics were named."""
    from sklearn.metrics import check_scoring

    scoring = search.scoring
    if scoring is None or isinstance(scoring, str) or callable(scoring):
        return check_scoring(search.estimator, scoring=scoring), False
    if isinstance(scoring, (list, tuple)):
        names = list(scoring)
        check(
            "SearchCV",
            "scoring",
            scoring,
            bool(names)
            and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names),
            "a non-empty list of distinct scorer names",
        )
        return {n: check_scoring(search.estimator, scoring=n) for n in names}, True
    if isinstance(scoring, Mapping):
        check(
            "SearchCV",
            "scoring",
            scoring,
            bool(scoring)
            and all(isinstance(k, str) for k in scoring)
            and all(isinstance(v, str) or callable(v) for v in scoring.values()),
            "a non-empty dict of names to scorer names or callables",
        )
        return {k: check_scoring(search.estimator, scoring=v) for k, v in scoring.items()}, True
    fail(
        "SearchCV",
        "scoring",
        scoring,
        "None, a scorer name, a callable, or a list or dict of them",
    )


def _check_refit_metric(search: SearchCV, names: list[str]) -> None:
    """With several metrics, ``refit`` names one of them (or is False, or a callable)."""
    if search.refit is False or callable(search.refit):
        return
    check(
        "SearchCV",
        "refit",
        search.refit,
        isinstance(search.refit, str) and search.refit in names,
        f"with several metrics, one of their names {names} (or False, or a callable)",
    )
