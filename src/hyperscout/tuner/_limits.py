"""Time limits of a search: ``trial_timeout=`` and ``timeout=``.

A trial gets a deadline when it starts: ``trial_timeout`` seconds later, or the search's own
deadline (``timeout``) when that comes first. The objective sees ``trial.should_stop()`` turn
True at the deadline (a cooperative stop). Where the trial runs decides what more happens:

- In the calling process, on its main thread (the default executor, on Unix), a
  :class:`HardStop` interrupts the objective at the deadline with SIGALRM, as Ctrl-C would;
  hyperscout's own storage writes finish first. Another owner of SIGALRM (a timer of the
  program, pytest-timeout's signal method) takes precedence: the stop is then cooperative.
- In a thread (:class:`~hyperscout.ThreadExecutor`), Python cannot stop a function: the tuner
  records the trial at the deadline, drops whatever the objective returns later, and gives
  the executor a fresh thread (the old one runs on until the objective returns).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

__all__ = ["DeadlinePassed", "HardStop", "search_timeout_reason", "trial_timeout_reason"]


class DeadlinePassed(BaseException):
    """Raised inside an objective when its deadline passes (see :class:`HardStop`).

    A BaseException, as KeyboardInterrupt, so that an objective's ``except Exception`` does
    not swallow it.
    """


def trial_timeout_reason(seconds: float) -> str:
    """The error of a trial stopped by ``trial_timeout``.

    >>> trial_timeout_reason(2.5)
    'The trial ran longer than trial_timeout=2.5 s and was stopped.'
    """
    return f"The trial ran longer than trial_timeout={seconds:g} s and was stopped."


def search_timeout_reason(seconds: float) -> str:
    """The error of a trial given up when the search reached ``timeout``.

    >>> search_timeout_reason(60)
    'The search reached timeout=60 s while this trial ran; the trial was stopped.'
    """
    return f"The search reached timeout={seconds:g} s while this trial ran; the trial was stopped."


class HardStop:
    """Interrupts the main thread at a deadline (SIGALRM), unless hyperscout is writing.

    >>> stop = HardStop()
    >>> caught = False
    >>> try:
    ...     with stop.armed(time.monotonic() + 0.05) as usable:
    ...         time.sleep(5.0)
    ... except DeadlinePassed:
    ...     caught = True
    >>> caught or not usable
    True
    """

    def __init__(self) -> None:
        self._active = False
        self._writing = 0
        self._pending = False

    @staticmethod
    def usable() -> bool:
        """True on the main thread of a Unix process whose SIGALRM nobody else uses."""
        if not hasattr(signal, "setitimer"):
            return False
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None):
            return False
        return signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)

    @contextlib.contextmanager
    def armed(self, deadline: float | None) -> Iterator[bool]:
        """Raise :class:`DeadlinePassed` in the body at ``deadline`` (monotonic clock).

        Yields whether the stop is armed (see :meth:`usable`); when it is not, the body runs
        without one.
        """
        if deadline is None or not self.usable():
            yield False
            return
        previous = signal.signal(signal.SIGALRM, self._on_alarm)
        self._pending = False
        self._active = True
        try:
            signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 1e-3))
            yield True
        finally:
            self._active = False
            signal.setitimer(signal.ITIMER_REAL, 0.0)
            signal.signal(signal.SIGALRM, previous)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A storage write of hyperscout's that the stop waits for (it fires right after)."""
        if not self._active:
            yield
            return
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
        if self._pending and not self._writing and self._active:
            self._pending = False
            self._active = False
            raise DeadlinePassed

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if not self._active:
            return
        if self._writing:
            self._pending = True
            return
        self._active = False  # once
        raise DeadlinePassed
