"""What every part of the storage conformance suite shares: the storage under test.

:class:`StorageSuite` builds a fresh storage for each test through ``make_storage`` and
closes it afterwards; the suites in this package subclass it, and
:class:`~hyperscout.testing.storage.StorageConformance` joins them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperscout.storage.base import Storage

__all__ = ["SAMPLE_VALUES", "NotJSON", "StorageSuite"]


#: Values of every JSON kind a trial may hold.
SAMPLE_VALUES: dict[str, Any] = {
    "units": 64,
    "lr": 0.001,
    "activation": "relu",
    "batch_norm": True,
    "dropout": None,
    "layers": [{"units": 32, "kind": "dense"}, {"units": 16, "kind": "dense"}],
    "nested": {"optimizer": {"name": "adam", "beta": [0.9, 0.999]}, "flag": False},
}


class NotJSON:
    """A value with no JSON form: storage must refuse it, never pickle it."""


class StorageSuite:
    """The storage under test: ``make_storage``, ``damage_row`` and the ``storage`` fixture."""

    def make_storage(self, tmp_path: Path) -> Storage:
        """A new, empty storage; ``tmp_path`` is a fresh directory for its files."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_storage()")

    def damage_row(
        self, storage: Storage, study_id: int, number: int | None, column: str, text: str
    ) -> None:
        """Overwrite one stored column with ``text``, as a bad disk or a hand edit would.

        ``number`` None: the study's own row (``column`` is ``space`` or ``meta``). Otherwise
        trial ``number``'s ``column`` (``values``, ``metrics``, ``attrs``, ``state``), or with
        ``column="report"`` the metrics of its report at step 1. Afterwards ``storage`` must
        read the row again, as a process that had not read it yet would. The default skips
        the test: a storage that keeps no rows outside the process cannot be damaged.
        """
        pytest.skip(f"{type(self).__name__} keeps no rows that could be damaged")

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        storage = self.make_storage(tmp_path)
        try:
            yield storage
        finally:
            storage.close()
