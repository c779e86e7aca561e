"""The search space: encoding to [0, 1], grids, serialisation, validation, define-by-run."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import hyperscout as hs
from hyperscout.space import Boolean, Choice, Condition, Fixed, Float, Int, Parameter

SETTINGS = settings(max_examples=100, deadline=None)

# -- strategies: random valid definitions --------------------------------------------------


@st.composite
def linear_ints(draw: st.DrawFn) -> Int:
    lo = draw(st.integers(-1000, 1000))
    span = draw(st.integers(0, 2000))
    step = draw(st.none() | st.integers(1, max(span, 1)))
    return Int("i", lo, lo + span, step=step)


@st.composite
def log_ints(draw: st.DrawFn) -> Int:
    lo = draw(st.integers(1, 1000))
    hi = lo + draw(st.integers(0, 5000))
    step = None
    if draw(st.booleans()):
        step = draw(st.integers(2, max(2, hi // lo)))
        assume(hi == lo or lo * step <= hi)
    return Int("i", lo, hi, step=step, sampling="log")


finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def linear_floats(draw: st.DrawFn) -> Float:
    lo = draw(st.floats(-1e3, 1e3, **finite))
    span = draw(st.just(0.0) | st.floats(1e-3, 1e3, **finite))
    step = None
    if span > 0 and draw(st.booleans()):
        # Steps of realistic size: at most a few hundred points. (From the span as drawn, not
        # as (lo + span) - lo, so that float noise in the range is tested too.)
        step = span / draw(st.floats(1.0, 300.0, **finite))
    return Float("f", lo, lo + span, step=step)


@st.composite
def log_floats(draw: st.DrawFn) -> Float:
    lo = 10 ** draw(st.floats(-6, 3, **finite))
    hi = lo * 10 ** draw(st.just(0.0) | st.floats(1e-3, 6, **finite))
    step = None
    if hi > lo * 1.01 and draw(st.booleans()):
        # A factor > 1 that fits in the range: min_value * step <= max_value.
        step = math.exp(draw(st.floats(0.01, 1.0, **finite)) * math.log(hi / lo))
        assume(step > 1.0001 and lo * step <= hi)
    return Float("f", lo, hi, step=step, sampling="log")


@st.composite
def reverse_log_floats(draw: st.DrawFn) -> Float:
    lo = 10 ** draw(st.floats(-4, 2, **finite))
    hi = lo * 10 ** draw(st.just(0.0) | st.floats(1e-3, 4, **finite))
    return Float("f", lo, hi, sampling="reverse_log")


def _distinct(elements: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(elements, min_size=1, max_size=8, unique=True)


choices = st.one_of(
    _distinct(st.integers(-100, 100)).map(lambda v: Choice("c", v)),
    # Floats that differ clearly (as real choice lists do): 0.001 .. 1000 on a coarse grid.
    _distinct(st.integers(-300, 300)).map(lambda v: Choice("c", [k / 10 for k in v])),
    _distinct(st.text("abcxyz", min_size=1, max_size=4)).map(lambda v: Choice("c", v)),
    _distinct(st.booleans()).map(lambda v: Choice("c", v)),
    st.tuples(_distinct(st.integers(0, 50)), st.booleans()).map(
        lambda t: Choice("c", t[0], ordered=t[1])
    ),
)
booleans = st.booleans().map(lambda d: Boolean("b", default=d))
fixeds = st.one_of(
    st.integers(-5, 5), st.floats(-10, 10, **finite), st.text(max_size=5), st.booleans()
).map(lambda v: Fixed("k", v))

numeric_params = st.one_of(
    linear_ints(), log_ints(), linear_floats(), log_floats(), reverse_log_floats()
)
all_params = st.one_of(numeric_params, choices, booleans, fixeds)
units = st.floats(0.0, 1.0, **finite)


def close(a: Any, b: Any, param: Parameter) -> bool:
    """Equal, or for floats equal up to the float noise of the parameter's range."""
    if isinstance(a, float) or isinstance(b, float):
        scale = max(1.0, abs(getattr(param, "max_value", 1.0)), abs(getattr(param, "min_value", 0)))
        return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9 * scale)
    return bool(a == b) and type(a) is type(b)


def is_ordered_numeric(param: Parameter) -> bool:
    if isinstance(param, (Int, Float)):
        return True
    return isinstance(param, Choice) and param.ordered


def small_discrete(param: Parameter) -> bool:
    """A discrete parameter whose buckets are equal: all but the log int without a step."""
    n = param.cardinality
    if n is None or n > 60:
        return False
    return not (isinstance(param, Int) and param.sampling == "log" and param.step is None)


# -- encode / decode ---------------------------------------------------------------------


@SETTINGS
@given(all_params, units)
def test_decode_gives_a_value_of_the_parameter(param: Parameter, u: float) -> None:
    value = param.decode(u)
    assert param.contains(value), f"{param!r}.decode({u}) = {value!r} is not contained"
    if isinstance(param, Int):
        assert type(value) is int
    if isinstance(param, Float):
        assert isinstance(value, float)
        tol = 1e-9 * max(1.0, abs(param.min_value), abs(param.max_value))
        assert param.min_value - tol <= value <= param.max_value + tol


