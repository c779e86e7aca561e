"""A live, read-only page of a study: its plots and trials, updated while the search runs.

``hyperscout dashboard DIRECTORY/PROJECT`` (or a database URL with ``--project-name``) and
:func:`serve_dashboard` serve one page on ``http://127.0.0.1:PORT/``. The page asks the server
for the study every 1.5 s (``/api/study``, JSON) and redraws what changed: new trials appear
without a reload. It shows the report's plots and the trial table.

What it serves, and nothing else: the page, its script and style, plotly.js from the installed
plotly package (so the page makes no request to another host), and the study as JSON. Asset
names are looked up in a fixed table, never as paths, so no other file can be read through it.
It writes nothing: the study is only read, through :func:`~hyperscout.report.study.read_study`.

Safety:

- It listens on the loopback address (127.0.0.1) unless told otherwise; another address must
  be asked for explicitly (``allow_remote=True``, which ``hyperscout dashboard --host`` sets),
  since anyone who can reach it then reads the study.
- On loopback it answers only requests addressed to a loopback name (``Host`` header), so a
  web page the user visits cannot read the study through DNS rebinding.
- Names, values and error texts reach the page as JSON and are shown as text
  (``textContent``); a content security policy forbids inline scripts and other hosts.

It needs Starlette and uvicorn: ``pip install 'hyperscout[dashboard]'``.

>>> import json, urllib.request
>>> import hyperscout as hs
>>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3, seed=0,
...                         storage="memory", verbose=0)
>>> tuner.search()
>>> with DashboardServer(tuner) as server:  # port=0: a free port, served from a thread
...     with urllib.request.urlopen(server.url + "api/study") as answer:
...         body = json.load(answer)
>>> body["study"]["trials"], [row["number"] for row in body["table"]["rows"]]
(3, [2, 1, 0])
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from hyperscout._validation import fail
from hyperscout.exceptions import require
from hyperscout.report._dashboard_data import Snapshots, StudyReader
from hyperscout.report._text import printable

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["DashboardServer", "dashboard_app", "host_name", "is_loopback", "serve_dashboard"]

_FEATURE = "hyperscout dashboard"
#: The names that mean this machine only.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
#: How often the page asks for the study, in seconds (the script's POLL_MS).
POLL_SECONDS = 1.5
#: Files the page may load: name -> media type. Nothing else is served from disk.
_ASSET_FILES = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_PLOTLY_ASSET = "plotly.min.js"
# Scripts only from the dashboard itself (no inline script), data only from it; plotly draws
# its styles inline, and its WebGL plots (parallel coordinates) compile shaders with eval.
_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """True when ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to any address


# -- the application -------------------------------------------------------------------------


def _asset_text(name: str) -> str:
    folder = resources.files("hyperscout.report").joinpath("dashboard_assets")
    return folder.joinpath(name).read_text(encoding="utf-8")


