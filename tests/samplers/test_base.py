"""What the trials ran (coverage) and which conditions their reads reveal."""

from __future__ import annotations

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.samplers.base import Coverage, infer_conditions
from hyperscout.space import Condition
from hyperscout.trial import Trial, TrialState

LOSS = Objective("loss", "min")


def done(number: int, values: dict[str, object], state: TrialState = TrialState.COMPLETE) -> Trial:
    return Trial(number, dict(values), state, value=float(number))


def test_a_trial_covers_every_configuration_that_agrees_with_what_it_read() -> None:
    history = hs.History([done(0, {"n_layers": 1, "units_0": 32})], LOSS)
    assert history.covers({"n_layers": 1, "units_0": 32, "units_1": 64, "units_2": 32})
    assert history.covers({"n_layers": 1, "units_0": 32})
    assert not history.covers({"n_layers": 1, "units_0": 64, "units_1": 64})
    assert not history.covers({"n_layers": 2, "units_0": 32, "units_1": 64})
    assert not history.covers({"units_0": 32})  # lacks a value the trial read


def test_a_trial_that_read_nothing_covers_everything() -> None:
    assert hs.History([done(0, {})], LOSS).covers({"x": 0.5})


def test_a_trial_given_up_to_run_again_covers_nothing() -> None:
    """A killed worker's first define-by-run trial holds only its proposal, {}."""
    killed = Trial(0, {}, TrialState.FAILED, attrs={"rerun": True, "abandoned": True})
    coverage = Coverage().update([killed])
    assert not coverage.covers({"a": 0, "b": 0})
    failed_for_good = Trial(1, {"a": 1}, TrialState.FAILED)
    assert Coverage().update([killed, failed_for_good]).covers({"a": 1, "b": 0})


def test_a_grid_whose_first_trial_was_killed_still_runs_every_point() -> None:
    def objective(hp: hs.HyperParameters) -> float:
        return float(hp.Int("a", 0, 2) + hp.Choice("b", [10, 20]))

    tuner = hs.GridSearch(objective, storage="memory", seed=0, verbose=0)
    # The first trial of a new study, started blind ({}) and given up when its worker died.
    first = tuner.storage.create_trial(tuner._study_id, values={}, claim="slot/0")
    tuner.storage.finish_trial(
        tuner._study_id,
        first.number,
        state=TrialState.FAILED,
        error="killed",
        attrs={"rerun": True, "abandoned": True},
    )
    tuner.search()
    complete = [t.values for t in tuner.trials if t.state is TrialState.COMPLETE]
    assert len(complete) == 6
    assert {(v["a"], v["b"]) for v in complete} == {(a, b) for a in range(3) for b in (10, 20)}


def test_a_running_trial_covers_its_proposal_until_it_records_what_it_read() -> None:
    coverage = Coverage()
    proposal = {"n_layers": 2, "units_0": 32}
    coverage.update([Trial(0, proposal, TrialState.RUNNING)])
    assert coverage.covers({"n_layers": 2, "units_0": 32, "units_1": 32})
    # It met units_1 (new to the space) and drew 64: the proposal alone no longer counts.
    finished = Trial(0, {**proposal, "units_1": 64}, TrialState.COMPLETE, value=1.0)
    coverage.update([finished])
    assert not coverage.covers({"n_layers": 2, "units_0": 32, "units_1": 32})
    assert coverage.covers({"n_layers": 2, "units_0": 32, "units_1": 64})
    assert coverage.added == [finished.values]


def test_coverage_follows_a_growing_study_and_starts_over_for_another() -> None:
    coverage = Coverage()
    trials = [done(0, {"x": 1}), done(1, {"x": 2})]
    coverage.update(trials)
    coverage.update([*trials, done(2, {"x": 3})])
    assert [coverage.covers({"x": x}) for x in (1, 2, 3, 4)] == [True, True, True, False]
    coverage.update([done(0, {"x": 4})])  # fewer trials: another study
    assert [coverage.covers({"x": x}) for x in (1, 4)] == [False, True]


def layers_space() -> hs.HyperParameters:
    space = hs.HyperParameters()
    space.Int("n_layers", 1, 3)
    space.Choice("units_0", [32, 64])
    space.Choice("units_1", [32, 64])
    space.Choice("units_2", [32, 64])
    space.Boolean("bias")
    return space


def test_conditions_are_inferred_from_which_parameters_trials_read() -> None:
    trials = [
        done(0, {"n_layers": 1, "units_0": 32, "bias": True}),
        done(1, {"n_layers": 2, "units_0": 64, "units_1": 32, "bias": False}),
        done(2, {"n_layers": 3, "units_0": 32, "units_1": 64, "units_2": 32, "bias": True}),
        # Running and failed trials hold whole proposals: they are not evidence.
        Trial(3, {"n_layers": 1, "units_0": 32, "units_1": 64, "units_2": 64}, TrialState.RUNNING),
        Trial(4, {"n_layers": 1, "units_0": 64, "units_1": 64, "units_2": 32}, TrialState.FAILED),
    ]
    space = infer_conditions(layers_space(), trials)
    assert space.parameter("units_0").conditions == ()
    assert space.parameter("units_1").conditions == (Condition("n_layers", (2, 3)),)
    assert space.parameter("units_2").conditions == (Condition("n_layers", (3,)),)
    assert space.parameter("bias").conditions == ()
    assert layers_space().parameter("units_2").conditions == ()  # the space given is kept


def test_a_parent_value_not_tried_yet_keeps_the_parameter_on() -> None:
    trials = [
        done(0, {"n_layers": 1, "units_0": 32, "bias": True}),
        done(1, {"n_layers": 2, "units_0": 64, "units_1": 32, "bias": False}),
    ]
    space = infer_conditions(layers_space(), trials)
    assert space.parameter("units_1").conditions == (Condition("n_layers", (2, 3)),)
    assert space.parameter("units_2").conditions == ()  # never read: nothing to tell


def test_nothing_is_inferred_when_no_parent_explains_the_reads() -> None:
    space = hs.HyperParameters()
    space.Float("lr", 1e-4, 1e-1, sampling="log")  # continuous: cannot be a parent
    space.Choice("act", ["relu", "tanh"])
    space.Int("extra", 0, 3)
    trials = [
        done(0, {"lr": 0.01, "act": "relu"}),
        done(1, {"lr": 0.02, "act": "relu", "extra": 1}),  # relu both with and without extra
        done(2, {"lr": 0.03, "act": "tanh", "extra": 2}),
    ]
    inferred = infer_conditions(space, trials)
    assert inferred.parameter("extra").conditions == ()
    complete = [done(0, {"lr": 0.01, "act": "relu", "extra": 0})]
    assert infer_conditions(space, complete) is space  # every trial read everything