@SETTINGS
@given(all_params, units)
def test_decode_of_encode_gives_the_value_back(param: Parameter, u: float) -> None:
    value = param.decode(u)
    unit = param.encode(value)
    assert 0.0 <= unit <= 1.0
    assert close(param.decode(unit), value, param)


@SETTINGS
@given(all_params, units)
def test_encode_of_decode_stays_in_the_same_bucket(param: Parameter, u: float) -> None:
    # Encoding a decoded value and decoding again is a fixed point: no drift.
    once = param.decode(u)
    twice = param.decode(param.encode(param.decode(param.encode(once))))
    assert close(once, twice, param)


@SETTINGS
@given(numeric_params, units, units)
def test_encode_is_monotone_for_numbers(param: Parameter, u1: float, u2: float) -> None:
    v1, v2 = sorted([param.decode(u1), param.decode(u2)])
    assert param.encode(v1) <= param.encode(v2)
    # And decode is monotone too: a larger unit never gives a smaller value.
    lo_u, hi_u = sorted([u1, u2])
    assert param.decode(lo_u) <= param.decode(hi_u)


@SETTINGS
@given(st.tuples(_distinct(st.integers(-50, 50)), units, units))
def test_encode_is_monotone_for_ordered_choices(case: tuple[list[int], float, float]) -> None:
    values, u1, u2 = case
    param = Choice("c", sorted(values), ordered=True)
    v1, v2 = sorted([param.decode(u1), param.decode(u2)])
    assert param.encode(v1) <= param.encode(v2)


@SETTINGS
@given(all_params)
def test_uniform_units_hit_every_value_of_a_small_discrete_parameter_equally(
    param: Parameter,
) -> None:
    assume(small_discrete(param))
    n = param.cardinality
    assert n is not None
    per_bucket = 7
    # The midpoints of n * per_bucket equal slices of [0, 1]: each value must own per_bucket.
    decoded = [param.decode((j + 0.5) / (n * per_bucket)) for j in range(n * per_bucket)]
    keys = [repr(v) for v in decoded]
    counts = {k: keys.count(k) for k in keys}
    assert len(counts) == n
    assert set(counts.values()) == {per_bucket}
    # The edges of [0, 1] belong to the first and last values of the grid.
    grid = param.grid()
    assert close(param.decode(0.0), grid[0], param)
    assert close(param.decode(1.0), grid[-1], param)
    # Every value encodes to the middle of its own bucket.
    for i, value in enumerate(grid):
        assert param.encode(value) == pytest.approx((i + 0.5) / n)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        (Int("units", 16, 64, step=16), [16, 32, 48, 64]),
        (Int("n", 1, 5), [1, 2, 3, 4, 5]),
        (Int("n", 1, 100, step=3, sampling="log"), [1, 3, 9, 27, 81]),
        (Float("rate", 0.1, 0.7, step=0.2), [0.1, 0.3, 0.5, 0.7]),
        (Float("rate", 0.0, 1.0, step=0.3), [0.0, 0.3, 0.6, 0.9]),
        (Float("lr", 1e-4, 1e-1, step=10.0, sampling="log"), [1e-4, 1e-3, 1e-2, 1e-1]),
        (Choice("act", ["relu", "tanh", "gelu"]), ["relu", "tanh", "gelu"]),
        (Boolean("flag"), [False, True]),
        (Fixed("epochs", 10), [10]),
    ],
    ids=repr,
)
def test_grid_and_equal_buckets_of_known_parameters(param: Parameter, expected: list[Any]) -> None:
    assert param.grid() == expected
    n = len(expected)
    assert param.cardinality == n
    for i, value in enumerate(expected):
        assert param.encode(value) == pytest.approx((i + 0.5) / n)
        assert param.decode(i / n + 1e-9) == value
        assert param.decode((i + 1) / n - 1e-9) == value


@pytest.mark.parametrize(
    ("param", "value", "unit"),
    [
        (Float("lr", 1e-4, 1e-2, sampling="log"), 1e-3, 0.5),
        (Float("x", -1.0, 3.0), 0.0, 0.25),
        (Float("m", 0.9, 0.999, sampling="reverse_log"), 0.9, 0.0),
        (Float("m", 0.9, 0.999, sampling="reverse_log"), 0.999, 1.0),
    ],
)
def test_continuous_encodings_at_known_points(param: Float, value: float, unit: float) -> None:
    assert param.encode(value) == pytest.approx(unit)
    assert param.decode(unit) == pytest.approx(value)


@SETTINGS
@given(numeric_params, st.sampled_from([-1, 1]), st.floats(0.0, 1e-9, **finite))
def test_values_a_hair_past_the_bounds_encode_inside_the_unit_interval(
    param: Float | Int, side: int, noise: float
) -> None:
    # contains() forgives float noise at the bounds, so encode() must cope with it too.
    bound = float(param.max_value if side > 0 else param.min_value)
    value = bound + side * noise * max(1.0, abs(bound))
    assume(param.contains(value))
    assert 0.0 <= param.encode(value) <= 1.0
    assert param.contains(param.decode(param.encode(value)))


