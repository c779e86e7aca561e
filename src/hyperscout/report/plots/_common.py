"""What every plot shares: the study read once, the trials that count, the parameters' axes."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hyperscout._validation import check
from hyperscout.history import budget_rank
from hyperscout.report.study import StudyData, study_of
from hyperscout.trial import Bookkeeping, Trial, TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "MIN_ANALYSIS_TRIALS",
    "STATE_COLOURS",
    "Axis",
    "analysis_trials",
    "axes_of",
    "budget_label",
    "check_params",
    "esc",
    "first_line",
    "is_result",
    "new_figure",
    "objective_label",
    "study_data",
    "values_text",
]

#: The fewest complete trials on one budget that the parameter plots and the importance read
#: (under budgets they read the highest budget that has at least this many, see
#: :func:`analysis_trials`).
MIN_ANALYSIS_TRIALS = 20

# Colours by trial state, shared by the plots so that a pruned trial looks alike everywhere.
STATE_COLOURS = {
    TrialState.COMPLETE: "#1f77b4",
    TrialState.PRUNED: "#ff7f0e",
    TrialState.FAILED: "#d62728",
    TrialState.RUNNING: "#7f7f7f",
}


def study_data(study: Any) -> StudyData:
    """``study`` as a :class:`StudyData` (anything :func:`study_of` accepts)."""
    return study_of(study)


def new_figure(title: str) -> go.Figure:
    """An empty figure with the plots' common layout."""
    import plotly.graph_objects as go

    figure = go.Figure()
    figure.update_layout(title={"text": title}, template="plotly_white")
    return figure


def objective_label(data: StudyData) -> str:
    """The objective's name with its direction: ``val_loss (min)``."""
    return f"{esc(data.objective.name)} ({data.objective.direction})"


def budget_label(budget: float | None) -> str:
    """A budget as the plots name it: ``budget 9``, or ``full budget`` for ``None``."""
    if budget is None:
        return "full budget"
    return f"budget {budget:g}"


def is_result(trial: Trial) -> bool:
    """True for a COMPLETE trial with a finite value."""
    value = trial.value
    return trial.state is TrialState.COMPLETE and value is not None and math.isfinite(value)


def analysis_trials(data: StudyData) -> tuple[list[Trial], float | None, bool]:
    """The trials that the parameter plots and the importance compare, and their budget.

    Without budgets: every COMPLETE trial with a finite value. Under budgets (successive
    halving, Hyperband, ASHA), values on different budgets do not measure the same thing, so
    only one budget's trials are compared: the highest budget with at least
    :data:`MIN_ANALYSIS_TRIALS` complete trials, else the budget with the most. Returns the
    trials, their budget and whether the study has budgets.
    """
    # A sensitivity sweep's points are not a sample of the space: they would bias the slices
    # and the importance toward the best configuration's neighbourhood.
    results = [t for t in data.trials if is_result(t) and Bookkeeping.SENSITIVITY not in t.attrs]
    budgets = {t.budget for t in results}
    if len(budgets) <= 1:
        return results, next(iter(budgets), None), budgets != {None} and bool(budgets)
    by_budget: dict[float | None, list[Trial]] = {}
    for trial in results:
        by_budget.setdefault(trial.budget, []).append(trial)
    enough = [b for b, ts in by_budget.items() if len(ts) >= MIN_ANALYSIS_TRIALS]
    if enough:
        chosen = max(enough, key=budget_rank)
    else:
        chosen = max(by_budget, key=lambda b: (len(by_budget[b]), budget_rank(b)))
    return by_budget[chosen], chosen, True


@dataclass(frozen=True)
class Axis:
    """How one parameter is drawn: ``kind`` is ``"log"``, ``"linear"`` or ``"category"``.

    ``categories`` lists a categorical parameter's values (as text) in the space's order.
    """

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    @property
    def is_numeric(self) -> bool:
        """True for a log or linear axis."""
        return self.kind != "category"

    @property
    def title(self) -> str:
        """The parameter's name, escaped for plotly's text."""
        return esc(self.name)

    def position(self, value: Any) -> Any:
        """Where ``value`` sits on this axis: a category's (escaped) text, or the number."""
        return esc(value) if self.kind == "category" else value


def axes_of(
    data: StudyData,
    trials: Sequence[Trial],
    params: Sequence[str] | None,
    *,
    owner: str = "axes_of",
) -> list[Axis]:
    """The axes of ``params`` (default: every parameter the trials read that varies).

    A parameter's axis is logarithmic when it is sampled on a log scale, categorical for
    unordered choices, booleans and values that are not numbers, linear otherwise. Fixed
    parameters and parameters with one value among the trials are left out of the default.

    Raises:
        InvalidArgumentError: ``params`` is a str, or names a parameter the study does not
            have (the message names ``owner``, the plot that was asked).
    """
    if params is not None:
        check_params(data, params, owner)
    seen: dict[str, list[Any]] = {}
    for trial in trials:
        for name, value in trial.values.items():
            seen.setdefault(name, []).append(value)
    if params is None:
        order = [n for n in data.space.names if n in seen]
        order += [n for n in seen if n not in data.space]
        names = [n for n in order if _varies(data, n, seen[n])]
    else:
        names = list(params)
    return [_axis(data, name, seen.get(name, [])) for name in names]


def _varies(data: StudyData, name: str, values: list[Any]) -> bool:
    if name in data.space and data.space.parameter(name).kind == "fixed":
        return False
    return len({repr(v) for v in values}) > 1


def _axis(data: StudyData, name: str, values: list[Any]) -> Axis:
    param = data.space.parameter(name) if name in data.space else None
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if param is not None and (param.is_categorical or param.kind == "fixed"):
        listed = list(getattr(param, "values", None) or [getattr(param, "value", None)])
        if param.kind == "boolean":
            listed = [False, True]
        return Axis(name, "category", tuple(esc(v) for v in listed), tuple(listed))
    if param is None and not numbers:
        distinct = sorted({str(v) for v in values})
        return Axis(name, "category", tuple(esc(v) for v in distinct), tuple(distinct))
    if getattr(param, "sampling", "linear") == "log":
        return Axis(name, "log")
    return Axis(name, "linear")


def esc(text: Any) -> str:
    """User text (names, values, errors) made literal for plotly's text, which reads a few
    HTML tags and entities: ``<script>`` is shown as typed, never read as a tag.

    Quotes are left alone: with ``<`` and ``>`` escaped no tag (nor attribute) can open,
    and plotly shows ``&quot;`` as typed.

    >>> esc("<b>x</b> & 'y'")
    "&lt;b&gt;x&lt;/b&gt; &amp; 'y'"
    """
    return html.escape(str(text), quote=False)


def first_line(text: str | None) -> str:
    """The first non-empty line of an error text (its reason), or ``no message``."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return "no message"


def values_text(trial: Trial) -> str:
    """A trial's values for a hover label, escaped: ``x=0.5, act=relu``."""
    return esc(", ".join(f"{k}={v}" for k, v in trial.values.items()))


def check_params(data: StudyData, params: Any, owner: str) -> None:
    """Refuse ``params`` unless it is a list of the study's parameter names."""
    known = set(data.space.names) | {n for t in data.trials for n in t.values}
    ok = (
        isinstance(params, Sequence)
        and not isinstance(params, str)
        and all(isinstance(n, str) and n in known for n in params)
    )
    expected = f"a list of the study's parameter names ({', '.join(sorted(known)) or 'none'})"
    check(owner, "params", params, ok, expected)
