"""The conformance suite of :class:`~hyperscout.samplers.base.Sampler` implementations.

Subclass :class:`SamplerConformance` in a test module (with ``Test`` in its name) and
implement :meth:`~SamplerConformance.make_sampler`; pytest runs every rule against it::

    from hyperscout.samplers import RandomSampler
    from hyperscout.testing.samplers import SamplerConformance

    class TestMySampler(SamplerConformance):
        def make_sampler(self):
            return RandomSampler()

The rules, each a test of the suite:

- the same seed and history give the same proposal (two fresh samplers driven alike propose
  alike, call after call);
- a proposal holds exactly the active parameters of a conditional space, each a value of its
  parameter, of its type (``int`` for ``Int``, ``float`` for ``Float`` ...), in range, on its
  step and scale, and the whole proposal is JSON (storage keeps it as JSON);
- an empty space (a define-by-run study before its first trial) gives ``{}``;
- nothing a trial already ran (:meth:`History.covers <hyperscout.history.History.covers>`,
  running trials included) is proposed in a finite space, the last configuration left is
  found, and ``None`` comes exactly when a finite space is exhausted (never for a continuous
  one, unless the sampler is :attr:`~hyperscout.samplers.base.Sampler.finite`, a grid);
- :meth:`~hyperscout.samplers.base.Sampler.sample_new` gives a value of the parameter;
- :meth:`~hyperscout.samplers.base.Sampler.settings` is JSON.

A sampler that does not promise to avoid repeats (a plain random draw, say) sets
:attr:`~SamplerConformance.avoids_tried` to False; the rules on finite spaces are then skipped.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from hyperscout.history import History
from hyperscout.objective import Objective
from hyperscout.samplers.base import Sampler, enumerate_grid
from hyperscout.space import Boolean, Choice, Fixed, Float, HyperParameters, Int, Parameter
from hyperscout.trial import Trial, TrialState, config_key

__all__ = [
    "LOSS",
    "SamplerConformance",
    "conditional_space",
    "drive_sampler",
    "finish",
    "finite_space",
    "mixed_space",
    "problems_of",
    "value_problem",
]

#: The objective of the histories the suite builds.
LOSS = Objective("loss", "min")


def mixed_space() -> HyperParameters:
    """One parameter of every kind, scale and step the space offers."""
    hp = HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Float("dropout", 0.0, 0.5)
    hp.Float("momentum", 0.5, 0.999, sampling="reverse_log")
    hp.Float("ratio", 0.0, 1.0, step=0.25)
    hp.Float("scale", 1.0, 16.0, step=2.0, sampling="log")
    hp.Int("layers", 1, 4)
    hp.Int("units", 16, 128, step=16)
    hp.Int("batch", 8, 512, sampling="log")
    hp.Int("filters", 4, 64, step=2, sampling="log")
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Choice("kernel", [3, 5, 7])
    hp.Choice("decay", [0.9, 0.99], ordered=False)
    hp.Boolean("batch_norm")
    hp.Fixed("epochs", 10)
    return hp


def conditional_space() -> HyperParameters:
    """Parameters switched on and off by others, nested two deep."""
    hp = HyperParameters()
    hp.Choice("model", ["linear", "tree", "net"])
    with hp.conditional_scope("model", ["linear"]):
        hp.Float("alpha", 1e-3, 10.0, sampling="log")
    with hp.conditional_scope("model", ["tree"]):
        hp.Int("depth", 1, 8)
    with hp.conditional_scope("model", ["net"]):
        hp.Int("width", 8, 64, step=8)
        hp.Boolean("dropout")
        with hp.conditional_scope("dropout", [True]):
            hp.Float("rate", 0.1, 0.5)
    hp.Float("shared", -1.0, 1.0)
    return hp


def finite_space() -> HyperParameters:
    """A space of 12 configurations: small enough to exhaust."""
    hp = HyperParameters()
    hp.Int("n", 1, 3)
    hp.Choice("kind", ["a", "b"])
    hp.Boolean("flag")
    return hp


def made_up_loss(values: Mapping[str, Any]) -> float:
    """A loss that depends on the configuration only (no randomness), in ``[0, 1)``."""
    return zlib.crc32(config_key(values).encode()) / 2**32


def value_problem(param: Parameter, value: Any) -> str | None:
    """Why ``value`` is not a value of ``param`` (its type, range, step or list), or None.

    >>> value_problem(Int("n", 1, 3), 2.0)
    'n=2.0 (float) is not an int'
    >>> value_problem(Choice("act", ["relu", "tanh"]), "relu") is None
    True
    """
    if isinstance(param, Int):
        ok_type = isinstance(value, int) and not isinstance(value, bool)
        kind = "an int"
    elif isinstance(param, Float):
        ok_type = isinstance(value, float)
        kind = "a float"
    elif isinstance(param, Boolean):
        ok_type = isinstance(value, bool)
        kind = "a bool"
    elif isinstance(param, (Choice, Fixed)):
        options = param.values if isinstance(param, Choice) else [param.value]
        if not any(type(value) is type(o) and value == o for o in options):
            return f"{param.name}={value!r} is not one of {options!r}"
        return None
    else:
        ok_type, kind = True, "a value"
    if not ok_type:
        return f"{param.name}={value!r} ({type(value).__name__}) is not {kind}"
    if not param.contains(value):
        return f"{param.name}={value!r} is outside its range, step or scale ({param!r})"
    return None


def problems_of(space: HyperParameters, values: Mapping[str, Any]) -> list[str]:
    """Every way ``values`` is not a proposal for ``space``; empty when it is one.

    A proposal holds exactly the parameters that are active given the values before them
    (in definition order), each a value of its parameter, and is JSON.

    >>> problems_of(conditional_space(), {"model": "tree", "depth": 3, "alpha": 0.1})
    ["'alpha' is inactive but proposed", "'shared' is active but missing"]
    """
    problems: list[str] = []
    known = set(space.names)
    problems += [
        f"{name!r} is not a parameter of the space" for name in values if name not in known
    ]
    for param in space.space:
        active = param.is_active(values)
        if active and param.name not in values:
            problems.append(f"{param.name!r} is active but missing")
        elif not active and param.name in values:
            problems.append(f"{param.name!r} is inactive but proposed")
        elif active:
            problem = value_problem(param, values[param.name])
            if problem is not None:
                problems.append(problem)
    try:
        json.dumps(dict(values))
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


#: What :func:`drive_sampler` calls with each proposal: ``check(space, history, proposal)``.
Check = Callable[[HyperParameters, History, dict[str, Any] | None], None]


def drive_sampler(
    sampler: Sampler,
    space: HyperParameters,
    n_trials: int,
    *,
    seed: int = 0,
    running: int = 0,
    check: Check | None = None,
    trials: list[Trial] | None = None,
) -> list[dict[str, Any] | None]:
    """Ask ``sampler`` ``n_trials`` times as the tuner does; every proposal is then run.

    The ``rng`` of proposal ``k`` is seeded from ``seed`` and ``k`` (as the tuner does). Each
    proposal becomes a trial that ends (:func:`finish`) once ``running`` newer trials have
    started: with ``running > 0`` the sampler sees trials still running, as with parallel
    workers. ``check(space, history, proposal)`` sees each proposal with the history it came
    from. The driving stops early at a None (an exhausted space). Returns the proposals.
    """
    trials = list(trials or [])
    proposals: list[dict[str, Any] | None] = []
    for _ in range(n_trials):
        history = History(list(trials), LOSS)
        rng = np.random.default_rng([seed, len(trials)])
        proposal = sampler.sample(space, history, rng)
        if check is not None:
            check(space, history, proposal)
        proposals.append(None if proposal is None else dict(proposal))
        if proposal is None:
            break
        trials.append(Trial(len(trials), dict(proposal), TrialState.RUNNING))
        for k in range(len(trials) - running):
            if not trials[k].is_finished:
                trials[k] = finish(trials[k])
    return proposals


def finish(trial: Trial) -> Trial:
    """``trial`` ended, by its number: every 5th fails, every 5th is pruned, the rest complete.

    The loss is :func:`made_up_loss` (a pruned trial's, worse, is its one report).
    """
    loss = made_up_loss(trial.values)
    if trial.number % 5 == 4:
        return dataclasses.replace(trial, state=TrialState.FAILED, error="made to fail")
    if trial.number % 5 == 3:
        return dataclasses.replace(
            trial,
            state=TrialState.PRUNED,
            value=loss + 1.0,
            intermediate={1: {LOSS.name: loss + 1.0}},
        )
    return dataclasses.replace(trial, state=TrialState.COMPLETE, value=loss)


class SamplerConformance:
    """The behaviour every :class:`Sampler` must show; subclass it with ``Test`` in the name.

    Attributes:
        n_trials: proposals asked in the driven rules (enough to pass a model-based sampler's
            start-up: build the sampler with a small ``n_startup_trials``).
        avoids_tried: the sampler promises never to propose what a trial already ran in a
            finite space, and None once it is exhausted (every built-in one does).
    """

    n_trials: int = 12
    avoids_tried: bool = True

    def make_sampler(self) -> Sampler:
        """A new sampler, in the state the tuner gets it."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_sampler()")

    def _finite_only(self) -> None:
        if not self.avoids_tried:
            pytest.skip(f"{type(self).__name__}: the sampler may propose what was tried")

    # -- determinism ---------------------------------------------------------------------
    @pytest.mark.parametrize("make_space", [mixed_space, conditional_space, finite_space])
    def test_same_seed_and_history_give_the_same_proposals(
        self, make_space: Callable[[], HyperParameters]
    ) -> None:
        first = drive_sampler(self.make_sampler(), make_space(), self.n_trials, seed=3, running=1)
        again = drive_sampler(self.make_sampler(), make_space(), self.n_trials, seed=3, running=1)
        assert first == again
        # And from a history it did not build: a resumed search asks a fresh sampler.
        done = [
            finish(Trial(k, dict(v), TrialState.RUNNING))
            for k, v in enumerate(first[: self.n_trials // 2])
            if v is not None
        ]
        history = History(done, LOSS)
        proposals = [
            self.make_sampler().sample(make_space(), history, np.random.default_rng([3, len(done)]))
            for _ in range(2)
        ]
        assert proposals[0] == proposals[1]

    # -- what a proposal holds -----------------------------------------------------------
    @pytest.mark.parametrize("make_space", [mixed_space, conditional_space])
    def test_proposals_hold_the_active_parameters_with_valid_values(
        self, make_space: Callable[[], HyperParameters]
    ) -> None:
        def check(space: HyperParameters, history: History, proposal: Any) -> None:
            assert proposal is not None, f"None after {len(history)} trials of a continuous space"
            problems = problems_of(space, proposal)
            assert not problems, f"proposal {len(history)}: {proposal!r}: " + "; ".join(problems)

        drive_sampler(self.make_sampler(), make_space(), self.n_trials, running=2, check=check)

    def test_an_empty_space_gives_an_empty_proposal(self) -> None:
        proposal = self.make_sampler().sample(
            HyperParameters(), History([], LOSS), np.random.default_rng(0)
        )
        assert proposal == {}

    def test_sample_new_gives_a_value_of_the_parameter(self) -> None:
        sampler = self.make_sampler()
        space = mixed_space()
        for k, param in enumerate(space.space):
            value = sampler.sample_new(param, {}, np.random.default_rng([5, k]))
            problem = value_problem(param, value)
            assert problem is None, problem

    def test_settings_are_json(self) -> None:
        settings = self.make_sampler().settings()
        assert isinstance(settings, dict)
        assert json.loads(json.dumps(settings)) == settings

    # -- finite spaces -------------------------------------------------------------------
    def test_nothing_already_tried_is_proposed_and_none_ends_a_finite_space(self) -> None:
        self._finite_only()
        size = len(list(enumerate_grid(finite_space())))

        def check(space: HyperParameters, history: History, proposal: Any) -> None:
            if proposal is None:
                left = [v for v in enumerate_grid(space) if not history.covers(v)]
                assert not left, f"None after {len(history)} trials while {left} are untried"
                return
            assert not history.covers(proposal), f"{proposal!r} was tried already"
            assert not problems_of(space, proposal), problems_of(space, proposal)

        proposals = drive_sampler(
            self.make_sampler(), finite_space(), size + 1, running=2, check=check
        )
        assert len(proposals) == size + 1 and proposals[-1] is None

    def test_running_trials_and_partial_reads_count_as_tried(self) -> None:
        self._finite_only()
        space = finite_space()
        # Trial 0 read only n and kind (its code skipped flag): it ran both flags. Trial 1
        # still runs. Together they leave exactly one configuration.
        everything = list(enumerate_grid(space))
        last = everything[-1]
        done = [
            Trial(k, {"n": v["n"], "kind": v["kind"]}, TrialState.COMPLETE, value=0.1 * k)
            for k, v in enumerate(everything[:-2:2])
        ]
        done.append(Trial(len(done), dict(everything[-2]), TrialState.RUNNING))
        assert [v for v in everything if not History(done, LOSS).covers(v)] == [last]
        for seed in range(3):
            proposal = self.make_sampler().sample(
                space, History(done, LOSS), np.random.default_rng(seed)
            )
            assert proposal == last, f"seed {seed}: {proposal!r}, but only {last!r} is left"
        covered = [*done, Trial(len(done), dict(last), TrialState.FAILED)]
        proposal = self.make_sampler().sample(
            space, History(covered, LOSS), np.random.default_rng(0)
        )
        assert proposal is None, f"{proposal!r} from a space that every trial covers"

    def test_a_continuous_space_never_gives_none(self) -> None:
        sampler = self.make_sampler()
        if sampler.finite:
            pytest.skip(f"{sampler!r} is finite: it ends every space (a grid of the floats)")
        hp = HyperParameters()
        hp.Float("x", 0.0, 1.0)
        proposals = drive_sampler(sampler, hp, self.n_trials)
        assert None not in proposals