def test_reverse_log_at_the_top_with_a_tiny_minimum_does_not_crash() -> None:
    param = Float("m", 1e-12, 1.0, sampling="reverse_log")
    assert param.contains(1.0 + 5e-10)
    assert 0.99 < param.encode(1.0 + 5e-10) <= 1.0
    assert Float("m", 0.1, 10.0, sampling="reverse_log").encode(10.0) == 1.0


@pytest.mark.parametrize(("lo", "hi"), [(-1.7e308, 1.7e308), (-1.7976931348623157e308, 1e308)])
def test_a_range_wider_than_the_largest_float_spreads_its_samples(lo: float, hi: float) -> None:
    # hi - lo overflows to infinity: every sample used to be hi.
    param = Float("x", lo, hi)
    rng = np.random.default_rng(0)
    samples = [param.sample(rng) for _ in range(200)]
    assert all(lo <= x <= hi and math.isfinite(x) for x in samples)
    assert sum(x < (lo / 2 + hi / 2) for x in samples) > 50  # about half below the middle
    for x in samples[:20]:
        assert 0.0 <= param.encode(x) <= 1.0
        assert param.decode(param.encode(x)) == pytest.approx(x, rel=1e-9)
    assert param.encode(lo) == 0.0 and param.encode(hi) == 1.0
    assert len(param.grid(5)) == 5


def test_a_step_on_a_range_wider_than_the_largest_float_is_refused() -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"hp.Float\('x'\).*width inf"):
        Float("x", -1.7e308, 1.7e308, step=1e300)


@pytest.mark.parametrize("sampling", ["log", "reverse_log"])
def test_log_range_narrower_than_float_noise_still_encodes(sampling: str) -> None:
    # hi > lo, yet log(hi) == log(lo): encode must not divide by zero.
    param = Float("f", 10.0, 10.000000000000004, sampling=sampling)
    for value in (param.min_value, param.max_value, param.decode(0.5)):
        assert 0.0 <= param.encode(value) <= 1.0
        assert param.decode(param.encode(value)) == pytest.approx(value)


def test_log_and_reverse_log_put_density_at_opposite_ends() -> None:
    log = Float("lr", 1.0, 1000.0, sampling="log")
    rev = Float("m", 1.0, 1000.0, sampling="reverse_log")
    lin = Float("x", 1.0, 1000.0)
    # The middle of the unit interval: geometric mean for log, near max for reverse log.
    assert log.decode(0.5) == pytest.approx(math.sqrt(1000.0))
    assert lin.decode(0.5) == pytest.approx(500.5)
    assert rev.decode(0.5) == pytest.approx(1001.0 - math.sqrt(1000.0))


@SETTINGS
@given(all_params, st.integers(2, 12))
def test_grid_values_are_contained_distinct_and_sorted(param: Parameter, n_points: int) -> None:
    assume(param.cardinality is None or param.cardinality <= 3000)
    grid = param.grid(n_points)
    assert grid, "a grid is never empty"
    assert all(param.contains(v) for v in grid)
    assert len({repr(v) for v in grid}) == len(grid)
    if isinstance(param, (Int, Float)):
        assert grid == sorted(grid)
        assert close(grid[0], param.min_value, param)
        if param.cardinality is None:  # a float without a step: n_points values, ends included
            assert close(grid[-1], param.max_value, param)
            # (Ranges narrower than the 12 digits grid values are rounded to collapse.)
            if param.max_value - param.min_value > 1e-6 * max(1.0, abs(param.max_value)):
                assert len(grid) == n_points
        else:
            assert len(grid) == param.cardinality


@SETTINGS
@given(_distinct(st.floats(-1e6, 1e6, **finite) | st.integers(-(2**62), 2**62)))
def test_every_accepted_choice_value_is_told_apart(values: list[Any]) -> None:
    # Either the list is refused as not distinct, or each value keeps its own bucket.
    assume(len({type(v) for v in values}) == 1)
    try:
        param = Choice("c", values)
    except hs.InvalidSpaceError as exc:
        assert "'c'" in str(exc) and "distinct" in str(exc)
        return
    for i, value in enumerate(values):
        assert param.index(value) == i
        assert param.decode(param.encode(value)) == value


def test_large_ints_are_distinct_values_not_float_noise() -> None:
    seeds = Choice("seed", [10**12, 10**12 + 1])
    assert seeds.encode(10**12 + 1) == 0.75
    assert not seeds.contains(10**12 + 2)
    assert not Fixed("seed", 10**12).contains(10**12 + 5)
    space = hs.HyperParameters()
    space.Choice("seed", [10**12, 10**12 + 1])
    with pytest.raises(hs.InvalidArgumentError, match="'seed'"):
        space.with_values({"seed": 10**12 + 2}).Choice("seed", [10**12, 10**12 + 1])


