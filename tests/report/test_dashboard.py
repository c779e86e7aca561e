"""The dashboard's server: what it serves and what it refuses (the page itself: the browser
tests in test_dashboard_browser.py).

Requests go to a real server on a free loopback port, through ``http.client``, which sends
the path as written (``..`` and ``%2e%2e`` included), as a hostile client would.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout.cli import main
from hyperscout.report.dashboard import DashboardServer, host_name, is_loopback
from hyperscout.report.plots import all_figures
from hyperscout.storage import open_storage

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

SCRIPT = "<script>alert(1)</script>"
QUOTED = '<b>"it\'s"</b> & <i>'


def hostile_objective(hp: hs.HyperParameters) -> float:
    x = hp.Float("x", 0.0, 1.0)
    choice = hp.Choice(QUOTED, [SCRIPT, "plain"])
    if x > 0.9:
        raise ValueError(f"bad x {SCRIPT}")
    return x + (choice == "plain")


def searched(directory: Path, max_trials: int = 6) -> hs.Tuner:
    tuner = hs.RandomSearch(
        hostile_objective,
        max_trials=max_trials,
        seed=0,
        directory=directory,
        project_name="p",
        verbose=0,
    )
    tuner.search()
    return tuner


@pytest.fixture
def project(tmp_path: Path) -> Path:
    searched(tmp_path)
    return tmp_path / "p"


@pytest.fixture
def server(project: Path) -> Iterator[DashboardServer]:
    with DashboardServer(project) as running:
        yield running


def get(server: DashboardServer, path: str, host: str | None = None) -> tuple[int, Any, bytes]:
    """GET ``path`` exactly as written; (status, headers, body)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        headers = {} if host is None else {"Host": host}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def study_json(server: DashboardServer, query: str = "") -> dict[str, Any]:
    status, headers, body = get(server, "/api/study" + query)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    return dict(json.loads(body))


# -- loopback only, unless asked ---------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_host_name_drops_the_port() -> None:
    assert host_name("127.0.0.1:8765") == "127.0.0.1"
    assert host_name("[::1]:8765") == "::1"
    assert host_name("Evil.Example:80") == "evil.example"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_a_non_loopback_address_is_refused_unless_allowed(project: Path, host: str) -> None:
    with pytest.raises(hs.InvalidArgumentError, match="loopback") as caught:
        DashboardServer(project, host=host)
    assert "allow_remote=True" in str(caught.value)


def test_an_allowed_remote_address_is_served_to_any_host_name(project: Path) -> None:
    with DashboardServer(project, host="0.0.0.0", allow_remote=True) as server:
        assert server.url == f"http://0.0.0.0:{server.port}/"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/study", headers={"Host": "my-machine.lan"})
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["study"]["name"] == "p"
        connection.close()


@pytest.mark.parametrize("port", [-1, 65536, 1.5, True, "80"])
def test_a_bad_port_is_refused(project: Path, port: Any) -> None:
    with pytest.raises(hs.InvalidArgumentError, match=r"DashboardServer\(port=.*\): expected"):
        DashboardServer(project, port=port)


def test_a_request_to_another_host_name_is_refused_on_loopback(server: DashboardServer) -> None:
    # A page elsewhere whose DNS name was rebound to 127.0.0.1 sends its own name.
    for path in ["/", "/api/study", "/assets/dashboard.js"]:
        status, _, body = get(server, path, host=f"evil.example:{server.port}")
        assert status == 400 and b"p" not in body.split(b"only")[-1]
    assert get(server, "/api/study", host=f"localhost:{server.port}")[0] == 200


# -- only its own assets -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../../etc/passwd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/assets/%252e%252e%252fetc%252fpasswd",
        "/assets//etc/passwd",
        "/assets/%2fetc%2fpasswd",
        "/etc/passwd",
        "/../../../../etc/passwd",
        "/assets/index.html",
        "/assets/../dashboard.py",
        "/assets/%2e%2e%2fdashboard.py",
        "/assets/__init__.py",
        "/assets/hyperscout.db",
        "/hyperscout.db",
    ],
)
def test_no_file_outside_its_assets_is_served(server: DashboardServer, path: str) -> None:
    status, _, body = get(server, path)
    assert status == 404, (path, status, body[:200])
    assert b"root:" not in body and b"import" not in body and b"SQLite" not in body


