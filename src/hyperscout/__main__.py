"""``python -m hyperscout``: the same as the ``hyperscout`` command."""

from __future__ import annotations

from hyperscout.cli import main

if __name__ == "__main__":
    main(prog_name="hyperscout")