def test_floats_closer_than_noise_are_not_distinct_choices() -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"'rate'.*must be distinct"):
        Choice("rate", [0.1, 0.1 + 1e-12, 0.5])
    with pytest.raises(hs.InvalidSpaceError, match=r"'rate'.*must be distinct"):
        Choice("rate", [0.1, 0.2, 0.1])
    assert Choice("rate", [0.1, 0.1 + 1e-6]).cardinality == 2


def test_a_step_equal_to_a_range_with_large_bounds_is_accepted() -> None:
    # 100000.3 - 100000.1 is 0.19999999999708962 in floats: still a step of 0.2 fits.
    assert Float("x", 100000.1, 100000.3, step=0.2).grid() == [100000.1, 100000.3]
    assert Float("x", 1e6 + 0.1, 1e6 + 0.3, step=0.1).grid() == [1000000.1, 1000000.2, 1000000.3]
    with pytest.raises(hs.InvalidSpaceError, match="larger than the range"):
        Float("x", 100000.1, 100000.3, step=0.2001)


def test_unordered_choices_are_categorical_and_numbers_ordered() -> None:
    assert Choice("act", ["relu", "tanh"]).is_categorical
    assert not Choice("units", [16, 32]).is_categorical
    assert Choice("units", [16, 32], ordered=False).is_categorical
    assert Boolean("b").is_categorical


# -- serialisation -------------------------------------------------------------------------


@SETTINGS
@given(all_params)
def test_parameter_to_dict_from_dict_round_trip_through_json(param: Parameter) -> None:
    data = json.loads(json.dumps(param.to_dict()))
    again = Parameter.from_dict(data)
    assert again == param
    assert type(again) is type(param)
    assert again.to_dict() == param.to_dict()
    assert again.grid(4) == param.grid(4)
    for u in (0.0, 0.3, 0.77, 1.0):
        assert close(again.decode(u), param.decode(u), param)


def build_conditional_space() -> hs.HyperParameters:
    hp = hs.HyperParameters()
    hp.Choice("model", ["cnn", "mlp", "rf"])
    with hp.conditional_scope("model", ["cnn", "mlp"]):
        hp.Int("layers", 1, 3)
        with hp.conditional_scope("layers", [2, 3]):
            hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.2)
    hp.Int("trees", 10, 1000, sampling="log", parent_name="model", parent_values=["rf"])
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Boolean("shuffle", default=True)
    hp.Fixed("epochs", 5)
    hp.Float("momentum", 0.5, 0.99, sampling="reverse_log")
    return hp


def test_hyperparameters_to_dict_from_dict_round_trip_through_json() -> None:
    hp = build_conditional_space()
    data = json.loads(json.dumps(hp.to_dict()))
    again = hs.HyperParameters.from_dict(data)
    assert again.to_dict() == hp.to_dict()
    assert again.names == ["model", "layers", "dropout", "trees", "lr", "shuffle", "epochs",
                           "momentum"]  # fmt: skip
    assert again.parameter("dropout").conditions == (
        Condition("model", ("cnn", "mlp")),
        Condition("layers", (2, 3)),
    )
    assert again.parameter("trees").conditions == (Condition("model", ("rf",)),)
    assert again.get("dropout") == 0.2
    assert again.get("shuffle") is True
    values = {"model": "rf", "layers": 2, "dropout": 0.3, "trees": 50, "lr": 0.01}
    assert again.active_values(values) == {"model": "rf", "trees": 50, "lr": 0.01}


@SETTINGS
@given(st.lists(all_params, min_size=1, max_size=6))
def test_random_spaces_round_trip_through_json(params: list[Parameter]) -> None:
    entries = [{**param.to_dict(), "name": f"p{i}"} for i, param in enumerate(params)]
    hp = hs.HyperParameters.from_dict({"parameters": entries})
    assert hp.names == [f"p{i}" for i in range(len(params))]
    again = hs.HyperParameters.from_dict(json.loads(json.dumps(hp.to_dict())))
    assert again.to_dict() == hp.to_dict()
    assert [again.parameter(n) for n in again.names] == hp.space


def test_from_dict_rejects_an_unknown_type_and_a_child_before_its_parent() -> None:
    with pytest.raises(hs.InvalidSpaceError, match="Unknown hyperparameter type 'complex'"):
        Parameter.from_dict({"type": "complex", "name": "z"})
    data = {
        "parameters": [
            {"type": "boolean", "name": "rate_on", "default": False,
             "conditions": [{"parent": "gate", "values": [True]}]},
            {"type": "boolean", "name": "gate", "default": False},
        ]
    }  # fmt: skip
    with pytest.raises(hs.InvalidSpaceError, match=r"rate_on.*'gate' is not defined"):
        hs.HyperParameters.from_dict(data)


# -- validation ----------------------------------------------------------------------------


def _redefine(hp: hs.HyperParameters) -> None:
    hp.Int("units", 8, 64)
    hp.Int("units", 8, 128)


