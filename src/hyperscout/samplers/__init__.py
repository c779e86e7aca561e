"""Samplers propose configurations: grid, random, and model-based (TPE, Gaussian process)."""

from __future__ import annotations

from hyperscout.history import History
from hyperscout.samplers.auto import AutoSampler
from hyperscout.samplers.base import Sampler
from hyperscout.samplers.gp import GPSampler
from hyperscout.samplers.grid import GridSampler
from hyperscout.samplers.random import RandomSampler
from hyperscout.samplers.tpe import TPESampler

__all__ = [
    "AutoSampler",
    "GPSampler",
    "GridSampler",
    "History",
    "RandomSampler",
    "Sampler",
    "TPESampler",
]
