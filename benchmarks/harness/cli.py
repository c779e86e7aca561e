"""Command-line options every benchmark family takes, and how their defaults resolve."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from benchmarks.harness.folders import docs_folder, quick_folder, relative, results_folder


class Runnable(Protocol):
    """A method of a benchmark: a label, and why it cannot run here (None when it can)."""

    label: str

    def unavailable(self) -> str | None: ...


def add_run_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """``--out``, ``--results``, ``--jobs``, ``--force``, ``--report-only`` and ``--quick``."""
    parser.add_argument(
        "--out",
        type=Path,
        help=f"report folder (default {relative(docs_folder(name))}; "
        f"--quick: {quick_folder(name)})",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help=f"raw runs, one JSON file each (default {relative(results_folder(name))}, "
        "git-ignored; --quick: OUT/raw)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs at once, in processes (default 1)"
    )
    parser.add_argument("--force", action="store_true", help="rerun runs already saved")
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing; redraw from saved runs"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of every method: a few seeds and trials, into a temporary folder",
    )


def resolve_folders(args: argparse.Namespace, name: str) -> None:
    """Fill ``args.out`` and ``args.results`` when not given.

    A full run reports into ``docs/benchmarks/<name>`` and keeps its raw runs in
    ``benchmarks/results/<name>``; a ``--quick`` run writes both under one folder outside the
    repository (``OUT`` and ``OUT/raw``).
    """
    if args.out is None:
        args.out = quick_folder(name) if args.quick else docs_folder(name)
    if args.results is None:
        args.results = args.out / "raw" if args.quick else results_folder(name)


def split_names(text: str, known: Iterable[str], kind: str) -> list[str]:
    """Comma-separated names (or ``all``), each checked against ``known``."""
    known = list(known)
    if text == "all":
        return known
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown {kind}: {', '.join(unknown)}. Known: {', '.join(known)}.")
    return names


def available(
    names: Sequence[str], registry: Mapping[str, Any]
) -> tuple[list[str], dict[str, str]]:
    """The methods that can run here, and why each other one is skipped (printed as a note)."""
    keep: list[str] = []
    skipped: dict[str, str] = {}
    for name in names:
        method: Runnable = registry[name]
        why = method.unavailable()
        if why is None:
            keep.append(name)
        else:
            skipped[name] = why
            print(f"note: skipping {name} ({method.label}): {why}", flush=True)
    return keep, skipped
