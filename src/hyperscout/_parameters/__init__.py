"""Parameter types of the search space: ``Int``, ``Float``, ``Choice``, ``Boolean``, ``Fixed``.

Each parameter validates its definition, encodes its values to ``[0, 1]`` and decodes them back
(log scales and steps respected), samples, and lists its grid values. ``HyperParameters`` in
:mod:`hyperscout.space` registers them define-by-run; import them from there (or from
``hyperscout``).

The base class and conditions are in :mod:`.base`, the numeric types in :mod:`.numeric`, the
types of listed values in :mod:`.choices`, and the rules of a space a tuner declared ahead in
:mod:`.declared`.
"""

from __future__ import annotations

from hyperscout._parameters.base import DEFAULT_GRID_POINTS, Condition, Parameter
from hyperscout._parameters.choices import Boolean, Choice, Fixed
from hyperscout._parameters.numeric import Float, Int

# The base of Int and Float, for the space table (report/tables.py) that describes ranges.
from hyperscout._parameters.numeric import _Numeric as _Numeric

__all__ = [
    "DEFAULT_GRID_POINTS",
    "Boolean",
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "Int",
    "Parameter",
]