def dashboard_app(
    source: Any,
    *,
    project_name: str | None = None,
    allowed_hosts: Sequence[str] | None = LOOPBACK_NAMES,
) -> Starlette:
    """The dashboard of a study as a Starlette application (serve it with any ASGI server).

    Args:
        source: what names the study, as for :func:`~hyperscout.report.study.study_of`: a
            tuner, a Storage or database URL (with ``project_name``), a project folder, or a
            :class:`~hyperscout.report.study.StudyData` (shown as it is).
        project_name: the study's name in a storage or URL.
        allowed_hosts: the host names requests may be addressed to (their ``Host`` header);
            ``None`` accepts any (for a dashboard served to other machines).

    Raises:
        MissingDependencyError: Starlette is not installed.
        InvalidArgumentError: ``source`` names no study.
    """
    require("starlette", feature=_FEATURE, extra="dashboard")
    from starlette.applications import Starlette
    from starlette.routing import Route

    reader = StudyReader(source, project_name)
    handlers = _Handlers(Snapshots(reader), allowed_hosts)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        try:
            yield
        finally:
            reader.close()

    routes = [
        Route("/", handlers.checked(handlers.page)),
        Route("/assets/{name}", handlers.checked(handlers.asset)),
        Route("/api/study", handlers.checked(handlers.study)),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def host_name(header: str) -> str:
    """The host name of a ``Host`` header, without its port (``[::1]:80`` -> ``::1``).

    >>> host_name("127.0.0.1:8765"), host_name("[::1]:8765"), host_name("LocalHost")
    ('127.0.0.1', '::1', 'localhost')
    """
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.partition(":")[0]


class _Handlers:
    """The three endpoints: the page, an asset by name, the study as JSON."""

    def __init__(self, snapshots: Snapshots, allowed_hosts: Sequence[str] | None) -> None:
        self._snapshots = snapshots
        self._allowed = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
        self._plotly: str | None = None

    def checked(
        self, handler: Callable[[Request], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """``handler``, answering 400 to a request addressed to a host not allowed.

        A page on another site that rebinds its DNS name to 127.0.0.1 sends its own name.
        """
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import PlainTextResponse

        async def endpoint(request: Request) -> Response:
            name = host_name(request.headers.get("host", ""))
            if self._allowed is not None and name not in self._allowed:
                return PlainTextResponse(
                    "This dashboard answers requests to 127.0.0.1 or localhost only.",
                    status_code=400,
                    headers=_HEADERS,
                )
            return await run_in_threadpool(handler, request)

        return endpoint

    def page(self, request: Request) -> Response:
        from starlette.responses import HTMLResponse

        return HTMLResponse(_asset_text("index.html"), headers=_HEADERS)

    def asset(self, request: Request) -> Response:
        from starlette.responses import PlainTextResponse, Response

        name = request.path_params["name"]
        if name == _PLOTLY_ASSET:
            if self._plotly is None:
                from plotly.offline import get_plotlyjs

                self._plotly = get_plotlyjs()
            media = "text/javascript; charset=utf-8"
            headers = {**_HEADERS, "Cache-Control": "max-age=3600"}
            return Response(self._plotly, media_type=media, headers=headers)
        if name not in _ASSET_FILES:  # a fixed table: never a path on disk
            return PlainTextResponse("Not found.", status_code=404, headers=_HEADERS)
        return Response(_asset_text(name), media_type=_ASSET_FILES[name], headers=_HEADERS)

    def study(self, request: Request) -> Response:
        from starlette.responses import Response

        since = request.query_params.get("since", "")
        figures_since = request.query_params.get("figures", "")
        try:
            body = self._snapshots.payload(since, figures_since)
            status = 200
        except Exception as exc:  # a damaged or vanished study: say so on the page
            body, status = {"error": printable(f"{type(exc).__name__}: {exc}")}, 503
        text = json.dumps(body, allow_nan=False, separators=(",", ":"))
        # The same JSON, with no character that HTML reads as markup, should it ever be
        # shown as a page.
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return Response(text, status_code=status, media_type="application/json", headers=_HEADERS)


# -- serving ---------------------------------------------------------------------------------


class DashboardServer:
    """The dashboard served by uvicorn, on a socket bound when it is made.

    The address is known at once (``url``; ``port=0`` takes a free port). :meth:`run` serves
    until Ctrl-C; :meth:`start` serves from a background thread until :meth:`stop` (or the end
    of a ``with`` block).

    Args:
        source, project_name: the study, as for :func:`dashboard_app`.
        host: the address to listen on; a non-loopback address needs ``allow_remote=True``.
        port: the port; 0 for a free one.
        allow_remote: let other machines reach the page (anyone who can reach the address
            reads the study).

    Raises:
        InvalidArgumentError: a non-loopback ``host`` without ``allow_remote``, or a bad
            ``port``.
        MissingDependencyError: Starlette or uvicorn is not installed.
        OSError: the address cannot be bound (the port is taken).
    """

    def __init__(
        self,
        source: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        project_name: str | None = None,
        allow_remote: bool = False,
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            fail("DashboardServer", "host", host, "an address such as '127.0.0.1'")
        if not is_loopback(host) and not allow_remote:
            fail(
                "DashboardServer",
                "host",
                host,
                "a loopback address (127.0.0.1, ::1, localhost) unless allow_remote=True "
                "(hyperscout dashboard --host), since anyone who reaches it reads the study",
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            fail("DashboardServer", "port", port, "an int from 0 (a free port) to 65535")
        uvicorn: Any = require("uvicorn", feature=_FEATURE, extra="dashboard")
        allowed = LOOPBACK_NAMES if is_loopback(host) else None
        app = dashboard_app(source, project_name=project_name, allowed_hosts=allowed)
        self.host = host.strip().strip("[]")
        self._socket = _bound_socket(self.host, port)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, ws="none", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8765/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until Ctrl-C (or :meth:`stop` from another thread)."""
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Serve from a background thread; return once the server answers."""
        self._thread = threading.Thread(target=self.run, name="hyperscout-dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The dashboard did not start on {self.url}.")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the background thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> DashboardServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_dashboard(
    source: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    project_name: str | None = None,
    allow_remote: bool = False,
    announce: Callable[[str], object] | None = print,
) -> None:
    """Serve the dashboard of ``source`` until Ctrl-C (see :class:`DashboardServer`).

    ``announce`` receives the page's URL once the socket is bound (``print`` by default).
    """
    server = DashboardServer(
        source, host=host, port=port, project_name=project_name, allow_remote=allow_remote
    )
    if announce is not None:
        announce(server.url)
    server.run()
