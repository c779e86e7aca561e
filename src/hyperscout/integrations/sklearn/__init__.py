"""scikit-learn front end: :class:`SearchCV`, a search estimator driven by hyperscout."""

from __future__ import annotations

from hyperscout.integrations.sklearn._search import SEARCH_METRIC as SEARCH_METRIC
from hyperscout.integrations.sklearn._search import STRATEGIES as STRATEGIES
from hyperscout.integrations.sklearn._search import (
    AllFitsFailedError,
    Boolean,
    Choice,
    Fixed,
    Float,
    Int,
    ParameterSpec,
    SearchCV,
)

__all__ = [
    "AllFitsFailedError",
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "Int",
    "ParameterSpec",
    "SearchCV",
]