def _redefine_type(hp: hs.HyperParameters) -> None:
    hp.Int("units", 8, 64)
    hp.Float("units", 8.0, 64.0)


def _redefine_condition(hp: hs.HyperParameters) -> None:
    hp.Boolean("gate")
    hp.Int("units", 8, 64)
    with hp.conditional_scope("gate", [True]):
        hp.Int("units", 8, 64)


def _scope_missing_parent(hp: hs.HyperParameters) -> None:
    with hp.conditional_scope("optimizer", ["adam"]):
        hp.Float("beta1", 0.8, 0.99)


def _arg_missing_parent(hp: hs.HyperParameters) -> None:
    hp.Float("beta1", 0.8, 0.99, parent_name="optimizer", parent_values=["adam"])


def _scope_bad_parent_values(hp: hs.HyperParameters) -> None:
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["adamw"]):
        hp.Float("beta1", 0.8, 0.99)


def _arg_bad_parent_values(hp: hs.HyperParameters) -> None:
    hp.Choice("optimizer", ["adam", "sgd"])
    hp.Float("beta1", 0.8, 0.99, parent_name="optimizer", parent_values=["adam", "rmsprop"])


def _bool_parent_with_int_value(hp: hs.HyperParameters) -> None:
    hp.Boolean("gate")
    hp.Float("rate", 0.0, 1.0, parent_name="gate", parent_values=[1])


def _parent_name_without_values(hp: hs.HyperParameters) -> None:
    hp.Boolean("gate")
    hp.Float("rate", 0.0, 1.0, parent_name="gate")


INVALID: list[tuple[str, Callable[[hs.HyperParameters], Any], str, str]] = [
    # (id, definition, name the message must give, what it must say was expected)
    ("int_min_gt_max", lambda hp: hp.Int("units", 64, 8), "units", "min_value must be <= max"),
    ("float_min_gt_max", lambda hp: hp.Float("lr", 0.1, 0.01), "lr", "min_value must be <= max"),
    ("float_log_min_zero", lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "lr",
     "needs min_value > 0"),
    ("float_log_min_negative", lambda hp: hp.Float("lr", -1.0, 1.0, sampling="log"), "lr",
     "needs min_value > 0"),
    ("int_log_min_zero", lambda hp: hp.Int("units", 0, 64, sampling="log"), "units",
     "needs min_value > 0"),
    ("reverse_log_min_zero", lambda hp: hp.Float("m", 0.0, 0.99, sampling="reverse_log"), "m",
     "needs min_value > 0"),
    ("int_step_zero", lambda hp: hp.Int("units", 8, 64, step=0), "units", "step must be > 0"),
    ("int_step_negative", lambda hp: hp.Int("units", 8, 64, step=-8), "units",
     "step must be > 0"),
    ("float_step_zero", lambda hp: hp.Float("rate", 0.0, 1.0, step=0.0), "rate",
     "step must be > 0"),
    ("float_step_negative", lambda hp: hp.Float("rate", 0.0, 1.0, step=-0.1), "rate",
     "step must be > 0"),
    ("log_step_not_a_factor", lambda hp: hp.Float("lr", 1e-4, 1.0, step=0.5, sampling="log"),
     "lr", "must be > 1"),
    ("int_step_too_large", lambda hp: hp.Int("units", 8, 64, step=100), "units",
     "larger than the range"),
    ("float_step_too_large", lambda hp: hp.Float("rate", 0.0, 1.0, step=1.5), "rate",
     "larger than the range"),
    ("log_step_too_large", lambda hp: hp.Float("lr", 1e-4, 1e-3, step=100.0, sampling="log"),
     "lr", "larger than the range"),
    ("choice_empty", lambda hp: hp.Choice("act", []), "act", "non-empty list"),
    ("choice_mixed_str_int", lambda hp: hp.Choice("act", ["relu", 1]), "act", "one type"),
    ("choice_mixed_int_float", lambda hp: hp.Choice("units", [16, 32.5]), "units", "one type"),
    ("choice_mixed_bool_int", lambda hp: hp.Choice("flag", [True, 0]), "flag", "one type"),
    ("choice_bad_type", lambda hp: hp.Choice("act", [None, "relu"]), "act",
     "ints, floats, strs or bools"),
    ("int_default_outside", lambda hp: hp.Int("units", 8, 64, default=128), "units",
     "default must be a value between 8 and 64"),
    ("int_default_off_step", lambda hp: hp.Int("units", 8, 64, step=8, default=10), "units",
     "on the step 8"),
    ("float_default_outside", lambda hp: hp.Float("lr", 0.1, 1.0, default=2.0), "lr",
     "default must be a value between"),
    ("choice_default_missing", lambda hp: hp.Choice("act", ["relu", "tanh"], default="gelu"),
     "act", "default must be one of"),
    ("choice_default_bool_for_int", lambda hp: hp.Choice("units", [0, 1], default=True),
     "units", "default must be one of"),
    ("boolean_default_not_bool", lambda hp: hp.Boolean("flag", default="yes"), "flag",
     "default must be True or False"),
    ("redefined_range", _redefine, "units", "defined again differently"),
    ("redefined_type", _redefine_type, "units", "defined again differently"),
    ("redefined_condition", _redefine_condition, "units", "defined again differently"),
    ("scope_parent_undefined", _scope_missing_parent, "optimizer", "define it before"),
    ("arg_parent_undefined", _arg_missing_parent, "beta1", "'optimizer' is not defined"),
    ("scope_parent_values_outside", _scope_bad_parent_values, "optimizer",
     "are not values of 'optimizer'"),
    ("arg_parent_values_outside", _arg_bad_parent_values, "beta1", r"\['rmsprop'\]"),
    ("bool_parent_int_value", _bool_parent_with_int_value, "rate", "not values of 'gate'"),
    ("parent_name_without_values", _parent_name_without_values, "rate", "go together"),
]  # fmt: skip


