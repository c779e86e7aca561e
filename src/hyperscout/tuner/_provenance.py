"""How a study was made (its provenance), kept with the study, and the checks on resume.

A new study keeps, in its meta, the hyperscout and Python versions, the preset, the sampler
and the scheduler with their settings (:meth:`~hyperscout.samplers.Sampler.settings`,
:meth:`~hyperscout.schedulers.Scheduler.settings`), the seed, the declared space, the host
and the start time. A tuner opened on the study again must use the same strategy: another
sampler or scheduler, other settings (Hyperband's ``max_epochs`` 9 then 27 would mix two sets
of brackets) or another explicit seed is refused with a sentence. The number of iterations
of the brackets, ``max_trials``, ``timeout``, ``verbose``, the executor and the retries only
say how long and how the search goes on: they may change.

>>> from hyperscout.samplers import GridSampler
>>> from hyperscout.schedulers import FIFOScheduler
>>> strategy_of(GridSampler(float_points=3), FIFOScheduler())["sampler"]
{'class': 'GridSampler', 'settings': {'float_points': 3}}
"""

from __future__ import annotations

import datetime
import json
import platform
import socket
from collections.abc import Mapping
from typing import Any

from hyperscout._version import __version__
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.samplers import Sampler
from hyperscout.schedulers import Scheduler
from hyperscout.schedulers.base import upgrade_settings

__all__ = [
    "SAFE_SETTINGS",
    "check_resume",
    "check_same_seed",
    "describe",
    "new_provenance",
    "strategy_of",
]

#: Settings that may change when a study resumes: they say how long the search goes on.
SAFE_SETTINGS = frozenset({"iterations", "hyperband_iterations"})

_WHAT_TO_DO = (
    "Resume it with the same {what}, use another project_name (--project-name on the "
    "command line) for the new search, or pass overwrite=True (--overwrite) to start over."
)


def _json(value: Any) -> Any:
    # As the storage will give it back: tuples become lists, keys strings.
    return json.loads(json.dumps(value, default=repr))


def strategy_of(sampler: Sampler, scheduler: Scheduler) -> dict[str, Any]:
    """The sampler and the scheduler of a search, each a class name and its settings."""
    return {
        "sampler": {"class": type(sampler).__name__, "settings": _json(sampler.settings())},
        "scheduler": {"class": type(scheduler).__name__, "settings": _json(scheduler.settings())},
    }


def new_provenance(
    *,
    preset: str,
    sampler: Sampler,
    scheduler: Scheduler,
    seed: int,
    space: Mapping[str, Any],
) -> dict[str, Any]:
    """The provenance of a study this process creates now."""
    return {
        "hyperscout": __version__,
        "python": platform.python_version(),
        "preset": preset,
        **strategy_of(sampler, scheduler),
        "seed": seed,
        "space": _json(space),
        "host": socket.gethostname(),
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _label(provenance: Mapping[str, Any]) -> str:
    sampler = provenance["sampler"]["class"]
    scheduler = provenance["scheduler"]["class"]
    return f"{provenance.get('preset', 'Tuner')} ({sampler} with {scheduler})"


def _first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first setting (a dotted path) whose value differs, skipping :data:`SAFE_SETTINGS`."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in [*old, *(k for k in new if k not in old)]:
            if key in SAFE_SETTINGS:
                continue
            found = _first_difference(old.get(key), new.get(key), f"{path}{key}.")
            if found is not None:
                return found
        return None
    return None if old == new else (path.rstrip("."), old, new)


def check_resume(project_name: str, stored: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Refuse to resume a study made by another strategy or with other settings.

    >>> from hyperscout.samplers import RandomSampler
    >>> from hyperscout.schedulers import HyperbandScheduler
    >>> old = strategy_of(RandomSampler(), HyperbandScheduler(1, 9))
    >>> check_resume("p", old, strategy_of(RandomSampler(), HyperbandScheduler(1, 27)))
    Traceback (most recent call last):
    ...
    hyperscout.exceptions.InvalidArgumentError: Project 'p' was made with HyperbandScheduler's \
max_budget=9, not max_budget=27: ...
    """
    stored = {**stored, "scheduler": upgrade_settings(stored["scheduler"])}  # renamed keys
    for role in ("sampler", "scheduler"):
        if stored[role]["class"] != new[role]["class"]:
            raise InvalidArgumentError(
                f"Project {project_name!r} was made by {_label(stored)}, not {_label(new)}: "
                f"its trials were proposed and budgeted by that strategy, and another {role} "
                "would misread them. " + _WHAT_TO_DO.format(what="tuner")
            )
    for role in ("sampler", "scheduler"):
        found = _first_difference(stored[role]["settings"], new[role]["settings"])
        if found is not None:
            name, old, value = found
            raise InvalidArgumentError(
                f"Project {project_name!r} was made with {stored[role]['class']}'s "
                f"{name}={old!r}, not {name}={value!r}: its trials would mix two searches "
                "(for a scheduler, two sets of budgets and brackets). "
                + _WHAT_TO_DO.format(what="settings")
            )


def check_same_seed(project_name: str, stored: Any, seed: int | None) -> None:
    """Refuse a ``seed=`` other than the one the study was made with (None keeps it)."""
    if seed is not None and stored is not None and int(stored) != seed:
        raise InvalidArgumentError(
            f"Project {project_name!r} was made with seed={stored}, not seed={seed}: the seed "
            "decides the proposals, so the resumed search would follow neither. Drop seed= "
            f"(--seed) to resume it with seed {stored}, use another project_name "
            "(--project-name) for the new search, or pass overwrite=True (--overwrite) to "
            "start over."
        )


def describe(provenance: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The provenance as (label, text) rows, for ``hyperscout show``.

    >>> describe(None)
    [('made by', 'unknown (made before hyperscout kept provenance)')]
    """
    if not provenance:
        return [("made by", "unknown (made before hyperscout kept provenance)")]

    def settings(role: str) -> str:
        part = provenance[role]
        items = ", ".join(f"{k}={v!r}" for k, v in part["settings"].items())
        return f"{part['class']}({items})"

    when = provenance.get("created_at") or "unknown"
    if provenance.get("recorded_on_resume"):
        when = f"unknown (recorded when resumed on {provenance.get('recorded_at')})"
    return [
        ("made by", str(provenance.get("preset"))),
        ("sampler", settings("sampler")),
        ("scheduler", settings("scheduler")),
        ("seed", str(provenance.get("seed"))),
        ("created", f"{when} on {provenance.get('host')}"),
        (
            "versions",
            f"hyperscout {provenance.get('hyperscout')}, Python {provenance.get('python')}",
        ),
    ]
