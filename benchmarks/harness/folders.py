"""Where benchmarks read and write: raw runs in a git-ignored folder, summaries under docs/.

Each run is one JSON file, ``<results>/<problem>/<method>/seed<N>.json``. The raw runs live under
``benchmarks/results/<name>/`` (listed in ``.gitignore``); the reports the documentation quotes
(``report.md``, figures, summary JSON) are written under ``docs/benchmarks/<name>/``. A
``--quick`` run writes both into a temporary folder unless told otherwise, never into the
repository.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
DOCS = REPO / "docs" / "benchmarks"


def results_folder(name: str) -> Path:
    """The git-ignored folder of one benchmark's raw runs."""
    return RESULTS / name


def docs_folder(name: str) -> Path:
    """The tracked folder of one benchmark's report (what docs/benchmarks.md quotes)."""
    return DOCS / name


def quick_folder(name: str) -> Path:
    """Where a ``--quick`` run writes when given no folder: outside the repository."""
    return Path(tempfile.gettempdir()) / f"hyperscout-{name.replace('_', '-')}-quick"


def relative(path: Path) -> str:
    """``path`` relative to the repository when inside it (for help texts and reports)."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def cell_path(raw: Path, problem: str, method: str, seed: int) -> Path:
    """The file of one run: ``raw/<problem>/<method>/seed<seed>.json``."""
    return raw / problem / method / f"seed{seed}.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """The record saved at ``path``, or None when it is missing or unreadable."""
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record


def write_json(path: Path, record: Any, indent: int | None = None) -> Path:
    """Write ``record`` atomically: a run killed mid-write leaves no half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=indent))
    tmp.replace(path)
    return path