@pytest.mark.parametrize(("definition", "name", "expected"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])  # fmt: skip
def test_invalid_definition_raises_naming_the_parameter(
    definition: Callable[[hs.HyperParameters], Any], name: str, expected: str
) -> None:
    hp = hs.HyperParameters()
    with pytest.raises(hs.InvalidSpaceError, match=re.escape(repr(name))) as info:
        definition(hp)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, hs.HyperscoutError)
    assert re.search(expected, str(info.value)), str(info.value)


def test_a_failed_definition_leaves_the_space_unchanged() -> None:
    hp = hs.HyperParameters()
    hp.Int("units", 8, 64)
    with pytest.raises(hs.InvalidSpaceError):
        hp.Int("units", 8, 128)
    with pytest.raises(hs.InvalidSpaceError):
        hp.Float("lr", 1.0, 0.1)
    assert hp.names == ["units"]
    assert hp.parameter("units").to_dict()["max_value"] == 64
    assert hp.values == {"units": 8}


@SETTINGS
@given(st.integers(-(10**6), 10**6), st.integers(1, 10**6))
def test_any_int_min_above_max_raises(hi: int, gap: int) -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"'units'.*min_value must be <= max_value"):
        Int("units", hi + gap, hi)


@SETTINGS
@given(st.floats(-1e9, 1e9, **finite), st.floats(-1e9, 1e9, **finite),
       st.sampled_from(["linear", "log", "reverse_log"]))  # fmt: skip
def test_any_float_min_above_max_raises(a: float, b: float, sampling: str) -> None:
    assume(a != b)
    lo, hi = sorted([a, b])
    with pytest.raises(hs.InvalidSpaceError, match=r"'lr'.*min_value must be <= max_value"):
        Float("lr", hi, lo, sampling=sampling)


@SETTINGS
@given(st.floats(-1e6, 0.0, **finite), st.floats(1e-6, 1e6, **finite),
       st.sampled_from(["log", "reverse_log"]))  # fmt: skip
def test_any_log_range_from_zero_or_below_raises(lo: float, hi: float, sampling: str) -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"'lr'.*needs min_value > 0"):
        Float("lr", lo, hi, sampling=sampling)


@SETTINGS
@given(st.integers(-100, 100), st.integers(1, 100), st.integers(1, 1000))
def test_any_step_wider_than_the_range_raises(lo: int, span: int, extra: int) -> None:
    with pytest.raises(hs.InvalidSpaceError, match=r"'units'.*larger than the range"):
        Int("units", lo, lo + span, step=span + extra)
    with pytest.raises(hs.InvalidSpaceError, match=r"'rate'.*larger than the range"):
        Float("rate", float(lo), float(lo + span), step=span * (1.0 + extra / 100))


@SETTINGS
@given(linear_ints(), st.integers(-3000, 3000))
def test_int_default_is_accepted_exactly_when_contained(param: Int, default: int) -> None:
    if param.contains(default):
        again = Int("i", param.min_value, param.max_value, step=param.step, default=default)
        assert again.default == default
    else:
        with pytest.raises(hs.InvalidSpaceError, match=r"'i'.*default must be"):
            Int("i", param.min_value, param.max_value, step=param.step, default=default)


@SETTINGS
@given(st.lists(st.one_of(st.integers(), st.text(max_size=3), st.booleans(),
                          st.floats(-10, 10, **finite)), min_size=2, max_size=6))  # fmt: skip
def test_mixed_choice_lists_raise(values: list[Any]) -> None:
    kinds = {bool if isinstance(v, bool) else type(v) for v in values}
    assume(len(kinds) > 1)
    with pytest.raises(hs.InvalidSpaceError, match=r"'mix'.*one type"):
        Choice("mix", values)


# -- define-by-run -------------------------------------------------------------------------


def test_repeat_calls_return_the_trial_value_without_asking_again() -> None:
    asked: list[str] = []

    def new_value(param: Parameter, values: Any) -> Any:
        asked.append(param.name)
        return param.grid()[-1]

    hp = hs.HyperParameters().with_values({}, new_value=new_value)
    assert hp.Int("units", 8, 64, step=8) == 64
    assert hp.Int("units", 8, 64, step=8) == 64
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert asked == ["units", "act"]
    assert hp.values == {"units": 64, "act": "tanh"}


