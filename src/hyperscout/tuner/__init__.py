"""The tuner: ask the strategy, run the trial, record it. No algorithm, no SQL, no framework.

:class:`Tuner` owns the loop; the presets users know from the lecture and from KerasTuner
(``GridSearch``, ``RandomSearch``, ``BayesianOptimization``, ``Hyperband`` ...) and the one
strategy registry live in :mod:`hyperscout.tuner.presets`.

The package's modules, one role each:

- ``_tuner.py``: :class:`Tuner`, its constructor and what it answers (best trials, summaries);
- ``_study.py``: opening the storage and the study, and the checks of a resume;
- ``_state.py``: what the parts share; ``_trial_run.py``: running one trial;
- ``_loop.py``: the search loop; ``_asktell.py``: enqueue, ask and tell;
- ``_ledger.py`` (what the study's trials say about counts and reruns), ``_leases.py``
  (heartbeats and dead workers), ``_limits.py`` (time limits), ``_checks.py`` (argument
  checks), ``_provenance.py`` (how a study was made), ``_oracle.py`` (KerasTuner's
  ``tuner.oracle``), ``progress.py`` (the progress display), ``presets.py``.
"""

from __future__ import annotations

from hyperscout.tuner._tuner import Tuner

__all__ = ["Tuner"]
