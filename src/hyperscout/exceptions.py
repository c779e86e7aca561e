"""The errors hyperscout raises.

Every error derives from :class:`HyperscoutError`, so ``except hs.HyperscoutError`` catches
them all. Errors about bad input also derive from :class:`ValueError`::

    HyperscoutError
    ├── InvalidSpaceError (ValueError)        a parameter defined wrongly
    ├── InvalidArgumentError (ValueError)     a bad argument to a tuner, sampler or storage
    │   └── UsageError                        a mistake in how a search is set up, seen when
    │                                         its first trial ran: the search stops at once
    ├── ObjectiveDirectionError (ValueError)  a metric whose direction cannot be inferred
    ├── TooManyFailedTrialsError (RuntimeError)  the objective failed too often in a row
    ├── SearchFinished                        ask() when the strategy has nothing left
    ├── StorageError                          storage is unusable
    │   ├── SchemaVersionError                a database written by another schema version
    │   ├── DamagedStudyError                 a database or a row that cannot be read back
    │   └── ClaimTakenError                   another worker already started that trial slot
    └── MissingDependencyError (ImportError)  an optional extra is not installed

:class:`TrialPruned` is not an error: an objective raises it to say "stop me here" and the
trial is recorded as ``PRUNED``. :class:`HyperscoutWarning` (a :class:`UserWarning`) is what
hyperscout warns with: something went on that the user should know, such as a promoted trial
whose lower-rung checkpoint was deleted and so started from scratch.
"""

from __future__ import annotations

__all__ = [
    "ClaimTakenError",
    "DamagedStudyError",
    "HyperscoutError",
    "HyperscoutWarning",
    "InvalidArgumentError",
    "InvalidSpaceError",
    "MissingDependencyError",
    "ObjectiveDirectionError",
    "SchemaVersionError",
    "SearchFinished",
    "StorageError",
    "TooManyFailedTrialsError",
    "TrialPruned",
    "UsageError",
]


class HyperscoutError(Exception):
    """The base of every error raised by hyperscout."""


class HyperscoutWarning(UserWarning):
    """A warning from hyperscout: the search goes on, but something did not go as asked."""


class InvalidSpaceError(HyperscoutError, ValueError):
    """A hyperparameter was defined with a bad range, step, choice list, default or condition."""

    #: The name of the parameter defined a second time differently, when that is the error.
    parameter: str | None = None


class InvalidArgumentError(HyperscoutError, ValueError):
    """An argument to a tuner, sampler, scheduler or storage is out of range or of a bad type."""


class UsageError(InvalidArgumentError):
    """A mistake in how a search is set up that only a running trial shows; the search stops.

    For example an objective that returns metrics without the one the search optimises (and
    no trial of the study ever returned it), a hyperparameter defined wrongly inside the
    objective, or a hypermodel that builds Keras models with an executor that trains several
    in threads. No trial can succeed until the call is fixed, so
    ``search()`` raises this at once instead of recording failed trials: the trial that
    showed it (and any other running trial) is given up like an interrupted one, with no
    result, and runs again when the search resumes. Mistakes that can be seen earlier are
    raised before any trial, by the tuner's constructor or ``enqueue``.
    """


class ObjectiveDirectionError(HyperscoutError, ValueError):
    """The direction (``min`` or ``max``) of a metric cannot be inferred from its name."""


class TooManyFailedTrialsError(HyperscoutError, RuntimeError):
    """The objective failed ``max_consecutive_failed_trials`` times in a row."""


class SearchFinished(HyperscoutError):  # noqa: N818 - a signal, like StopIteration
    """The strategy has nothing left to propose (for example, the grid is exhausted)."""


class StorageError(HyperscoutError):
    """The storage cannot be used as asked."""


class SchemaVersionError(StorageError):
    """The database was written by a version of hyperscout with another schema."""


class DamagedStudyError(StorageError):
    """A stored study cannot be read back: its file, its tables or one of its rows is damaged.

    Raised instead of taking a damaged database for a new, empty study, or of dropping the
    trials that cannot be read. The message names the file (or the database URL, without its
    password), the study and the trial, and how to recover; ``hyperscout check PATH`` lists
    every problem of a database.
    """


class ClaimTakenError(StorageError):
    """Another worker already created the trial that fills this slot of the strategy.

    Schedulers name their slots (``"hyperband/0/4/0/7"``: the 8th new configuration of a
    rung, ``"promote/12/2"``: trial 12 promoted to rung 2); storage creates at most one trial
    per slot, so two workers reading the same history never run the same work twice.
    """


class MissingDependencyError(HyperscoutError, ImportError):
    """An optional dependency is needed and not installed; the message says how to install it."""


class TrialPruned(Exception):  # noqa: N818 - the name users know from Optuna
    """Raised by an objective to stop its trial early; the trial is recorded as ``PRUNED``."""


def require(module: str, *, feature: str, extra: str) -> object:
    """Import an optional dependency or fail with an install hint.

    Args:
        module: the module to import, e.g. ``"sklearn"``.
        feature: what needs it, for the message, e.g. ``"hyperscout demo"``.
        extra: the extra that installs it, e.g. ``"sklearn"``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs {module}. Install it with: pip install 'hyperscout[{extra}]'"
        ) from exc
