"""How the parallel benchmark runs a study on N workers, one way each, and reads its trials back.

Every run starts fresh processes (so start-up is paid as a user pays it) and ends with the
trials read from storage, checked (the count the study asked for, each COMPLETE, no
configuration twice in a random search), and turned into :class:`Record` objects.

The setups:

- ``ThreadExecutor``, ``ProcessExecutor`` (spawn, the default, and forkserver),
  ``DaskExecutor`` (on a ``distributed.LocalCluster`` of N one-thread worker processes started
  by the run), ``RayExecutor`` (a local Ray started by the run): one Python process runs the
  tuner's search with that executor of N workers;
- ``hyperscout worker (SQLite)``, ``hyperscout worker (PostgreSQL)``: N ``hyperscout worker``
  commands started at once, each making the study if it is not there yet and running trials
  until it is done;
- ``Optuna n_jobs (PostgreSQL)``: one process, ``study.optimize(n_jobs=N)`` (threads);
  ``Optuna processes (PostgreSQL)``: N processes each running ``study.optimize`` on the study,
  which the run creates first, until ``MaxTrialsCallback`` says the study has its trials.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.harness.folders import REPO
from benchmarks.parallel.analysis import Record

MODULE = "benchmarks.parallel.run"
OBJECTIVES = Path(__file__).resolve().parent / "objectives.py"

FORKSERVER = "ProcessExecutor (forkserver)"
EXECUTORS = ("ThreadExecutor", "ProcessExecutor", FORKSERVER, "DaskExecutor", "RayExecutor")
WORKERS_SQLITE = "hyperscout worker (SQLite)"
WORKERS_POSTGRES = "hyperscout worker (PostgreSQL)"
OPTUNA_THREADS = "Optuna n_jobs (PostgreSQL)"
OPTUNA_PROCESSES = "Optuna processes (PostgreSQL)"
SETUPS = (*EXECUTORS, WORKERS_SQLITE, WORKERS_POSTGRES, OPTUNA_THREADS, OPTUNA_PROCESSES)
POSTGRES_SETUPS = (WORKERS_POSTGRES, OPTUNA_THREADS, OPTUNA_PROCESSES)

#: The strategy of each group of runs: (the objective, the strategy's command-line name).
GROUPS = {
    "sleep": ("sleep_trial", "random"),
    "cpu": ("cpu_trial", "random"),
    "hyperband": ("epochs_trial", "hyperband"),
    "asha": ("epochs_trial", "asha"),
}
MAX_EPOCHS = 9


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: this checkout's ``benchmarks`` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def skip_reason(setup: str, postgres: str | None) -> str | None:
    """Why ``setup`` cannot run here, or None."""
    if setup in POSTGRES_SETUPS and not postgres:
        return "no PostgreSQL server reachable (--postgres)"
    if setup == FORKSERVER and "forkserver" not in multiprocessing.get_all_start_methods():
        return "this system has no forkserver start method"
    if setup.startswith("Optuna") and importlib.util.find_spec("optuna") is None:
        return "optuna is not installed (it comes with the bench extra)"
    if setup in ("DaskExecutor", "RayExecutor"):
        import hyperscout.executors as executors

        package = "distributed" if setup == "DaskExecutor" else "ray"
        if importlib.util.find_spec(package) is None:
            return f"{package} is not installed"
        try:
            getattr(executors, setup)
        except AttributeError:
            return f"this hyperscout has no hyperscout.executors.{setup}"
    return None


# -- in the child process ------------------------------------------------------------------
def make_tuner(spec: dict[str, Any], executor: Any) -> Any:
    """The tuner of one run (in the process that runs the search)."""
    import hyperscout as hs
    from benchmarks.parallel import objectives

    function, strategy = GROUPS[spec["group"]]
    common: dict[str, Any] = {
        "objective": "loss",
        "storage": spec["storage"],
        "project_name": spec["project"],
        "seed": 0,
        "verbose": 0,
        "executor": executor,
    }
    fn = getattr(objectives, function)
    if strategy == "random":
        return hs.RandomSearch(fn, max_trials=spec["trials"], **common)
    if strategy == "hyperband":
        iterations = spec["iterations"]
        return hs.Hyperband(fn, max_epochs=MAX_EPOCHS, hyperband_iterations=iterations, **common)
    return hs.ASHA(fn, max_epochs=MAX_EPOCHS, max_trials=spec["trials"], **common)


def run_child(spec: dict[str, Any]) -> None:
    """One search with an executor of ``spec['workers']`` workers (a child process's work)."""
    import hyperscout as hs

    setup, n = spec["setup"], spec["workers"]
    closers: list[Any] = []
    if setup == "ThreadExecutor":
        executor: Any = hs.ThreadExecutor(n)
    elif setup == "ProcessExecutor":
        executor = hs.ProcessExecutor(n)
    elif setup == FORKSERVER:
        executor = hs.ProcessExecutor(n, start_method="forkserver")
    elif setup == "DaskExecutor":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)  # type: ignore[no-untyped-call]
        closers += [client.close, cluster.close]
        executor = getattr(hs.executors, setup)(client, n_workers=n)  # DaskExecutor
    elif setup == "RayExecutor":
        import ray

        ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False)
        closers.append(ray.shutdown)
        executor = getattr(hs.executors, setup)()  # RayExecutor (absent before h-ray)
    else:
        raise ValueError(setup)
    tuner = make_tuner(spec, executor)
    try:
        tuner.search()
    finally:
        tuner.close()
        for close in closers:
            close()


