"""A search killed at any moment resumes with every finished trial kept and none run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hyperscout as hs
from hyperscout.trial import TrialState

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys, time
    import hyperscout as hs

    directory, log, kill_at, sleep = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        units = hp.Int("units", 8, 64, step=8)
        with open(log) as f:
            calls = sum(1 for _ in f)
        with open(log, "a") as f:
            f.write(json.dumps({"x": x, "units": units}) + "\\n")
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(sleep)
        return (x - 0.3) ** 2 + units / 1000

    tuner = hs.RandomSearch(objective, max_trials=10, seed=7, directory=directory,
                            project_name="killed", verbose=0)
    tuner.search()
    tuner.storage.close()
    """
)


def command(tmp_path: Path, kill_at: int, sleep: float = 0.0) -> list[str]:
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    log = tmp_path / "calls.log"
    log.touch()
    return [sys.executable, str(script), str(tmp_path), str(log), str(kill_at), str(sleep)]


def resume(tmp_path: Path) -> None:
    done = subprocess.run(command(tmp_path, kill_at=-1), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def load(tmp_path: Path) -> list[hs.Trial]:
    tuner = hs.RandomSearch(
        lambda hp: 0.0, directory=tmp_path, project_name="killed", verbose=0, max_trials=10
    )
    trials = tuner.trials
    tuner.storage.close()
    return trials


@pytest.mark.slow
def test_sigkill_mid_trial_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    killed = subprocess.run(command(tmp_path, kill_at=5), capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    before = load(tmp_path)
    # Loading marked the trial of the killed process FAILED, to be run again.
    assert [t.state for t in before] == [TrialState.COMPLETE] * 5 + [TrialState.FAILED]
    assert before[5].attrs["rerun"] is True
    assert "stopped before the trial finished" in (before[5].error or "")

    resume(tmp_path)

    after = load(tmp_path)
    complete = [t for t in after if t.state is TrialState.COMPLETE]
    assert len(complete) == 10  # exactly max_trials
    assert [t.values for t in after[:5]] == [t.values for t in before[:5]]
    assert [t.value for t in after[:5]] == [t.value for t in before[:5]]
    # The interrupted configuration ran again, once, right after the resume.
    assert after[6].attrs["retry_of"] == 5 and after[6].values == before[5].values
    # No configuration completed twice, and the objective ran each one once (plus the kill).
    assert len({t.key for t in complete}) == 10
    calls = [json.loads(line) for line in (tmp_path / "calls.log").read_text().splitlines()]
    assert len(calls) == 11


@pytest.mark.slow
def test_sigkill_from_outside_at_a_random_moment(tmp_path: Path) -> None:
    proc = subprocess.Popen(command(tmp_path, kill_at=-1, sleep=0.15), stdout=subprocess.DEVNULL)
    db = tmp_path / "killed" / "hyperscout.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if db.exists() and len((tmp_path / "calls.log").read_text().splitlines()) >= 4:
            break
    time.sleep(0.07)  # somewhere inside a trial, or between two
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    before = load(tmp_path)
    finished_before = {t.number: t for t in before if t.state is TrialState.COMPLETE}
    assert len(finished_before) >= 3
    assert all(t.state is not TrialState.RUNNING for t in before)

    resume(tmp_path)
    after = load(tmp_path)
    complete = [t for t in after if t.state is TrialState.COMPLETE]
    assert len(complete) == 10
    assert len({t.key for t in complete}) == 10
    for number, trial in finished_before.items():
        assert after[number] == trial


def test_ctrl_c_keeps_finished_trials_and_reruns_the_interrupted_one(tmp_path: Path) -> None:
    calls: list[float] = []

    def objective(hp: hs.HyperParameters) -> float:
        x = hp.Float("x", 0.0, 1.0)
        calls.append(x)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return x

    storage = hs.MemoryStorage()
    tuner = hs.RandomSearch(objective, max_trials=5, seed=3, storage=storage, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        tuner.search()
    states = [t.state for t in tuner.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAILED]
    assert "interrupted" in (tuner.trials[2].error or "")

    again = hs.RandomSearch(objective, max_trials=5, seed=3, storage=storage, verbose=0)
    again.search()
    trials = again.trials
    assert sum(t.state is TrialState.COMPLETE for t in trials) == 5
    assert trials[3].attrs["retry_of"] == 2 and trials[3].values == trials[2].values


def test_a_running_trial_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    storage = hs.MemoryStorage()
    tuner = hs.RandomSearch(quadratic_like, max_trials=3, storage=storage, verbose=0, seed=1)
    hp, trial = tuner.ask()
    hp.Float("x", 0.0, 1.0)
    # A second tuner in the same process must not take the asked trial for a leftover.
    other = hs.RandomSearch(quadratic_like, max_trials=3, storage=storage, verbose=0, seed=1)
    assert other.trials[0].state is TrialState.RUNNING
    assert tuner.tell(trial, 0.5).state is TrialState.COMPLETE


def quadratic_like(hp: hs.HyperParameters) -> float:
    return float(hp.Float("x", 0.0, 1.0)) ** 2