def test_given_values_are_returned_and_checked() -> None:
    space = hs.HyperParameters()
    space.Int("units", 8, 64, step=8)
    hp = space.with_values({"units": 32})
    assert hp.Int("units", 8, 64, step=8) == 32
    bad = space.with_values({"units": 33})
    with pytest.raises(hs.InvalidArgumentError, match=r"'units'.*33"):
        bad.Int("units", 8, 64, step=8)


def test_the_space_grows_as_code_reaches_new_parameters() -> None:
    hp = hs.HyperParameters()
    assert len(hp) == 0
    for i in range(3):
        hp.Int(f"units_{i}", 8, 64, default=16)
        assert len(hp) == i + 1
    assert hp.names == ["units_0", "units_1", "units_2"]
    assert hp.values == {"units_0": 16, "units_1": 16, "units_2": 16}
    assert "units_1" in hp and "units_9" not in hp


def test_inactive_parameter_returns_none_and_is_absent_from_values() -> None:
    hp = hs.HyperParameters()
    assert hp.Boolean("dropout") is False
    with hp.conditional_scope("dropout", [True]):
        assert hp.Float("rate", 0.1, 0.5) is None
    assert "rate" in hp  # registered in the space ...
    assert hp.values == {"dropout": False}  # ... but not a value of this trial
    assert not hp.is_active("rate")
    active = hp.with_values({"dropout": True})
    with active.conditional_scope("dropout", [True]):
        assert active.Float("rate", 0.1, 0.5) == 0.1
    assert active.values == {"dropout": True, "rate": 0.1}


def test_a_value_given_for_an_inactive_parameter_is_dropped() -> None:
    space = hs.HyperParameters()
    space.Boolean("dropout")
    space.Float("rate", 0.1, 0.5, parent_name="dropout", parent_values=[True])
    hp = space.with_values({"dropout": False, "rate": 0.3})
    assert hp.values == {"dropout": False}
    assert hp.Float("rate", 0.1, 0.5, parent_name="dropout", parent_values=[True]) is None


def test_nested_conditional_scopes_need_every_condition() -> None:
    space = hs.HyperParameters()
    space.Choice("model", ["cnn", "mlp"])
    with space.conditional_scope("model", ["cnn"]):
        space.Int("filters", 16, 32, step=16)
        with space.conditional_scope("filters", [32]):
            space.Boolean("batchnorm")
    assert space.parameter("batchnorm").conditions == (
        Condition("model", ("cnn",)),
        Condition("filters", (32,)),
    )

    def run(values: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
        hp = space.with_values(values)
        model = hp.Choice("model", ["cnn", "mlp"])
        filters = bn = None
        with hp.conditional_scope("model", ["cnn"]):
            filters = hp.Int("filters", 16, 32, step=16)
            with hp.conditional_scope("filters", [32]):
                bn = hp.Boolean("batchnorm")
        assert model == values["model"]
        return filters, bn, hp.values

    assert run({"model": "cnn", "filters": 32, "batchnorm": True}) == (
        32, True, {"model": "cnn", "filters": 32, "batchnorm": True})  # fmt: skip
    assert run({"model": "cnn", "filters": 16, "batchnorm": True}) == (
        16, None, {"model": "cnn", "filters": 16})  # fmt: skip
    # The inner condition holds (filters would be 32) but the outer does not.
    assert run({"model": "mlp", "filters": 32, "batchnorm": True}) == (
        None, None, {"model": "mlp"})  # fmt: skip
    # Scopes are popped on exit: a parameter after them is unconditional.
    hp = space.copy()
    with hp.conditional_scope("model", ["cnn"]):
        pass
    hp.Float("lr", 0.1, 1.0)
    assert hp.parameter("lr").conditions == ()


def test_parent_name_and_parent_values_arguments_match_a_scope() -> None:
    by_args = hs.HyperParameters()
    by_args.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    by_args.Float("momentum", 0.0, 0.9, parent_name="optimizer", parent_values=["sgd", "rmsprop"])
    by_scope = hs.HyperParameters()
    by_scope.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    with by_scope.conditional_scope("optimizer", ["sgd", "rmsprop"]):
        by_scope.Float("momentum", 0.0, 0.9)
    assert by_args.to_dict() == by_scope.to_dict()
    assert by_args.values == {"optimizer": "adam"}  # momentum inactive under adam
    assert by_args.is_active("momentum", {"optimizer": "sgd"})
    assert not by_args.is_active("momentum", {"optimizer": "adam"})
    # A single parent value needs no list.
    single = hs.HyperParameters()
    single.Boolean("gate", default=True)
    assert single.Int("k", 1, 3, parent_name="gate", parent_values=True) == 1
    assert single.parameter("k").conditions == (Condition("gate", (True,)),)


def test_redefinition_with_the_same_definition_is_fine() -> None:
    hp = hs.HyperParameters()
    first = hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)
    again = hp.Float("lr", 1e-4, 1e-1, sampling="log", default=1e-3)
    assert first == again == 1e-3
    # Ints given as the same float range, or an int range for a Float, are the same definition.
    hp.Float("x", 0, 1)
    hp.Float("x", 0.0, 1.0)
    assert len(hp) == 2
    hp.Boolean("gate")
    with hp.conditional_scope("gate", [True]):
        hp.Int("k", 1, 3)
        hp.Int("k", 1, 3)
    assert hp.names == ["lr", "x", "gate", "k"]


