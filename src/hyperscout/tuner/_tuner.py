"""The tuner: ask the scheduler, run the trial, record it. No algorithm and no SQL here.

:class:`Tuner` pairs a sampler with a scheduler; the presets users know from the lecture and
from KerasTuner (``GridSearch``, ``RandomSearch``, ``BayesianOptimization``, ``Hyperband`` ...)
live in :mod:`hyperscout.tuner.presets`.
"""

from __future__ import annotations

import copy
import inspect
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperscout._paths import check_project_name, claim_checkpoint_root
from hyperscout._validation import check_int
from hyperscout.exceptions import (
    InvalidSpaceError,
)
from hyperscout.executors import Executor, InlineExecutor
from hyperscout.history import History
from hyperscout.hypermodel import (
    as_hypermodel,
    build_model,
    looks_like_builder,
)
from hyperscout.hypermodel.caller import ObjectiveCaller
from hyperscout.objective import Objective
from hyperscout.samplers import RandomSampler, Sampler
from hyperscout.schedulers import FIFOScheduler, Scheduler
from hyperscout.space import HyperParameters
from hyperscout.storage import Storage
from hyperscout.trial import (
    Trial,
    TrialState,
)
from hyperscout.tuner._asktell import AskTell
from hyperscout.tuner._checks import check_no_other_arguments, check_tuner_arguments
from hyperscout.tuner._leases import (
    Heartbeat,
    check_lease,
)
from hyperscout.tuner._ledger import Ledger
from hyperscout.tuner._limits import (
    HardStop,
)
from hyperscout.tuner._oracle import OracleView
from hyperscout.tuner._study import (
    clear_study,
    open_study,
    open_tuner_storage,
    resume_provenance,
)

if TYPE_CHECKING:  # hyperscout.report and rich load when a summary or a sweep is asked for
    from rich.console import Console

    from hyperscout.report import BudgetAgreement
    from hyperscout.report.sensitivity import Sensitivity

__all__ = ["Tuner"]