def test_its_assets_are_served_with_their_types(server: DashboardServer) -> None:
    from plotly.offline import get_plotlyjs

    status, headers, body = get(server, "/assets/plotly.min.js")
    assert status == 200 and body.decode() == get_plotlyjs()
    assert headers["Content-Type"].startswith("text/javascript")
    status, headers, body = get(server, "/assets/dashboard.js")
    assert status == 200 and b"textContent" in body and b"innerHTML" not in body
    status, headers, body = get(server, "/assets/dashboard.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_the_page_loads_nothing_from_another_host(server: DashboardServer) -> None:
    status, headers, body = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "http://" not in page and "https://" not in page and "//" not in page
    assert '<script src="assets/plotly.min.js"></script>' in page
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert headers["X-Content-Type-Options"] == "nosniff"


# -- the study as JSON -----------------------------------------------------------------------


def test_the_study_as_json(server: DashboardServer, project: Path) -> None:
    body = study_json(server)
    assert body["study"]["name"] == "p"
    assert body["study"]["trials"] == 6
    counts = body["study"]["counts"]
    assert counts["COMPLETE"] + counts["FAILED"] == 6 and counts["RUNNING"] == 0
    table = body["table"]
    assert table["columns"][:5] == ["trial", "state", "objective (min)", "budget", "duration (s)"]
    assert table["columns"][5:] == ["x", QUOTED, "error"]
    assert [row["number"] for row in table["rows"]] == [5, 4, 3, 2, 1, 0]  # newest first
    storage = open_storage(f"sqlite:///{project / 'hyperscout.db'}")
    try:
        study = storage.load_study("p")
        assert study is not None
        trials = {t.number: t for t in storage.trials(study.id)}
    finally:
        storage.close()
    for row in table["rows"]:
        trial = trials[row["number"]]
        assert row["state"] == trial.state.name
        assert row["cells"][6] == trial.values[QUOTED]  # the hostile value, as typed
        if trial.state is hs.TrialState.FAILED:
            assert SCRIPT in row["error"] and SCRIPT in row["cells"][-1]
    keys = [key for key, _ in all_figures(project)]
    assert [figure["name"] for figure in body["figures"]] == keys
    assert all(figure["figure"]["data"] for figure in body["figures"])


def test_hostile_text_reaches_the_page_as_json_never_as_markup(server: DashboardServer) -> None:
    raw = get(server, "/api/study")[2]
    assert b"<" not in raw and b">" not in raw  # written as \u003c, \u003e
    body = json.loads(raw)
    assert SCRIPT in [row["cells"][6] for row in body["table"]["rows"]]
    _, _, page = get(server, "/")
    assert b"alert" not in page and QUOTED.encode() not in page


def test_only_what_changed_is_sent_again(tmp_path: Path) -> None:
    searched(tmp_path, max_trials=4)
    tuner = hs.RandomSearch(  # the same study, resumed for one more trial through ask/tell
        hostile_objective, max_trials=5, seed=0, directory=tmp_path, project_name="p", verbose=0
    )
    with DashboardServer(tmp_path / "p") as server:
        first = study_json(server)
        since = f"?since={first['version']}&figures={first['figures_version']}"
        unchanged = study_json(server, since)
        assert set(unchanged) == {"version", "figures_version"}
        assert unchanged["version"] == first["version"]

        hp, trial = tuner.ask()  # a trial starts: the table shows it running
        hp.Float("x", 0.0, 1.0)
        running = study_json(server, since)
        assert running["version"] != first["version"]
        assert running["table"]["rows"][0]["number"] == 4
        assert running["table"]["rows"][0]["state"] == "RUNNING"
        assert running["study"]["counts"]["RUNNING"] == 1

        tuner.tell(trial, 0.25)
        done = study_json(server, f"?since={running['version']}")
        assert done["table"]["rows"][0]["state"] == "COMPLETE"
        assert done["table"]["rows"][0]["cells"][2] == "0.25"

        # The figures follow, drawn in the background: within seconds they are the new ones.
        deadline = time.monotonic() + 10
        figures_since = first["figures_version"]
        while figures_since != done["version"]:
            assert time.monotonic() < deadline, "the figures were not redrawn"
            time.sleep(0.2)
            later = study_json(server, f"?since={done['version']}&figures={figures_since}")
            if "figures" in later:
                figures_since = later["figures_version"]
        history = next(f for f in later["figures"] if f["name"] == "history")["figure"]
        assert 0.25 in [y for trace in history["data"] for y in trace.get("y") or []]


def test_the_sensitivity_sweeps_are_shown_when_they_ran(tmp_path: Path) -> None:
    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0.0, 1.0) + hp.Float("y", 0.0, 1.0),
        max_trials=5,
        seed=0,
        directory=tmp_path,
        project_name="p",
        verbose=0,
    )
    tuner.search()
    with DashboardServer(tmp_path / "p") as server:
        assert "sensitivity" not in [f["name"] for f in study_json(server)["figures"]]
    tuner.sensitivity(points=3)
    with DashboardServer(tmp_path / "p") as server:
        assert [f["name"] for f in study_json(server)["figures"]][-1] == "sensitivity"