def test_step_size_is_an_alias_of_step() -> None:
    hp = hs.HyperParameters()
    hp.Int("units", 32, 128, step_size=32)
    hp.Float("rate", 0.0, 0.5, step_size=0.25)
    assert hp.parameter("units").grid() == [32, 64, 96, 128]
    assert hp.parameter("rate").grid() == [0.0, 0.25, 0.5]
    # Defining again with step= is the same definition.
    hp.Int("units", 32, 128, step=32)
    assert len(hp) == 2


def test_get_and_getitem_give_values_or_defaults() -> None:
    space = hs.HyperParameters()
    space.Int("units", 8, 64, default=32)
    space.Choice("act", ["relu", "tanh"], default="tanh")
    hp = space.with_values({"units": 16})
    assert hp["units"] == 16
    assert hp.get("act") == "tanh"  # no value yet: the default
    with pytest.raises(KeyError, match="'missing'"):
        hp.get("missing")


def test_merge_adds_missing_parameters_and_rejects_conflicts() -> None:
    a = hs.HyperParameters()
    a.Int("units", 8, 64)
    b = hs.HyperParameters()
    b.Int("units", 8, 64)
    b.Float("lr", 0.1, 1.0)
    a.merge(b)
    assert a.names == ["units", "lr"]
    c = hs.HyperParameters()
    c.Int("units", 8, 32)
    with pytest.raises(hs.InvalidSpaceError, match=r"'units'.*defined again differently"):
        a.merge(c)


# -- what a trial read ---------------------------------------------------------------------


def layers_space() -> hs.HyperParameters:
    """KerasTuner's idiom: a parameter per layer, inside a loop over the number of layers."""
    space = hs.HyperParameters()
    space.Int("num_layers", 1, 3)
    for i in range(3):
        space.Choice(f"units_{i}", [32, 64])
    return space


def test_read_values_hold_only_what_the_code_reached_in_a_loop() -> None:
    space = layers_space()
    hp = space.with_values({"num_layers": 2, "units_0": 64, "units_1": 32, "units_2": 64})
    for i in range(hp.Int("num_layers", 1, 3)):
        hp.Choice(f"units_{i}", [32, 64])
    assert hp.read_values == {"num_layers": 2, "units_0": 64, "units_1": 32}
    assert hp.get("units_2") == 64  # still known, just not read by this trial's code


def test_read_values_leave_out_the_branch_not_taken() -> None:
    space = hs.HyperParameters()
    space.Choice("classifier", ["SVC", "RandomForest"])
    space.Float("svc_c", 1e-3, 1e3, sampling="log")
    space.Int("rf_max_depth", 2, 32)
    hp = space.with_values({"classifier": "SVC", "svc_c": 4.62, "rf_max_depth": 32})
    if hp.Choice("classifier", ["SVC", "RandomForest"]) == "SVC":
        hp.Float("svc_c", 1e-3, 1e3, sampling="log")
    else:
        hp.Int("rf_max_depth", 2, 32)
    assert hp.read_values == {"classifier": "SVC", "svc_c": 4.62}


def test_get_getitem_and_the_values_dict_count_as_reads() -> None:
    space = hs.HyperParameters()
    space.Int("a", 0, 9)
    space.Int("b", 0, 9)
    space.Int("c", 0, 9)
    hp = space.with_values({"a": 1, "b": 2, "c": 3})
    assert hp.read_values == {}  # nothing read yet
    assert (hp.get("a"), hp["c"]) == (1, 3)
    assert hp.read_values == {"a": 1, "c": 3}
    other = space.with_values({"a": 1, "b": 2, "c": 3})
    assert other.values["b"] == 2  # the whole dict: every value may have been used
    assert other.read_values == {"a": 1, "b": 2, "c": 3}


def test_reading_a_child_counts_its_parents_and_conditional_scope_still_works() -> None:
    space = hs.HyperParameters()
    space.Boolean("dropout")
    with space.conditional_scope("dropout", [True]):
        space.Float("rate", 0.1, 0.5, step=0.1)
    hp = space.with_values({"dropout": True, "rate": 0.3})
    assert hp.get("rate") == 0.3  # the code read the child only
    assert hp.read_values == {"dropout": True, "rate": 0.3}
    off = space.with_values({"dropout": False, "rate": 0.3})
    with off.conditional_scope("dropout", [True]):
        assert off.Float("rate", 0.1, 0.5, step=0.1) is None  # inactive: None, not read
    assert off.read_values == {}
    assert off.Boolean("dropout") is False
    assert off.read_values == {"dropout": False}