class Tuner(AskTell):
    """Runs a search: a sampler proposes, a scheduler budgets, storage keeps every trial.

    Args:
        hypermodel: the objective, a function ``f(hp)`` or ``f(hp, trial)`` that returns a
            float or a dict of metrics; arguments given to :meth:`search` are passed after.
            Or a hypermodel that builds a model: a function ``build_model(hp)`` that returns a
            compiled Keras model, or an :class:`~hyperscout.HyperModel`; :meth:`search`'s
            arguments then go to the model's ``fit`` (:mod:`hyperscout.integrations.keras`).
            None for a tuner driven only by :meth:`ask` and :meth:`tell`.
        objective: the metric to optimise: a name whose direction is inferred (``"val_loss"``,
            ``"val_accuracy"``), an :class:`Objective`, or None for a bare float, minimised.
            A list of them is KerasTuner's multi-objective: the sum of the ``min`` metrics
            minus the ``max`` ones, minimised as ``"multi_objective"``.
        sampler: proposes configurations (default :class:`RandomSampler`).
        scheduler: gives budgets and stops trials (default :class:`FIFOScheduler`).
        max_trials: trials to finish, counting those of earlier runs; None: until the
            strategy stops (a grid is exhausted, the brackets of Hyperband have run) or
            ``timeout``. A search with none of these ends is refused unless
            ``run_until_stopped=True``.
        seed: seeds every random choice; None draws one and keeps it with the study.
        hyperparameters: a space declared ahead; the objective may still add to it. Its
            definitions stand over the objective's of the same name (KerasTuner's "restrict
            the search space": the objective's ``hp.Choice("lr", ...)`` returns the value of
            the declared ``hp.Choice("lr", ...)`` or ``hp.Fixed("lr", ...)``).
        tune_new_entries: False fixes every parameter the objective defines that is not in
            ``hyperparameters`` at its default, in every trial (recorded, never searched).
        allow_new_entries: False stops the search at a parameter the objective defines that
            is not in ``hyperparameters``.
        directory, project_name: the study lives in ``directory/project_name/`` (an SQLite
            file ``hyperscout.db``) unless ``storage`` says otherwise. ``project_name`` is one
            folder name of letters, digits, ``-``, ``_`` and ``.`` (None: ``untitled_project``).
        storage: a :class:`Storage` or a database URL (``"sqlite:///..."``,
            ``"postgresql+psycopg://..."``, ``"memory"``); the study is named ``project_name``.
        overwrite: delete the study's trials and start over. Only hyperscout's own files go
            (the trials' checkpoint folders), never a file of yours in the project folder.
        executions_per_trial: runs of the objective per trial; their metrics are averaged.
        max_retries_per_trial: reruns of a configuration whose objective failed.
        max_consecutive_failed_trials: stop with :class:`TooManyFailedTrialsError` after this
            many failed trials in a row.
        verbose: 0 silent, 1 a progress bar on a terminal, 2 also a line per trial.
        timeout: seconds after which the search stops: no new trial starts, and the trials
            still running are stopped as by ``trial_timeout`` and given up (recorded FAILED
            with the reason, and run again when the search resumes).
        trial_timeout: seconds a trial may run; one running longer is stopped and recorded
            FAILED with the reason. The objective sees ``trial.should_stop()`` turn True at
            the deadline; in this process's main thread (the default executor, on Unix) it is
            also interrupted there, as by Ctrl-C (hyperscout's storage writes finish first);
            in a thread it cannot be interrupted: the trial is recorded at the deadline, the
            search goes on in a fresh thread, and what the objective returns later is dropped.
        run_until_stopped: True for a search meant to run until it is stopped (Ctrl-C, a
            signal), with no ``max_trials``, no ``timeout`` and a strategy that never stops
            by itself (random search, Bayesian optimization); :meth:`search` refuses such a
            search otherwise.
        executor: where trials run (default: this process, one at a time).
        trial_lease: seconds without a heartbeat after which other workers of the study take
            a trial of this tuner for dead (its machine crashed, its process was killed): they
            mark it FAILED and run its configuration again. While this tuner runs trials, a
            thread beats for them every :attr:`heartbeat_interval` seconds; the lease must be
            at least twice that.

    >>> import hyperscout as hs
    >>> def objective(hp):
    ...     x = hp.Float("x", -2.0, 2.0)
    ...     return (x - 1.0) ** 2
    >>> tuner = hs.RandomSearch(objective, max_trials=20, seed=0, storage="memory", verbose=0)
    >>> tuner.search()
    >>> abs(tuner.get_best_hyperparameters()[0]["x"] - 1.0) < 0.2
    True
    """

    def __init__(
        self,
        hypermodel: Callable[..., Any] | None = None,
        *,
        objective: Objective | str | list[Objective | str] | None = None,
        sampler: Sampler | None = None,
        scheduler: Scheduler | None = None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        storage: Storage | str | None = None,
        overwrite: bool = False,
        executions_per_trial: int = 1,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        verbose: int = 1,
        timeout: float | None = None,
        trial_timeout: float | None = None,
        run_until_stopped: bool = False,
        executor: Executor | None = None,
        trial_lease: float = 120.0,
        **unsupported: Any,
    ) -> None:
        owner = type(self).__name__
        check_no_other_arguments(owner, unsupported, inspect.signature(Tuner).parameters)
        check_tuner_arguments(
            owner,
            hypermodel=hypermodel,
            max_trials=max_trials,
            seed=seed,
            executions_per_trial=executions_per_trial,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            verbose=verbose,
            timeout=timeout,
            trial_timeout=trial_timeout,
            hyperparameters=hyperparameters,
            sampler=sampler,
            scheduler=scheduler,
            executor=executor,
            flags={
                "tune_new_entries": tune_new_entries,
                "allow_new_entries": allow_new_entries,
                "run_until_stopped": run_until_stopped,
            },
        )
        check_lease(trial_lease, None, owner=owner)
        #: The hypermodel; a function is wrapped so that ``tuner.hypermodel.build(hp)`` works.
        self.hypermodel: Any = as_hypermodel(hypermodel)
        self.objective = Objective.resolve(objective)
        self.sampler = sampler or RandomSampler()
        self.scheduler = scheduler or FIFOScheduler()
        self.executor = executor or InlineExecutor()
        self.max_trials = max_trials
        self.executions_per_trial = executions_per_trial
        self.max_retries_per_trial = max_retries_per_trial
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.verbose = verbose
        self.timeout = timeout
        self.trial_timeout = trial_timeout
        self.run_until_stopped = run_until_stopped
        #: Seconds between looks at the storage while waiting for other workers' trials.
        self.poll_interval = 0.5
        self._open_project(directory, project_name, storage, overwrite)
        self._open_study(seed, hyperparameters)
        self._declare_space(hyperparameters, tune_new_entries, allow_new_entries)
        self._start_bookkeeping(float(trial_lease))

    def _open_project(
        self,
        directory: str | os.PathLike[str] | None,
        project_name: str | None,
        storage: Storage | str | None,
        overwrite: bool,
    ) -> None:
        """The project's folders and storage (its study emptied when ``overwrite``)."""
        self.project_name = check_project_name(project_name)
        self.directory = Path(directory if directory is not None else ".")
        self.project_dir = self.directory / self.project_name
        #: Trials keep checkpoints in ``checkpoint_root/trial_NNNNN/``: under the project
        #: folder, or a temporary folder for a storage given without a ``directory``.
        self.checkpoint_root = self.project_dir / "checkpoints"
        self._temporary_checkpoints = directory is None and storage is not None
        if self._temporary_checkpoints:  # removed by close()
            self.checkpoint_root = Path(tempfile.mkdtemp(prefix="hyperscout-checkpoints-"))
        self.storage = open_tuner_storage(
            storage, self.directory, self.project_dir, type(self).__name__
        )
        if overwrite:
            clear_study(self.storage, self.project_name, self.checkpoint_root)

    def _open_study(self, seed: int | None, hyperparameters: HyperParameters | None) -> None:
        """Create or resume the study; a resumed one must be the same search."""
        study, provenance = open_study(
            self.storage,
            self.project_name,
            objective=self.objective,
            seed=seed,
            preset=type(self).__name__,
            sampler=self.sampler,
            scheduler=self.scheduler,
            space=(hyperparameters or HyperParameters()).to_dict(),
        )
        self.seed = seed if seed is not None else int(study.meta.get("seed") or 0)
        self._study_id = study.id
        self._provenance = resume_provenance(self.storage, study, self.project_name, provenance)
        self._space = HyperParameters.from_dict(study.space)
        #: The parameters earlier runs of the study defined: another definition is refused.
        self._stored_names = frozenset(self._space.names)

    def _declare_space(
        self,
        hyperparameters: HyperParameters | None,
        tune_new_entries: bool,
        allow_new_entries: bool,
    ) -> None:
        """Merge the space declared ahead, and the rules for parameters the objective adds."""
        if hyperparameters is not None:
            try:
                self._space.merge(hyperparameters)
            except InvalidSpaceError as exc:
                raise self._space_changed(exc) from None
            self._save_space()
        if hyperparameters is not None or not (tune_new_entries and allow_new_entries):
            # Every trial's hp is a copy of this space, so the rules hold in every trial.
            self._space._declare_ahead(
                hyperparameters.names if hyperparameters is not None else (),
                tune_new_entries=tune_new_entries,
                allow_new_entries=allow_new_entries,
            )

    def _start_bookkeeping(self, trial_lease: float) -> None:
        """The loop's state, the leases of this worker's trials, and the objective's caller."""
        self._space_lock = threading.Lock()
        self._asked = {}
        self._queue = []
        #: The running trials' handles (their deadlines), by number; the search's deadline.
        self._handles = {}
        self._search_deadline = None
        self._hard_stop = HardStop()
        self._ledger = Ledger(self.objective)
        self._ledger_lock = threading.Lock()
        self._caller = ObjectiveCaller(
            self.hypermodel,
            self.objective,
            seed=self.seed,
            n_workers=self.executor.n_workers,
            metric_seen=self._metric_seen,
        )
        self._trial_lease = trial_lease
        self._heartbeat = Heartbeat(
            self.storage, self._study_id, interval=min(10.0, self._trial_lease / 4)
        )
        self._fail_dead_trials(self.storage.trials(self._study_id, states=[TrialState.RUNNING]))
        if not self._temporary_checkpoints:
            # A new study removes the trial folders an older study of the same name left,
            # and never a file hyperscout did not make (see claim_checkpoint_root).
            new_study = not self.storage.trials(self._study_id)
            claim_checkpoint_root(self.checkpoint_root, new_study=new_study)

    @property
    def provenance(self) -> dict[str, Any]:
        """How the study was made: hyperscout and Python versions, ``preset``, ``sampler`` and
        ``scheduler`` (each a ``class`` and its ``settings``), ``seed``, the declared
        ``space``, ``host`` and ``created_at`` (UTC). A study made before hyperscout kept
        provenance has the values of the run that first resumed it, and
        ``recorded_on_resume`` True."""
        return copy.deepcopy(self._provenance)

    @property
    def trial_lease(self) -> float:
        """Seconds without a heartbeat after which other workers take a trial of ours for dead."""
        return self._trial_lease

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two heartbeats of the trials this tuner runs.

        10 s, or a quarter of :attr:`trial_lease` when that is shorter. Setting it checks that
        :attr:`trial_lease` is at least twice as long.
        """
        return self._heartbeat.interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        check_lease(self._trial_lease, seconds, owner=type(self).__name__)
        self._heartbeat.interval = float(seconds)

    @property
    def trials(self) -> list[Trial]:
        """Every trial of the study, in order, earlier runs included."""
        return self.storage.trials(self._study_id)

    @property
    def hyperparameters(self) -> HyperParameters:
        """The search space as known so far (it grows as objectives define parameters)."""
        return self._space.copy()

    @property
    def oracle(self) -> OracleView:
        """KerasTuner's ``tuner.oracle``, read-only: ``get_best_trials(n)``, ``trials`` by
        ``trial_id``, ``get_trial(trial_id)``, ``objective``, ``get_space()``."""
        return OracleView(self)

    def get_best_trials(self, num_trials: int = 1) -> list[Trial]:
        """The ``num_trials`` best configurations' COMPLETE trials, best first.

        Without budgets, the best complete trials by value (ties: the earlier first). Under
        successive halving, Hyperband, BOHB or ASHA, one trial per configuration, the one on
        the highest budget it completed; the configurations that completed the highest
        budget come first, then the others by budget and value
        (:func:`~hyperscout.history.rank_configurations` states the rule).
        """
        return self._history().best(num_trials)

    def get_best_hyperparameters(self, num_trials: int = 1) -> list[HyperParameters]:
        """The hyperparameters of the best configurations (as :meth:`get_best_trials` ranks
        them), best first: ``best.values`` is a dict."""
        return [self._space.with_values(t.values) for t in self.get_best_trials(num_trials)]

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The models of the best trials, best first, built again and given their best weights.

        The trials are those of :meth:`get_best_trials`: under budgets, each configuration's
        trial on the highest budget it completed, so its model is the longest-trained one.

        Only a hypermodel that builds models (a Keras ``build_model(hp)`` or an
        :class:`~hyperscout.HyperModel`) keeps them: each trial saves the weights of its best
        epoch in its checkpoint folder.

        Raises:
            InvalidArgumentError: a best trial was run by an objective that returns metrics.
            StorageError: a trial's weights are gone (a temporary checkpoint folder closed).
        """
        check_int(f"{type(self).__name__}.get_best_models", "num_models", num_models, minimum=1)
        return self._caller.best_models(
            self.get_best_trials(num_models), self._space, self.checkpoint_root
        )

    def results_summary(self, num_trials: int = 10, *, console: Console | None = None) -> None:
        """Print a table of the ``num_trials`` best configurations, ranked as
        :meth:`get_best_trials` ranks them, with each one's budget ("full" without budgets).

        A table wider than the console becomes one block per trial; no value is cut
        (:func:`hyperscout.report.results_summary`).
        """
        from hyperscout import report

        history = History(self.trials, self.objective)
        report.results_summary(history, num_trials, project_name=self.project_name, console=console)

    def budget_summary(self, *, console: Console | None = None) -> list[BudgetAgreement]:
        """Print, and return, how well each budget ranked the configurations as higher ones.

        For searches whose configurations run on several budgets (successive halving,
        Hyperband, BOHB, ASHA's promotion form): each budget against the next and against
        the largest, the Spearman rank correlation over the configurations complete at both
        (see :mod:`hyperscout.report.budgets`). A correlation near zero or below means the
        low budget misleads the early stopping.
        """
        from hyperscout import report

        return report.budget_summary(self.trials, project_name=self.project_name, console=console)

    def report(self, path: str | os.PathLike[str]) -> Path:
        """Write the study's HTML report to ``path``, one file that opens offline; its path.

        Figures, best configurations, space, strategy, advice and provenance, read from the
        storage (:func:`hyperscout.report.html.write_report`). An existing file is replaced
        only when it is a report hyperscout wrote.
        """
        from hyperscout.report.html import write_report

        return write_report(self, path)

    def sensitivity(
        self,
        *args: Any,
        points: int = 5,
        parameters: list[str] | None = None,
        **kwargs: Any,
    ) -> Sensitivity:
        """Sweep each parameter around the best configuration, one at a time; record them.

        The lecture's "modify one parameter at a time and see how the model responds": each
        parameter goes over its range (``points`` values evenly spread in its own scale, on
        its steps; every category; both booleans) while the others keep the best
        configuration's values (the best trial that is not itself a sweep's, on its budget).
        Each point is a trial of the study, marked ``attrs["sensitivity"] = parameter``,
        run by this tuner's executor; arguments are passed to the objective as by
        :meth:`search`. Run it again and the points already run are not run again.

        The points count toward ``max_trials`` like enqueued trials: a :meth:`search`
        resumed later runs ``max_trials`` minus every trial of the study, sweeps included.
        :func:`hyperscout.report.sensitivity.sensitivity_figure` draws the sweeps.

        Args:
            points: values of a numeric parameter (at least 2).
            parameters: the parameters to sweep (default: every one the best trial read).

        Returns:
            The sweeps as stored (:class:`~hyperscout.report.sensitivity.Sensitivity`).

        Raises:
            InvalidArgumentError: no complete trial yet, or an unknown parameter.
        """
        from hyperscout.tuner._sensitivity import run_sensitivity

        return run_sensitivity(self, points, parameters, args, kwargs)

    def search_space_summary(self, *, console: Console | None = None) -> None:
        """Print a table of the search space; before the first trial, learn it if that is cheap.

        As KerasTuner does, a hypermodel that only builds models (an :class:`HyperModel`, or a
        function of ``hp`` whose code compiles a model and trains none, see
        :func:`~hyperscout.hypermodel.looks_like_builder`) is built once with the default
        values, and the parameters it defines join the space. Any other objective may train,
        so it is not called: the table shows what is declared so far (``hyperparameters=``,
        earlier trials) and a line says that the rest is learnt as trials run.
        """
        from hyperscout import report

        fresh = not self.storage.trials(self._study_id)
        builder = looks_like_builder(self.hypermodel)
        if fresh and builder:
            hp = self._space.with_values({})
            build_model(self.hypermodel, hp)
            self._merge_space(hp)
        report.search_space_summary(
            self._space, learnt_as_trials_run=fresh and not builder, console=console
        )

    def close(self) -> None:
        """Release the storage's connections (and a temporary checkpoint folder).

        The tuner is a context manager that does this. Trials asked and not told stop
        sending heartbeats.
        """
        self._heartbeat.stop()
        self.storage.close()
        if self._temporary_checkpoints:
            shutil.rmtree(self.checkpoint_root, ignore_errors=True)

    def __enter__(self) -> Tuner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(project_name={self.project_name!r}, "
            f"objective={self.objective!r}, sampler={self.sampler!r}, "
            f"scheduler={self.scheduler!r}, max_trials={self.max_trials!r})"
        )
