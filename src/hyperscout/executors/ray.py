"""Trials on Ray: one remote task per trial, on this machine or on a cluster.

Ray is imported when a :class:`RayExecutor` is made (``pip install "hyperscout[ray]"``),
never by ``import hyperscout``.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from hyperscout._validation import check, check_int, check_number, fail, is_number
from hyperscout.exceptions import require
from hyperscout.executors.base import Executor, WorkerLostError

__all__ = ["RayExecutor", "RayShared"]

T = TypeVar("T")

_OWNER = "RayExecutor"

#: Ray's errors that say the process or node running a call is gone (killed, out of memory,
#: a node lost, the task cancelled), and the result with it.
_LOST = (
    "WorkerCrashedError",
    "NodeDiedError",
    "LocalRayletDiedError",
    "OutOfMemoryError",
    "ObjectLostError",  # OwnerDiedError and the other ways a result is lost
    "TaskCancelledError",  # cancelled by someone else (this executor settles its own)
)


#: For the Ray instances an executor starts: no usage statistics sent, no notice printed
#: about them. (Set only while ray.init runs, and only when the user has not set them.)
_QUIET = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_USAGE_STATS_PROMPT_ENABLED": "0"}


@contextlib.contextmanager
def _environment(defaults: Mapping[str, str]) -> Iterator[None]:
    """Set the environment variables of ``defaults`` that are unset, for the block."""
    added = [name for name in defaults if name not in os.environ]
    for name in added:
        os.environ[name] = defaults[name]
    try:
        yield
    finally:
        for name in added:
            if os.environ.get(name) == defaults[name]:
                del os.environ[name]


def _call(fn: Callable[..., T], *args: Any) -> T:
    """In a Ray worker: the call (the remote function of every task)."""
    return fn(*args)


class RayExecutor(Executor):
    """Runs each trial as a Ray task, on this machine or on a Ray cluster.

    One remote task per trial, never retried by Ray (``max_retries=0``): a worker or a node
    that dies makes the call's future fail with
    :class:`~hyperscout.executors.base.WorkerLostError`, and the tuner records the trial
    FAILED and runs its configuration again as a retry. Each task runs its trial against the
    search's storage, so the storage must be one every node opens: an SQLite file on one
    machine, PostgreSQL across machines (``storage="memory"`` is refused before any trial).
    What a task needs is pickled, as for :class:`~hyperscout.executors.ProcessExecutor`;
    what a search shares (:meth:`share`: its objective and arguments) is stored once in
    Ray's object store, and read by each worker process once.

    Args:
        address: None starts a local Ray instance (or joins the one ``ray start --head``
            started on this machine, or ``RAY_ADDRESS``), as ``ray.init()`` does; a
            cluster's address (``"10.0.0.5:6379"``, or ``"auto"`` on one of its machines)
            connects to it; ``"local"`` always starts a new local instance. When Ray is
            already initialised in this process, the executor uses that connection and
            leaves it open.
        n_workers: trials running at once; None: as many as the nodes of the cluster hold,
            ``num_cpus`` CPUs (and ``num_gpus`` GPUs) each. Calls beyond it wait here.
        num_cpus: CPUs Ray reserves for each trial (a fraction, such as 0.5, runs two
            trials per CPU).
        num_gpus: GPUs Ray reserves for each trial (0: none).
        init_kwargs: further arguments of ``ray.init`` when the executor starts or connects
            to Ray (``runtime_env={"working_dir": "."}`` sends the objective's code to the
            nodes, say).

    An executor that started Ray (or connected to it) shuts it down (or disconnects) when
    the search ends, and starts (or connects) again for the next search. An instance it
    starts has no dashboard and sends no usage statistics (unless
    ``RAY_USAGE_STATS_ENABLED=1`` says so).
    """

    runs_elsewhere = True

    def __init__(
        self,
        address: str | None = None,
        *,
        n_workers: int | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        init_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        check(
            _OWNER,
            "address",
            address,
            address is None or (isinstance(address, str) and bool(address.strip())),
            'None (a local Ray instance) or a cluster address such as "10.0.0.5:6379"',
        )
        check_int(_OWNER, "n_workers", n_workers, minimum=1, allow_none=True)
        check_number(_OWNER, "num_cpus", num_cpus, minimum=0, above=True)
        _check_quantity("num_cpus", num_cpus)
        check_number(_OWNER, "num_gpus", num_gpus, minimum=0)
        _check_quantity("num_gpus", num_gpus)
        check(
            _OWNER,
            "init_kwargs",
            init_kwargs,
            init_kwargs is None
            or (isinstance(init_kwargs, Mapping) and all(isinstance(k, str) for k in init_kwargs)),
            "None or a dict of ray.init() arguments",
        )
        if init_kwargs is not None and "address" in init_kwargs:
            fail(_OWNER, "init_kwargs", dict(init_kwargs), "no 'address' (give address=)")
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self._init_kwargs = dict(init_kwargs or {})
        ray: Any = require("ray", feature=_OWNER, extra="ray")
        self._ray = ray
        self._lost: tuple[type[BaseException], ...] = tuple(
            getattr(ray.exceptions, name) for name in _LOST if hasattr(ray.exceptions, name)
        )
        self._lock = threading.Lock()
        self._running: dict[Future[Any], Any] = {}  # a call's future -> its task's ObjectRef
        self._waiting: collections.deque[_Call] = collections.deque()  # beyond n_workers
        self._shared: list[Any] = []  # ObjectRefs of what share() stored, until close()
        self._owned = False  # this executor called ray.init (and calls ray.shutdown)
        self._remote: Any = None  # the remote function, made on first need
        self._settler: ThreadPoolExecutor | None = None  # settles futures (see _hand_over)
        self._connect()
        self.n_workers = n_workers if n_workers is not None else self._cluster_slots()

    # -- Ray's connection ------------------------------------------------------------------
    def _connect(self) -> None:
        """Start or join Ray unless this process is connected already."""
        ray = self._ray
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {**self._init_kwargs, "address": self.address}
        if self.address in (None, "local"):
            kwargs.setdefault("include_dashboard", False)
        with _environment(_QUIET):  # read by ray.init and the processes it starts
            ray.init(**kwargs)
        self._owned = True
        self._remote = None  # made again for this session

    def _cluster_slots(self) -> int:
        """How many trials fit at once on the cluster's nodes (their CPUs, and GPUs)."""
        slots = 0
        cpus = gpus = 0.0
        for node in self._ray.nodes():
            if not node.get("Alive"):
                continue
            resources = node.get("Resources") or {}
            cpus += float(resources.get("CPU", 0.0))
            gpus += float(resources.get("GPU", 0.0))
            fit = int(float(resources.get("CPU", 0.0)) / self.num_cpus + 1e-9)
            if self.num_gpus > 0:
                fit = min(fit, int(float(resources.get("GPU", 0.0)) / self.num_gpus + 1e-9))
            slots += fit
        if slots < 1:
            short = "num_gpus" if self.num_gpus > 0 and cpus >= self.num_cpus else "num_cpus"
            fail(
                _OWNER,
                short,
                getattr(self, short),
                f"what one node of the cluster has ({cpus:g} CPUs and {gpus:g} GPUs in all), "
                "or n_workers= for a cluster that will grow",
            )
        return slots

    def _task(self) -> Any:
        if self._remote is None:
            self._remote = self._ray.remote(_call).options(
                num_cpus=self.num_cpus,
                num_gpus=self.num_gpus,
                max_retries=0,  # a lost trial is the tuner's to run again, as a retry
                name="hyperscout",
            )
        return self._remote

    # -- the Executor interface ------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        future.set_running_or_notify_cancel()  # Ray does not say when a task starts
        try:
            self._connect()
        except Exception as exc:  # no Ray to send it to
            future.set_exception(exc)
            return future
        call = _Call(future, fn, args)
        with self._lock:
            if len(self._running) >= self.n_workers:
                self._waiting.append(call)
                return future
            self._running[future] = None  # its place, until its task is sent
        self._start(call)
        return future

    def _start(self, call: _Call) -> None:
        """Send ``call`` (its place among the running taken) to Ray as a task."""
        try:
            ref = self._task().remote(call.fn, *call.args)
        except Exception as exc:  # the call cannot be sent (cannot be pickled, Ray gone)
            with self._lock:
                self._running.pop(call.future, None)
            if not call.future.done():
                call.future.set_exception(exc)
            self._start_waiting()
            return
        with self._lock:
            stopped = call.future not in self._running  # given up or cancelled meanwhile
            if not stopped:
                self._running[call.future] = ref
        if stopped:
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
            return
        ref.future().add_done_callback(lambda done: self._hand_over(call.future, done))

    def _start_waiting(self) -> None:
        """Start the calls waiting for a worker, while fewer than n_workers run."""
        while True:
            with self._lock:
                if not self._waiting or len(self._running) >= self.n_workers:
                    return
                call = self._waiting.popleft()
                self._running[call.future] = None  # its place, until its task is sent
            self._start(call)

    def share(self, data: bytes) -> RayShared:
        """Store ``data`` once in Ray's object store; calls receive a reference to it.

        Each worker process reads it once (the tuner's worker keeps what it made of it), from
        the object store of its node. What is shared is released at :meth:`close`.
        """
        self._connect()
        ref = self._ray.put(data)
        with self._lock:
            self._shared.append(ref)
        return RayShared(ref)

    def _hand_over(self, future: Future[T], done: Future[T]) -> None:
        """Settle ``future`` in a thread of this executor, not in Ray's own.

        Ray calls this on a thread of its own, and what the future's callbacks do (the
        tuner reads and writes the storage there) must not hold that thread up.
        """
        with self._lock:
            if self._settler is None:
                self._settler = ThreadPoolExecutor(1, thread_name_prefix="hyperscout-ray")
            settler = self._settler
        try:
            settler.submit(self._settle, future, done)
        except RuntimeError:  # the interpreter is exiting: no new threads
            self._settle(future, done)

    def _settle(self, future: Future[T], done: Future[T]) -> None:
        """Hand the task's outcome to the call's future, a lost worker as WorkerLostError."""
        with self._lock:
            if future not in self._running:
                return  # given up or cancelled: its future has been settled
            del self._running[future]
        try:
            self._set_outcome(future, done)
        finally:
            self._start_waiting()

    def _set_outcome(self, future: Future[T], done: Future[T]) -> None:
        try:
            exc = done.exception()
        except BaseException as error:  # cancelled (not done by hyperscout)
            exc = error
        if exc is None:
            future.set_result(done.result())
            return
        cause = (
            getattr(exc, "cause", None)
            if isinstance(exc, self._ray.exceptions.RayTaskError)
            else None
        )
        if isinstance(cause, BaseException):
            # The call raised: its own exception, with Ray's remote traceback as the cause.
            cause.__cause__ = exc
            future.set_exception(cause)
        elif isinstance(exc, self._lost):
            text = f"{type(exc).__name__}: {exc}"
            future.set_exception(
                WorkerLostError(f"The Ray worker running this call was lost ({text})")
            )
        else:
            future.set_exception(exc)

    def close(self) -> None:
        """Wait for the calls, release what was shared, and shut down Ray if it started it."""
        while True:
            with self._lock:
                futures = [*self._running, *(call.future for call in self._waiting)]
            if not futures:
                break
            wait(futures)
        with self._lock:
            self._shared.clear()
        self._disconnect()

    def give_up(self, future: Future[Any]) -> None:
        """Stop the late call of ``future``: its task is cancelled, its worker process ended."""
        with self._lock:
            waiting = [call for call in self._waiting if call.future is future]
            for call in waiting:
                self._waiting.remove(call)
            refs = {future: self._running[future]} if future in self._running else {}
        for call in waiting:
            call.future.set_exception(WorkerLostError("The call was given up before it ran."))
        self._stop(refs, "it ran past its deadline")

    def cancel(self) -> None:
        """Drop the calls not started, cancel the running tasks; shut down Ray if it started it."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), collections.deque()
            refs = dict(self._running)
            self._shared.clear()
        for call in waiting:
            call.future.set_exception(WorkerLostError("The call was dropped before it ran."))
        self._stop(refs, "the search was stopped")
        self._disconnect()

    def _stop(self, refs: Mapping[Future[Any], Any], why: str) -> None:
        for future, ref in refs.items():
            with self._lock:
                if future not in self._running:
                    continue  # it ended meanwhile
                del self._running[future]
            if ref is not None:
                with contextlib.suppress(Exception):  # a task that ended has nothing to cancel
                    self._ray.cancel(ref, force=True)
            future.set_exception(
                WorkerLostError(f"The Ray task running this call was cancelled: {why}.")
            )
        self._start_waiting()

    def _disconnect(self) -> None:
        if not self._owned:
            return
        self._owned = False
        with self._lock:
            left = [*self._running, *(call.future for call in self._waiting)]
            self._running, self._waiting = {}, collections.deque()
            self._shared.clear()
        self._ray.shutdown()
        for future in left:  # their tasks went with Ray
            if not future.done():
                future.set_exception(WorkerLostError("Ray was shut down before the call ended."))

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, n_workers={self.n_workers}, "
            f"num_cpus={self.num_cpus:g}"
            + (f", num_gpus={self.num_gpus:g}" if self.num_gpus else "")
            + ")"
        )


@dataclasses.dataclass(frozen=True)
class _Call:
    """A call waiting for a worker: its future, function and arguments."""

    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class RayShared:
    """Stands, in a call, for data :meth:`RayExecutor.share` stored in Ray's object store."""

    ref: Any  # a ray.ObjectRef, inside this object so that Ray does not fetch it per call

    def load(self) -> bytes:
        """In a Ray worker: the data (read from the object store of its node)."""
        ray: Any = require("ray", feature=_OWNER, extra="ray")
        return bytes(ray.get(self.ref))


def _check_quantity(name: str, value: float) -> None:
    """Ray's rule for a resource: a fraction of one, or a whole number."""
    ok = is_number(value) and (value <= 1 or float(value).is_integer())
    check(_OWNER, name, value, ok, "a fraction of 1 (such as 0.5) or a whole number")
