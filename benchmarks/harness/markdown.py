"""Markdown tables and numbers for the reports."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable, Sequence
from pathlib import Path


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: a header row, a rule, then the rows."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; ``-`` for a missing or infinite value."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.{digits}g}"


def fmt_ms(seconds: float | None) -> str:
    """Seconds shown as milliseconds, with fewer decimals as they grow."""
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms < 10 else f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}"


def image_link(path: Path) -> str:
    """A link relative to the report, which is written beside its figures."""
    return path.name


def can_plot() -> bool:
    """Whether matplotlib is installed (the ``bench`` extra); without it reports have no figures."""
    return importlib.util.find_spec("matplotlib") is not None


def figure_link(alt: str, path: Path | None) -> str:
    """A figure's Markdown image, or a note when it was not drawn."""
    if path is None:
        return "*(figure not drawn: matplotlib is not installed)*"
    return f"![{alt}]({image_link(path)})"
