"""The conformance suite of :class:`~hyperscout.storage.base.Storage` implementations.

Subclass :class:`StorageConformance` in a test module and implement :meth:`make_storage`::

    class TestMemoryStorage(StorageConformance):
        def make_storage(self, tmp_path):
            return MemoryStorage()

Every test receives a fresh storage from the ``storage`` fixture, which closes it afterwards.
A storage that keeps rows outside the process (a database) also implements :meth:`damage_row`,
which the tests of damaged studies use; the others skip them.
"""

from __future__ import annotations

from hyperscout.testing.storage._damage import DamageTests
from hyperscout.testing.storage._liveness import HeartbeatTests
from hyperscout.testing.storage._studies import StudyTests
from hyperscout.testing.storage._trials import TrialTests

__all__ = ["StorageConformance"]


class StorageConformance(StudyTests, TrialTests, HeartbeatTests, DamageTests):
    """The behaviour every :class:`Storage` must show; subclass it with ``Test`` in the name.

    It joins the suite's parts, one module each: studies and claims, trials, heartbeats,
    damaged rows.
    """
