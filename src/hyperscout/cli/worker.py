"""``hyperscout worker FILE.py:FUNCTION --storage URL``: one of many workers of a shared study.

One command makes the study with its strategy (``hyperscout run ... --storage URL``, or a
``hyperscout worker`` given ``--strategy``); any number of workers join it, on many machines
against PostgreSQL or on one machine against SQLite, and run its trials until the study is
done. A worker given no strategy options takes them from the study: the record the command
that made it kept (:data:`~hyperscout.cli.run.RUN_META`), its objective and its seed. An
option that contradicts the study is refused with a sentence: ``--max-trials`` here, the
strategy, its settings, the seed and the objective by the tuner's checks on resume.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

import hyperscout as hs
from hyperscout.cli._common import (
    DEFAULT_DIRECTORY,
    FunctionRef,
    handle_errors,
    loaded_function,
    main,
    parse_function_ref,
    stdout,
)
from hyperscout.cli.run import RUN_META, make_search, search_options, where_kept
from hyperscout.storage import Project, StudyInfo, open_storage
from hyperscout.trial import Bookkeeping, Trial
from hyperscout.tuner.strategies import STRATEGIES

WORKER_HINT = (
    "The trials this worker finished are kept in the study; the interrupted one is run again "
    "by another worker, or on the next start."
)
# Seconds between two looks for the study while a worker waits for it to be made.
_POLL = 0.5


@main.command(short_help="Join a shared study and run its trials until it is done.")
@click.argument("target", metavar="FILE.py:FUNCTION", callback=parse_function_ref)
@search_options(strategy_default=None)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Without --strategy: how long to wait for the study to be made by another command.",
)
@handle_errors(interrupt_hint=WORKER_HINT)
def worker(target: FunctionRef, wait: float, **settings: Any) -> None:
    """Join the study of FUNCTION (FILE.py) and run its trials until the study is done.

    Start one command that makes the study with its strategy (`hyperscout run ... --storage
    URL`, or this command with --strategy), then any number of `hyperscout worker
    FILE.py:FUNCTION --storage URL --project-name P` on other machines (PostgreSQL) or in
    other terminals (SQLite): each takes the strategy, objective and seed from the study.
    Options that contradict the study are refused. Exits 0 when the study is done.
    """
    settings["project_name"] = settings["project_name"] or target.name
    study = _study_to_join(settings, wait)
    if study is not None:
        _take_from_study(study, settings)
    with loaded_function(target) as function:
        tuner = make_search(function, target, settings)
        try:
            before = {trial.number for trial in tuner.trials if trial.is_finished}
            started = time.monotonic()
            tuner.search()
            timeout = settings["timeout"]
            timed_out = timeout is not None and time.monotonic() - started >= timeout
            mine = sum(1 for t in tuner.trials if t.number not in before and _finished_here(t))
            _tell(tuner, settings["storage"], mine, timed_out=timed_out)
        finally:
            tuner.close()


def _study_to_join(settings: Mapping[str, Any], wait: float) -> StudyInfo | None:
    """The study as its maker recorded it; None when no record and ``--strategy`` given.

    Without ``--strategy`` the worker waits up to ``wait`` seconds for the record: the
    command that makes the study may start after it, or be making it now.
    """
    deadline = time.monotonic() + wait
    told = False
    while True:
        study = _load_study(settings)
        if study is not None and isinstance(study.meta.get(RUN_META), dict):
            return study
        if settings["strategy"] is not None:
            # Made from Python, or not yet: the tuner checks the options against the study.
            return None
        if time.monotonic() >= deadline:
            raise click.UsageError(_no_study(settings, study))
        if not told:
            click.echo(
                f"Waiting up to {wait:g} s for study {settings['project_name']!r} to be made "
                "(hyperscout run ... --storage URL, or a worker given --strategy).",
                err=True,
            )
            told = True
        time.sleep(_POLL)


def _load_study(settings: Mapping[str, Any]) -> StudyInfo | None:
    """The study named ``project_name``, read without making anything."""
    name = str(settings["project_name"])
    url = settings["storage"]
    if url is None:
        project = Project(Path(settings["directory"] or DEFAULT_DIRECTORY) / name)
        if not project.database.is_file():
            return None
        url = project.url
    storage = open_storage(url)
    try:
        return storage.load_study(name)
    finally:
        storage.close()


def _no_study(settings: Mapping[str, Any], study: StudyInfo | None) -> str:
    name = settings["project_name"]
    if study is None:
        return (
            f"No study {name!r} to join. Make it first with hyperscout run FILE.py:FUNCTION "
            "--storage URL --project-name P and its strategy options, or give this worker "
            "--strategy and the options of the study."
        )
    return (
        f"Study {name!r} was not made by hyperscout run or hyperscout worker, so its strategy "
        "is unknown here: give --strategy and the options it was made with."
    )


def _take_from_study(study: StudyInfo, settings: dict[str, Any]) -> None:
    """Fill the options not given from the study's record; refuse those that contradict it.

    The strategy, its settings, the seed and the objective are checked by the tuner against
    the study's provenance; ``--max-trials`` is checked here (the tuner lets a resumed search
    run longer, but a worker joins the study as it was made).
    """
    record: Mapping[str, Any] = study.meta[RUN_META]
    recorded = dict(record.get("options") or {})
    if settings["strategy"] is None and record.get("strategy") in STRATEGIES:
        settings["strategy"] = record["strategy"]
    if settings["strategy"] is None:
        raise click.UsageError(_no_study(settings, study))
    if settings["strategy"] == record.get("strategy"):
        # Another strategy keeps its own options: the tuner then refuses it (provenance).
        for name in ("float_points", "trial_timeout"):
            if settings[name] is None:
                settings[name] = recorded.get(name)
        if settings["max_epochs"] is None:
            settings["max_epochs"] = recorded.get("max_budget")
    given, made = settings["max_trials"], recorded.get("max_trials")
    if given is not None and given != made:
        was = f"--max-trials {made}" if made is not None else "no --max-trials"
        raise click.UsageError(
            f"Study {study.name!r} was made with {was}, not --max-trials {given}: a worker "
            "joins the study as it was made. Drop --max-trials, or run hyperscout run with "
            "the new --max-trials to change the study."
        )
    if settings["max_trials"] is None:
        settings["max_trials"] = made
    if settings["objective_name"] is None and settings["direction"] is None:
        stored = study.meta.get("objective") or {}
        settings["objective_name"] = stored.get("name")
        settings["direction"] = stored.get("direction")


def _finished_here(trial: Trial) -> bool:
    """True for a trial this process finished."""
    worker = trial.attrs.get(Bookkeeping.WORKER) or {}
    return bool(
        trial.is_finished
        and worker.get("pid") == os.getpid()
        and worker.get("host") == socket.gethostname()
    )


def _tell(tuner: hs.Tuner, storage: str | None, mine: int, *, timed_out: bool) -> None:
    """One line on what this worker did, and where the study is."""
    where = where_kept(tuner, storage)
    total = len(tuner.trials)
    if timed_out:
        line = (
            f"This worker's --timeout passed: it ran {mine} trials; the study ({total} trials "
            f"so far) goes on with its other workers. It is in {where}."
        )
    elif mine:
        line = f"The study is done: this worker ran {mine} of its {total} trials. It is in {where}."
    else:
        line = f"The study is done ({total} trials); this worker ran none. It is in {where}."
    stdout().print(line)
