"""Values as the report prints them: short numbers, ``full`` budgets, user text made safe.

User text (parameter names, choices, metric and project names) is printed as text: its control
characters, such as the escape sequences that recolour a terminal, are shown escaped
(:func:`printable`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["FULL_BUDGET", "format_budget", "format_value", "printable"]

#: What a table shows as the budget of a trial that had the full budget (``budget=None``).
FULL_BUDGET = "full"

# Unicode categories that move, recolour or hide text on a terminal: controls, formats and the
# line and paragraph separators.
_UNPRINTABLE = ("Cc", "Cf", "Zl", "Zp")


def printable(text: str) -> str:
    r"""``text`` with its control characters written as escapes, safe to print on a terminal.

    An escape sequence in a choice or a name (``"\x1b[31mred"``) would otherwise recolour,
    move or clear the user's terminal; it is shown as ``\x1b[31mred`` instead.

    >>> printable("\x1b[31mred"), printable("data/[train]")
    ('\\x1b[31mred', 'data/[train]')
    """
    if text.isprintable():
        return text
    return "".join(
        _escaped(char) if unicodedata.category(char) in _UNPRINTABLE else char for char in text
    )


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def format_value(value: Any) -> str:
    """A short text for a value in a table (control characters escaped, see :func:`printable`).

    >>> format_value(8.211e-05), format_value(0.123456), format_value(None), format_value("relu")
    ('8.211e-05', '0.1235', '-', 'relu')
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return printable(str(value))


def format_budget(budget: float | None) -> str:
    """A trial's budget for a table: the number, or ``"full"`` for ``None``.

    >>> format_budget(9.0), format_budget(None)
    ('9', 'full')
    """
    return FULL_BUDGET if budget is None else format_value(budget)
