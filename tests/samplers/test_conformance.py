"""Every built-in sampler through the sampler conformance suite (hyperscout.testing.samplers).

Model-based samplers get small start-ups and budgets, so that the model proposes within the
suite's dozen trials and the whole suite stays fast.
"""

from __future__ import annotations

from hyperscout.samplers import (
    AutoSampler,
    GPSampler,
    GridSampler,
    RandomSampler,
    Sampler,
    TPESampler,
)
from hyperscout.testing.samplers import SamplerConformance


def small_gp() -> GPSampler:
    return GPSampler(n_startup_trials=4, n_candidates=64, n_restarts=1)


class TestGridSampler(SamplerConformance):
    def make_sampler(self) -> Sampler:
        return GridSampler(float_points=3)


class TestRandomSampler(SamplerConformance):
    def make_sampler(self) -> Sampler:
        return RandomSampler()


class TestTPESampler(SamplerConformance):
    def make_sampler(self) -> Sampler:
        return TPESampler(n_startup_trials=4)


class TestUnivariateTPESampler(SamplerConformance):
    def make_sampler(self) -> Sampler:
        return TPESampler(n_startup_trials=4, multivariate=False)


class TestGPSampler(SamplerConformance):
    def make_sampler(self) -> Sampler:
        return small_gp()


class TestAutoSampler(SamplerConformance):
    # max_gp_trials=8: the GP proposes first, TPE takes over within the suite's trials.
    def make_sampler(self) -> Sampler:
        return AutoSampler(gp=small_gp(), tpe=TPESampler(n_startup_trials=4), max_gp_trials=8)
