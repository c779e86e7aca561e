"""Samplers propose configurations: grid, random (and, later, model-based)."""

from __future__ import annotations

from hyperscout.samplers.base import History, Sampler
from hyperscout.samplers.grid import GridSampler
from hyperscout.samplers.random import RandomSampler

__all__ = ["GridSampler", "History", "RandomSampler", "Sampler"]
