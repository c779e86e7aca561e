"""Importing the samplers loads no SciPy: it is imported where a proposal first needs it.

(``import hyperscout.samplers`` runs ``hyperscout/__init__.py`` first, so this pins the
whole package's import too.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import hyperscout as hs

SRC = Path(hs.__file__).resolve().parents[1]


def test_importing_the_samplers_loads_no_scipy() -> None:
    # A fresh interpreter: this one has SciPy loaded already (by other tests).
    code = (
        "import sys, hyperscout.samplers, hyperscout.schedulers\n"
        "print(sorted(m for m in sys.modules if m == 'scipy' or m.startswith('scipy.')))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
