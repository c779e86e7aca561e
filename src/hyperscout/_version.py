"""The version of hyperscout, in one place (the package and the provenance read it)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