def test_a_study_that_cannot_be_read_is_an_error_on_the_page(
    server: DashboardServer, project: Path
) -> None:
    storage = open_storage(f"sqlite:///{project / 'hyperscout.db'}")
    try:
        storage.delete_study("p")
    finally:
        storage.close()
    status, headers, raw = get(server, "/api/study")
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert "p" in json.loads(raw)["error"]


def test_figures_that_fail_leave_the_table_shown(project: Path, monkeypatch: Any) -> None:
    def broken(study: Any) -> list[Any]:
        raise ValueError(f"cannot draw {SCRIPT}")

    monkeypatch.setattr("hyperscout.report._dashboard_data._figures", broken)
    with DashboardServer(project) as server:
        body = study_json(server)
    assert len(body["table"]["rows"]) == 6
    assert body["figures"] == [{"name": "error", "error": f"ValueError: cannot draw {SCRIPT}"}]


def test_missing_starlette_names_the_extra(project: Path, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(hs.MissingDependencyError, match=r"pip install 'hyperscout\[dashboard\]'"):
        DashboardServer(project)


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: Any) -> list[DashboardServer]:
    """The servers the command would run (run() returns at once instead of serving)."""
    runs: list[DashboardServer] = []

    def run(self: DashboardServer) -> None:
        runs.append(self)
        self._socket.close()

    monkeypatch.setattr(DashboardServer, "run", run)
    return runs


def test_the_command_serves_on_loopback_by_default(
    project: Path, served: list[DashboardServer]
) -> None:
    result = CliRunner().invoke(main, ["dashboard", str(project), "--port", "0"])
    assert result.exit_code == 0, result.output
    (server,) = served
    assert server.host == "127.0.0.1" and server.port > 0
    assert f"http://127.0.0.1:{server.port}/" in result.stdout
    assert "Warning" not in result.output


def test_the_command_warns_when_host_leaves_this_machine(
    project: Path, served: list[DashboardServer]
) -> None:
    result = CliRunner().invoke(
        main, ["dashboard", str(project), "--host", "0.0.0.0", "--port", "0"]
    )
    assert result.exit_code == 0, result.output
    assert served[0].host == "0.0.0.0"
    assert "Warning" in result.stderr and "anyone who can reach" in result.stderr


def test_the_command_reads_a_database_url(project: Path, served: list[DashboardServer]) -> None:
    url = f"sqlite:///{project / 'hyperscout.db'}"
    result = CliRunner().invoke(main, ["dashboard", url, "--project-name", "p", "--port", "0"])
    assert result.exit_code == 0, result.output
    missing = CliRunner().invoke(main, ["dashboard", url, "--port", "0"])
    assert missing.exit_code == 1 and "--project-name" in missing.stderr


def test_the_command_shows_a_renamed_project_folder(
    project: Path, served: list[DashboardServer]
) -> None:
    renamed = project.rename(project.parent / "renamed")
    result = CliRunner().invoke(main, ["dashboard", str(renamed), "--port", "0"])
    assert result.exit_code == 0, result.output


def test_the_command_refuses_what_is_not_a_project(
    tmp_path: Path, served: list[DashboardServer]
) -> None:
    result = CliRunner().invoke(main, ["dashboard", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no project at" in result.stderr
    assert not served


def test_the_command_names_a_port_in_use(project: Path, server: DashboardServer) -> None:
    result = CliRunner().invoke(main, ["dashboard", str(project), "--port", str(server.port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr
    assert "--port 0" in result.stderr
