"""Helpers the tests of successive halving, Hyperband, ASHA and BOHB share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import hyperscout as hs
from hyperscout.objective import Objective
from hyperscout.space import HyperParameters
from hyperscout.trial import Trial, TrialState

LOSS = Objective("loss", "min")


def rung_members(trials: list[Trial], **place: Any) -> list[Trial]:
    """The trials at a place, a retried trial replaced by its retry."""
    retried = {t.attrs.get("retry_of") for t in trials}
    return [
        t
        for t in trials
        if t.number not in retried and all(t.attrs.get(k) == v for k, v in place.items())
    ]


def top(trials: list[Trial], n: int) -> set[int]:
    ok = [t for t in trials if t.state is TrialState.COMPLETE]
    return {t.number for t in sorted(ok, key=lambda t: (t.value, t.number))[:n]}


def reported(number: int, loss: float, steps: tuple[int, ...] = (1, 2, 3)) -> Trial:
    return Trial(
        number,
        {"x": number},
        TrialState.COMPLETE,
        value=loss,
        intermediate={s: {"loss": loss} for s in steps},
        budget=9,
    )


def epochs_objective(hp: hs.HyperParameters, trial: hs.RunningTrial) -> dict[str, float]:
    x = hp.Float("x", 0.0, 1.0)
    units = hp.Choice("units", [16, 32, 64])
    val_loss = 0.0
    for epoch in range(1, int(trial.budget) + 1):
        val_loss = (x - 0.3) ** 2 + abs(units - 32) / 100 + 1.0 / (epoch + 1)
        trial.report(epoch, val_loss=val_loss)
    return {"val_loss": val_loss}


def mixed_space() -> HyperParameters:
    hp = HyperParameters()
    hp.Choice("model", ["linear", "tree"])
    with hp.conditional_scope("model", ["linear"]):
        hp.Float("lr", 1e-4, 1e-1, sampling="log")
    with hp.conditional_scope("model", ["tree"]):
        hp.Int("depth", 1, 8)
    hp.Boolean("scale")
    return hp


def mixed_curve(values: Mapping[str, Any], step: float) -> float:
    if values["model"] == "linear":
        core = abs(math.log10(values["lr"]) + 2.0)
    else:
        core = abs(values["depth"] - 5) / 2
    return core + (0.0 if values["scale"] else 0.5) + 1.0 / (step + 1)
