"""Every built-in sampler through the sampler conformance suite (hyperscout.testing.samplers).

Model-based samplers get small start-ups and budgets, so that the model proposes within the
suite's dozen trials and the whole suite stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hyperscout.samplers import (
    AutoSampler,
    GPSampler,
    GridSampler,
    History,
    RandomSampler,
    Sampler,
    TPESampler,
)
from hyperscout.space import HyperParameters
from hyperscout.testing.samplers import (
    SamplerConformance,
    conditional_space,
    mixed_space,
    value_problem,
)


def small_gp() -> GPSampler:
    return GPSampler(n_startup_trials=3, n_candidates=64, n_restarts=1)


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
    n_trials = 9  # the model proposes from the 5th on

    def make_sampler(self) -> Sampler:
        return small_gp()


class TestAutoSampler(SamplerConformance):
    # max_gp_trials=8: the GP proposes first, TPE takes over within the suite's trials.
    def make_sampler(self) -> Sampler:
        return AutoSampler(gp=small_gp(), tpe=TPESampler(n_startup_trials=4), max_gp_trials=8)


# -- the suite itself: it fails samplers that break a rule ---------------------------------
class _Global(Sampler):
    """Draws from its own unseeded generator, not from the rng it is given."""

    def __init__(self) -> None:
        self._rng = np.random.default_rng()

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        return RandomSampler().sample(space, history, self._rng)


class _EveryParameter(Sampler):
    """Proposes every parameter, active or not."""

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        return {p.name: p.sample(rng) for p in space.space}


class _NumPyInts(Sampler):
    """Proposes NumPy integers (no JSON) for ints."""

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        values = RandomSampler().sample(space, history, rng)
        assert values is not None
        return {k: np.int64(v) if type(v) is int else v for k, v in values.items()}


class _Repeats(Sampler):
    """Proposes the first configuration of the grid for ever."""

    def sample(
        self, space: HyperParameters, history: History, rng: np.random.Generator
    ) -> dict[str, Any] | None:
        return GridSampler().sample(space, History([], history.objective), rng)


def suite_for(sampler: Callable[[], Sampler]) -> SamplerConformance:
    class Suite(SamplerConformance):
        def make_sampler(self) -> Sampler:
            return sampler()

    return Suite()


def test_the_suite_fails_a_sampler_that_ignores_its_rng() -> None:
    with pytest.raises(AssertionError):
        suite_for(_Global).test_same_seed_and_history_give_the_same_proposals(mixed_space)


def test_the_suite_fails_a_sampler_that_proposes_inactive_parameters() -> None:
    suite = suite_for(_EveryParameter)
    with pytest.raises(AssertionError, match="'alpha' is inactive but proposed"):
        suite.test_proposals_hold_the_active_parameters_with_valid_values(conditional_space)


def test_the_suite_fails_a_sampler_that_proposes_numpy_values() -> None:
    suite = suite_for(_NumPyInts)
    with pytest.raises(AssertionError, match=r"layers=.*\(int64\) is not an int"):
        suite.test_proposals_hold_the_active_parameters_with_valid_values(mixed_space)


def test_the_suite_fails_a_sampler_that_repeats_itself() -> None:
    suite = suite_for(_Repeats)
    with pytest.raises(AssertionError, match="was tried already"):
        suite.test_nothing_already_tried_is_proposed_and_none_ends_a_finite_space()
    with pytest.raises(AssertionError, match=r"only .* is left"):
        suite.test_running_trials_and_partial_reads_count_as_tried()


def test_value_problem_reads_range_step_and_scale() -> None:
    space = mixed_space()
    assert value_problem(space.parameter("units"), 48) is None
    assert "outside" in str(value_problem(space.parameter("units"), 40))  # off its step
    assert "outside" in str(value_problem(space.parameter("lr"), 0.5))
    assert "not a float" in str(value_problem(space.parameter("lr"), 1))
    assert "not one of" in str(value_problem(space.parameter("kernel"), 3.0))
    assert "not one of" in str(value_problem(space.parameter("epochs"), 11))
