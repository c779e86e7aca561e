"""The fixed parts of the HTML report: its marker, its style sheet and its one script.

Nothing here is user text: every name, value and error of a study is escaped by
:mod:`hyperscout.report.html` before it is placed between these parts.
"""

from __future__ import annotations

__all__ = ["CSP", "MARKER", "RENDER_SCRIPT", "STYLE"]

#: The first line after ``<!DOCTYPE html>`` of every report hyperscout writes: a file that
#: does not carry it was not written by hyperscout, and is never overwritten.
MARKER = "<!-- hyperscout report: written by hyperscout; it may overwrite this file. -->"

#: The page may run its own inline scripts and styles and show inline images, and fetch
#: nothing: not another host, not even another file beside it.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)

#: System fonts only: a web font would be a request to another host.
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2933; background: #f7f8fa; }
header { background: #1f2933; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.5rem; word-break: break-all; }
header p { margin: 0; color: #cbd2d9; }
main { padding: 1rem 2rem 3rem 2rem; max-width: 1200px; }
section { background: #fff; border: 1px solid #e4e7eb; border-radius: 6px;
          padding: .8rem 1.2rem; margin: 1rem 0; }
h2 { font-size: 1.15rem; margin: .2rem 0 .6rem 0; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { border-bottom: 1px solid #e4e7eb; padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
th { background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.caption { color: #52606d; font-size: .9rem; margin: .2rem 0 .5rem 0; }
.advice li { margin: .3rem 0; }
.advice .kind { font-weight: 600; }
.figure { min-height: 420px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f0f2f5; padding: .5rem;
      font-size: .8rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; word-break: break-word; }
"""

#: Draws every figure: each is a ``<script type="application/json" class="hs-figure">`` whose
#: text is the figure's JSON (read with JSON.parse, never run), drawn in the element before it.
RENDER_SCRIPT = """
(function () {
  var specs = document.querySelectorAll("script.hs-figure");
  for (var i = 0; i < specs.length; i++) {
    var spec = JSON.parse(specs[i].textContent);
    var target = document.getElementById(specs[i].getAttribute("data-target"));
    var layout = spec.layout || {};
    layout.autosize = true;
    Plotly.newPlot(target, spec.data || [], layout,
                   {responsive: true, displaylogo: false, showLink: false});
  }
})();
"""