def run_optuna_child(spec: dict[str, Any]) -> None:
    """Optuna on the study ``spec['project']``: n_jobs threads, or one of N processes."""
    import optuna

    from benchmarks.parallel import objectives

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=spec["project"], storage=spec["storage"])
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING)
    callback = optuna.study.MaxTrialsCallback(spec["trials"], states=done)
    n_jobs = spec["workers"] if spec["setup"] == OPTUNA_THREADS else 1
    study.optimize(
        objectives.optuna_sleep_trial, n_trials=spec["trials"], n_jobs=n_jobs, callbacks=[callback]
    )


# -- in the benchmark's process ------------------------------------------------------------
def commands(spec: dict[str, Any]) -> list[list[str]]:
    """The processes of one run."""
    setup, n = spec["setup"], spec["workers"]
    child = [sys.executable, "-m", MODULE, "--child", json.dumps(spec)]
    if setup in EXECUTORS or setup == OPTUNA_THREADS:
        return [child]
    if setup == OPTUNA_PROCESSES:
        return [child] * n
    function, strategy = GROUPS[spec["group"]]
    worker = [sys.executable, "-m", "hyperscout", "worker", f"{OBJECTIVES}:{function}"]
    worker += ["--storage", spec["storage"], "--project-name", spec["project"]]
    worker += ["--strategy", strategy, "--max-trials", str(spec["trials"]), "--seed", "0"]
    worker += ["--objective", "loss", "--direction", "min"]
    if strategy != "random":
        worker += ["--max-epochs", str(MAX_EPOCHS)]
    return [worker] * n


def run(spec: dict[str, Any], env: dict[str, str]) -> tuple[list[Record], float, float]:
    """Run ``spec`` in fresh processes: its checked trials, launch time and end time."""
    spec = {**spec, "project": f"parallel_{uuid.uuid4().hex[:10]}"}
    if spec["setup"].startswith("Optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(
            study_name=spec["project"],
            storage=spec["storage"],
            sampler=optuna.samplers.RandomSampler(seed=0),
        )
    launched = time.time()
    quiet = subprocess.DEVNULL  # hyperscout worker says when the study is done
    procs = [subprocess.Popen(c, env=child_env(env), stdout=quiet) for c in commands(spec)]
    codes = [p.wait() for p in procs]
    ended = time.time()
    if codes != [0] * len(codes):
        raise RuntimeError(f"{spec['setup']} with {spec['workers']} workers: exit codes {codes}")
    if spec["setup"].startswith("Optuna"):
        return optuna_records(spec), launched, ended
    return hyperscout_records(spec), launched, ended


def hyperscout_records(spec: dict[str, Any]) -> list[Record]:
    """The study's trials, checked, as records; the study is deleted."""
    from hyperscout.storage import open_storage
    from hyperscout.trial import TrialState

    store = open_storage(spec["storage"])
    try:
        study = store.load_study(spec["project"])
        assert study is not None, f"{spec['setup']}: no study"
        trials = store.trials(study.id)
        store.delete_study(spec["project"])
    finally:
        store.close()
    finished = [t for t in trials if t.state is TrialState.COMPLETE]
    if GROUPS[spec["group"]][1] == "random":
        assert len(trials) == spec["trials"], f"{len(trials)} trials for {spec['trials']}"
        assert len(finished) == len(trials), "a trial did not complete"
        assert len({t.key for t in trials}) == len(trials), "a configuration ran twice"
    records = []
    for t in finished:
        assert t.started_at is not None and t.finished_at is not None
        m = t.metrics
        worker = f"{m.get('pid', '?')}-{m.get('tid', '?')}"
        start, end = m.get("began", t.started_at), m.get("ended", t.finished_at)
        records.append(Record(float(start), float(end), worker, t.budget))
    return records


def optuna_records(spec: dict[str, Any]) -> list[Record]:
    """The Optuna study's complete trials as records; the study is deleted."""
    import optuna

    study = optuna.load_study(study_name=spec["project"], storage=spec["storage"])
    trials = study.get_trials(deepcopy=False)
    optuna.delete_study(study_name=spec["project"], storage=spec["storage"])
    complete = [t for t in trials if t.state is optuna.trial.TrialState.COMPLETE]
    assert len(complete) == len(trials) >= spec["trials"], f"{len(trials)} trials"
    records = []
    for t in complete:
        assert t.datetime_start is not None and t.datetime_complete is not None
        attrs = t.user_attrs
        worker = f"{attrs.get('pid')}-{attrs.get('tid')}"
        start, end = attrs["began"], attrs["ended"]
        records.append(Record(start, end, worker))
    return records
