"""Hypermodels, and how the tuner calls them.

A *hypermodel* either returns metrics (the plain objective ``f(hp)``) or builds a model that a
framework trains (``build_model(hp)``, an :class:`HyperModel`). :mod:`.base` holds the
hypermodel types and the seam to frameworks (:class:`ModelAdapter`), :mod:`.results` reads
what an objective returns, and :mod:`.caller` is what the tuner's loop calls for one execution
of a trial. No framework is imported here.
"""

from __future__ import annotations

from hyperscout.hypermodel.base import (
    FunctionHyperModel,
    HyperModel,
    ModelAdapter,
    accepts_arguments,
    adapter_name_for,
    as_hypermodel,
    build_model,
    load_adapter,
    looks_like_builder,
    not_a_model,
    run_trial_metrics,
)

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
