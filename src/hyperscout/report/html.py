"""The HTML report: one self-contained file that shows a study, and opens offline.

:func:`write_report` writes, in one file, the study's figures
(:func:`hyperscout.report.plots.all_figures`), its best configurations, its search space, the
strategy that made it with its settings, the advice drawn from its trials
(:func:`hyperscout.report.advice.advise`) and its provenance (package versions, seed, when its
trials ran, on which host). Plotly's JavaScript is embedded from the installed package, once;
each figure is embedded as JSON and drawn by an inline script. The page fetches nothing: no
CDN, no web font, not even a file beside it (its Content-Security-Policy forbids it), so it
opens from a mail attachment, offline, years later.

Every name, value and error text of the study is escaped (:func:`html.escape`); the figures'
JSON has its ``<``, ``>`` and ``&`` written as ``\\u003c`` ..., so that no text of the study
can close the script that holds it.

**Overwriting.** hyperscout never overwrites a file it did not create: every report starts
with :data:`~hyperscout.report._html_template.MARKER`, and :func:`write_report` replaces an
existing file only when it carries that marker (a report written earlier, say of the same
study before more trials ran). Any other existing file, or a folder, is refused with a
sentence; move it aside or choose another path. The file is written beside its destination
first, then moved over it, so that a failure leaves the earlier report whole.
"""

from __future__ import annotations

import datetime
import html
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperscout._version import __version__
from hyperscout.exceptions import InvalidArgumentError
from hyperscout.history import rank_configurations
from hyperscout.report._html_template import CSP, MARKER, RENDER_SCRIPT, STYLE
from hyperscout.report._text import format_value
from hyperscout.report.study import StudyData, study_of
from hyperscout.report.tables import FittedTable, space_table, trials_table
from hyperscout.trial import TrialState

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["is_report", "render_report", "write_report"]

#: How many bytes of an existing file are read to find :data:`MARKER`.
_HEAD = 512
#: The heading of each kind of :class:`~hyperscout.report.advice.Advice`.
_ADVICE_LABELS = {"edge": "Widen the range", "no_effect": "No effect", "budget": "Budgets"}


