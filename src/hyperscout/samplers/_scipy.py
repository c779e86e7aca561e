"""SciPy's modules, imported when a sampler first needs them.

``import scipy.stats`` alone takes most of a second, and ``import hyperscout`` (every CLI
call, every worker process) needs no SciPy at all: so the samplers reach SciPy only through
these functions, inside the code that computes. After the first call an import is a lookup
in ``sys.modules``.

>>> float(special().ndtr(0.0))
0.5
"""

from __future__ import annotations

from typing import Any

__all__ = ["lapack", "optimize", "qmc", "special"]


def special() -> Any:
    """:mod:`scipy.special` (the normal distribution function and its kin)."""
    import scipy.special

    return scipy.special


def optimize() -> Any:
    """:mod:`scipy.optimize` (L-BFGS-B)."""
    import scipy.optimize

    return scipy.optimize


def lapack() -> Any:
    """:mod:`scipy.linalg.lapack` (Cholesky factorisations and triangular solves)."""
    from scipy.linalg import lapack as module

    return module


def qmc() -> Any:
    """:mod:`scipy.stats.qmc` (scrambled Sobol sequences)."""
    from scipy.stats import qmc as module

    return module
