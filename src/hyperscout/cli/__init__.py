"""The ``hyperscout`` command: run a search from a file, inspect and export studies, a demo.

::

    hyperscout run train.py:objective --strategy random --max-trials 30 --objective val_loss
    hyperscout list hyperscout_runs
    hyperscout show hyperscout_runs/my_project --top 10
    hyperscout export hyperscout_runs/my_project --format csv --output trials.csv
    hyperscout check hyperscout_runs/my_project
    hyperscout report hyperscout_runs/my_project -o report.html
    hyperscout compare train.py:objective --max-trials 20 --seeds 3 --max-epochs 9
    hyperscout dashboard hyperscout_runs/my_project --port 8765
    hyperscout sensitivity hyperscout_runs/my_project --points 5 -o sensitivity.html
    hyperscout worker train.py:objective --storage postgresql://user@host/db --project-name p
    hyperscout demo

A project is a folder ``DIRECTORY/PROJECT_NAME`` holding the SQLite study ``hyperscout.db``, as
a tuner writes it. ``list``, ``show`` and ``export`` only read: they create nothing.

The package only parses arguments and calls the public API, :mod:`hyperscout.report` (tables,
summaries, export) and :mod:`hyperscout.demo`.
"""

from __future__ import annotations

# The command modules register their commands on the group when imported.
from hyperscout.cli import (
    compare,
    dashboard,
    demo,
    projects,
    report,
    run,
    sensitivity,
    worker,
)
from hyperscout.cli._common import EXIT_INTERRUPTED, main

__all__ = [
    "EXIT_INTERRUPTED",
    "compare",
    "dashboard",
    "demo",
    "main",
    "projects",
    "report",
    "run",
    "sensitivity",
    "worker",
]
