"""The machine a benchmark ran on, the packages it ran with, and the command that ran it."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from benchmarks.harness.folders import REPO

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_thread() -> None:
    """One thread per process (unless already set), so that times compare like for like.

    Call it before NumPy, SciPy or torch is imported: their thread pools read these variables
    when they start. Keras runs on torch.
    """
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    os.environ.setdefault("KERAS_BACKEND", "torch")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """CPU model, cores, OS, Python and the thread variables, for a report's machine section."""
    threads = ", ".join(f"{v}={os.environ.get(v, '')}" for v in THREAD_VARIABLES)
    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "threads": threads,
    }


def versions(packages: Iterable[str]) -> dict[str, str]:
    """Each package's installed version, or ``not installed``."""
    found = {}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def command_line() -> str:
    """The command that runs this script again, as documented: ``python -m benchmarks....``."""
    script = Path(sys.argv[0]).resolve()
    if script.is_relative_to(REPO) and script.suffix == ".py":
        module = ".".join(script.relative_to(REPO).with_suffix("").parts)
        return shlex.join(["python", "-m", module, *sys.argv[1:]])
    return shlex.join(["python", str(script), *sys.argv[1:]])
