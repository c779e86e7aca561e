"""Conformance suites that every implementation of a hyperscout interface must pass.

Each suite is a pytest base class: subclass it in a test module, say how to build the
implementation, and pytest runs every test of the suite against it::

    # tests/storage/test_my_storage.py
    from hyperscout.testing.storage import StorageConformance

    class TestMyStorage(StorageConformance):
        def make_storage(self, tmp_path):
            return MyStorage(tmp_path / "db")

The suites: :mod:`hyperscout.testing.storage`, :mod:`hyperscout.testing.samplers`,
:mod:`hyperscout.testing.schedulers` and :mod:`hyperscout.testing.executors`. They need
pytest; this package imports nothing, so importing it costs nothing.
"""

from __future__ import annotations

__all__: list[str] = []