def write_report(
    study: Any,
    path: str | os.PathLike[str],
    *,
    project_name: str | None = None,
    top: int = 10,
    figures: Sequence[tuple[str, go.Figure]] | None = None,
    advice: Sequence[Any] | None = None,
) -> Path:
    """Write the study's HTML report to ``path``, one file that opens offline; return its path.

    Args:
        study: anything :func:`~hyperscout.report.study_of` reads: a tuner, a
            :class:`~hyperscout.report.StudyData`, a project folder, or a storage or database
            URL with ``project_name``.
        path: the file to write. An existing file is replaced only when it is a report
            hyperscout wrote (see the module's documentation).
        project_name: the study's name, with a storage or a database URL.
        top: the most configurations the table of the best shows.
        figures: the figures to show, as ``(key, figure)`` (default:
            :func:`hyperscout.report.plots.all_figures`); a key of
            :data:`~hyperscout.report.plots.FIGURE_TITLES` is shown as its title.
        advice: the advice to show (default: :func:`hyperscout.report.advice.advise`).

    Raises:
        InvalidArgumentError: ``study`` names no study, or ``path`` is a folder or a file
            hyperscout did not write.

    >>> import tempfile, hyperscout as hs
    >>> tuner = hs.RandomSearch(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=3, seed=0,
    ...                         storage="memory", verbose=0)
    >>> tuner.search()
    >>> folder = tempfile.mkdtemp()
    >>> written = write_report(tuner, f"{folder}/report.html")
    >>> is_report(written), written.stat().st_size > 1_000_000  # plotly.js is inside
    (True, True)
    """
    target = Path(path)
    _check_target(target)
    text = render_report(study_of(study, project_name), top=top, figures=figures, advice=advice)
    folder = target.parent if str(target.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        _check_target(target)  # a file that appeared while the report was drawn
        # mkstemp's file is private (0600); a report is read like any document.
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def is_report(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file that hyperscout wrote as a report (it carries the marker)."""
    try:
        with open(path, "rb") as file:
            head = file.read(_HEAD)
    except OSError:
        return False
    return MARKER.encode() in head


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise InvalidArgumentError(
            f"write_report(path={str(target)!r}): that is a folder; expected the report's "
            "file name, such as report.html inside it."
        )
    if target.exists() and not is_report(target):
        raise InvalidArgumentError(
            f"write_report(path={str(target)!r}): the file exists and is not a report "
            "hyperscout wrote; hyperscout never overwrites a file it did not create. Move it "
            "aside or choose another path."
        )
    if not target.parent.is_dir():
        raise InvalidArgumentError(
            f"write_report(path={str(target)!r}): the folder {str(target.parent)!r} does not exist."
        )


def render_report(
    study: StudyData,
    *,
    top: int = 10,
    figures: Sequence[tuple[str, go.Figure]] | None = None,
    advice: Sequence[Any] | None = None,
) -> str:
    """The HTML text of the report of ``study`` (see :func:`write_report`)."""
    import plotly.offline

    if figures is None:
        from hyperscout.report.plots import all_figures
        from hyperscout.report.sensitivity import read_sensitivity, sensitivity_figure

        figures = all_figures(study)
        if read_sensitivity(study) is not None:  # tuner.sensitivity() ran: its sweeps too
            figures = [*figures, ("sensitivity", sensitivity_figure(study))]
    if advice is None:
        from hyperscout.report.advice import advise

        advice = advise(study)
    sections = [
        _advice_section(advice),
        _best_section(study, top),
        _figures_section(figures),
        _table_section("Search space", space_table(study.space), empty="No parameter yet."),
        _strategy_section(study.provenance),
        _provenance_section(study),
        _failures_section(study),
    ]
    # "</script" cannot end the embedded library early: "<\/script" reads the same in JS.
    plotly_js = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            MARKER,
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_text(study.name)}: hyperscout report</title>",
            f"<style>{STYLE}</style>",
            f"<script>{plotly_js}</script>",
            "</head>",
            "<body>",
            _header(study),
            "<main>",
            *sections,
            "</main>",
            f"<script>{RENDER_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


# -- pieces ------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value), quote=True)


def script_json(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` left.

    >>> script_json('{"a": "</script><b>&"}')
    '{"a": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _section(anchor: str, title: str, *body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_text(title)}</h2>\n' + "\n".join(body) + "\n</section>"


def _header(study: StudyData) -> str:
    history = study.history
    counts = history.counts()
    states = ", ".join(f"{n} {state.name.lower()}" for state, n in counts.items() if n)
    objective = study.objective
    summary = (
        f"{len(history)} trials ({states or 'none yet'}), optimising {objective.name} "
        f"({objective.direction})."
    )
    best = history.best(1)
    if best:
        summary += f" Best: {format_value(best[0].value)} (trial {best[0].number})."
    return f"<header>\n<h1>{_text(study.name)}</h1>\n<p>{_text(summary)}</p>\n</header>"


def _html_table(table: FittedTable, numeric: Iterable[int] = ()) -> str:
    right = set(numeric)
    head = "".join(f"<th>{_text(h)}</th>" for h in table.headers)
    rows = "\n".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_text(c)}</td>' if i in right else f"<td>{_text(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )
    caption = f'<p class="caption">{_text(table.title)}</p>' if table.title else ""
    return f'{caption}<div class="scroll"><table>\n<tr>{head}</tr>\n{rows}\n</table></div>'


def _table_section(title: str, table: FittedTable, *, empty: str) -> str:
    anchor = title.lower().replace(" ", "-")
    body = _html_table(table) if table.rows else f"<p>{_text(empty)}</p>"
    return _section(anchor, title, body)


def _best_section(study: StudyData, top: int) -> str:
    history = study.history
    ranked = rank_configurations(history, study.objective)
    if not ranked:
        return _section("best", "Best configurations", "<p>No complete trial yet.</p>")
    best = ranked[:top]
    title = f"The best {len(best)} of {len(ranked)} configurations, best first"
    if any(t.budget is not None for t in ranked):
        title += ", each on the highest budget it completed"
    table = trials_table(best, study.objective, title=title)
    return _section("best", "Best configurations", _html_table(table, numeric=(0, 1, 2, 3)))


def _figures_section(figures: Sequence[tuple[str, go.Figure]]) -> str:
    from hyperscout.report.plots import FIGURE_TITLES

    if not figures:
        return _section("figures", "Figures", "<p>No figure: the study has no trial yet.</p>")
    parts = []
    for index, (key, figure) in enumerate(figures):
        parts.append(
            f'<h3 id="figure-{_text(key)}">{_text(FIGURE_TITLES.get(key, key))}</h3>\n'
            f'<div class="figure" id="hs-figure-{index}"></div>\n'
            f'<script type="application/json" class="hs-figure" '
            f'data-target="hs-figure-{index}">{script_json(figure.to_json())}</script>'
        )
    return _section("figures", "Figures", *parts)


def _advice_section(advice: Sequence[Any]) -> str:
    if not advice:
        body = "<p>Nothing to advise: no parameter's best values sit at the edge of its range, "
        body += "every parameter shows an effect, and the budgets agree.</p>"
        return _section("advice", "Advice", body)
    items = []
    for item in advice:
        kind = getattr(item, "kind", None)
        message = getattr(item, "message", None) or str(item)
        label = (
            f'<span class="kind">{_text(_ADVICE_LABELS.get(kind, kind))}:</span> ' if kind else ""
        )
        items.append(f"<li>{label}{_text(message)}</li>")
    return _section("advice", "Advice", '<ul class="advice">', *items, "</ul>")


def _definitions(rows: Iterable[tuple[str, Any]]) -> str:
    body = "\n".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in rows)
    return f"<dl>\n{body}\n</dl>"


def _settings(part: Any) -> str:
    if not isinstance(part, Mapping):
        return "unknown"
    settings = part.get("settings") or {}
    items = (
        ", ".join(f"{k}={v!r}" for k, v in settings.items())
        if isinstance(settings, Mapping)
        else ""
    )
    return f"{part.get('class', 'unknown')}({items})"


def _strategy_section(provenance: Mapping[str, Any]) -> str:
    if not provenance:
        return _section(
            "strategy", "Strategy", "<p>Unknown: the study was made before hyperscout kept it.</p>"
        )
    rows = [
        ("made by", provenance.get("preset", "unknown")),
        ("sampler", _settings(provenance.get("sampler"))),
        ("scheduler", _settings(provenance.get("scheduler"))),
    ]
    return _section("strategy", "Strategy", _definitions(rows))


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")


def _provenance_section(study: StudyData) -> str:
    import plotly

    provenance = study.provenance
    started = [t.started_at for t in study.trials if t.started_at is not None]
    finished = [t.finished_at for t in study.trials if t.finished_at is not None]
    made_with = "unknown"
    if provenance:
        made_with = f"hyperscout {provenance.get('hyperscout')}, Python {provenance.get('python')}"
    created = provenance.get("created_at") or "unknown"
    if provenance.get("recorded_on_resume"):
        created = f"unknown (recorded when resumed on {provenance.get('recorded_at')})"
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    rows = [
        ("study made with", made_with),
        ("seed", provenance.get("seed", "unknown")),
        ("host", provenance.get("host", "unknown")),
        ("study created", created),
        ("first trial started", _when(min(started, default=None))),
        ("last trial finished", _when(max(finished, default=None))),
        (
            "report written",
            f"{now} with hyperscout {__version__}, plotly {plotly.__version__}, "
            f"Python {platform.python_version()}",
        ),
    ]
    return _section("provenance", "Provenance", _definitions(rows))


def _failures_section(study: StudyData) -> str:
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    if not failed:
        return ""
    parts = []
    for trial in failed:
        reason = (trial.error or "no reason kept").strip()
        first = reason.splitlines()[0] if reason else ""
        parts.append(
            f"<details><summary>Trial {trial.number}: {_text(first)}</summary>"
            f"<pre>{_text(reason)}</pre></details>"
        )
    return _section("failures", f"Failed trials ({len(failed)})", *parts)
