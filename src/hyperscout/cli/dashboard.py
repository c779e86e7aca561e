"""``hyperscout dashboard``: a live page of a study, served on this machine."""

from __future__ import annotations

import click

from hyperscout.cli._common import existing_project, fail, handle_errors, main, open_study
from hyperscout.report.dashboard import DashboardServer, is_loopback

#: The port without ``--port`` (0 asks for a free one).
DEFAULT_PORT = 8765


@main.command(short_help="Serve a live page of a study's plots and trials.")
@click.argument("source", metavar="DIRECTORY/PROJECT|URL")
@click.option(
    "--project-name",
    default=None,
    help="The study's name in a database URL [default for a folder: its name].",
)
@click.option(
    "--host",
    default=None,
    help="The address to listen on [default: 127.0.0.1, this machine only]. Another address "
    "lets every machine that reaches it read the study.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="The port; 0 for a free one.",
)
@handle_errors()
def dashboard(source: str, project_name: str | None, host: str | None, port: int) -> None:
    """Serve a page of a study's plots and trials that updates while the search runs.

    SOURCE is a project folder DIRECTORY/PROJECT or a database URL (with --project-name).
    The page is read-only and listens on 127.0.0.1 unless --host names another address.
    Needs the dashboard extra: pip install 'hyperscout[dashboard]'. Stop it with Ctrl-C.
    """
    if "://" not in source:
        folder = existing_project(source)
        if project_name is None:
            with open_study(folder) as (_, study):  # a renamed folder: its one study
                project_name = study.name
        source = str(folder)
    elif project_name is None:
        fail("Error: a database URL needs --project-name, the name of the study to show.")
    try:
        server = DashboardServer(
            source,
            host="127.0.0.1" if host is None else host,
            port=port,
            project_name=project_name,
            allow_remote=host is not None,  # only an explicit --host leaves this machine
        )
    except OSError as exc:
        fail(
            f"Error: cannot listen on {host or '127.0.0.1'}:{port}: {exc.strerror or exc}."
            + (" Try another --port, or --port 0 for a free one." if port else "")
        )
    if not is_loopback(server.host):
        click.echo(
            f"Warning: the dashboard listens on {server.host}: anyone who can reach this "
            f"machine on port {server.port} can read the study (names, values, errors). It "
            "has no password.",
            err=True,
        )
    click.echo(f"Dashboard of {server.url} (Ctrl-C to stop)")
    server.run()
    click.echo("Dashboard stopped.")
