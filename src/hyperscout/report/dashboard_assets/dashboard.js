// The hyperscout dashboard: polls api/study and redraws what changed, without a reload.
// User text (names, values, errors) only ever reaches the page through textContent, never as
// HTML; the figures are plotly JSON drawn by Plotly.react.
"use strict";

(function () {
  const POLL_MS = 1500;
  let version = "";
  let figuresVersion = "";
  let seen = null; // trial numbers already shown: new ones are highlighted

  function byId(id) {
    return document.getElementById(id);
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function setStatus(text, isError) {
    const status = byId("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function renderSummary(study) {
    byId("study-name").textContent = study.name;
    document.title = "hyperscout: " + study.name;
    const cards = [["objective", study.objective], ["trials", study.trials]];
    for (const [state, count] of Object.entries(study.counts)) {
      cards.push([state.toLowerCase(), count]);
    }
    cards.push(["best", study.best === null ? "-" : study.best]);
    const summary = byId("summary");
    summary.replaceChildren();
    for (const [label, value] of cards) {
      const card = element("div", null, "card");
      card.dataset.card = label;
      card.append(element("span", label, "label"), element("span", value, "value"));
      summary.append(card);
    }
  }

  function renderTable(table) {
    const head = element("tr");
    table.columns.forEach((name, i) => {
      head.append(element("th", name, table.text_columns.includes(i) ? "text" : null));
    });
    const thead = byId("trials").tHead;
    thead.replaceChildren(head);
    const tbody = byId("trials").tBodies[0];
    const rows = [];
    const numbers = new Set();
    for (const row of table.rows) {
      const tr = element("tr", null, "state-" + row.state);
      tr.dataset.number = String(row.number);
      numbers.add(row.number);
      if (seen !== null && !seen.has(row.number)) tr.classList.add("fresh");
      row.cells.forEach((cell, i) => {
        let className = table.text_columns.includes(i) ? "text" : null;
        if (i === table.error_column && cell !== "") className = "text error";
        const td = element("td", cell, className);
        if (i === table.error_column && row.error) td.title = row.error;
        tr.append(td);
      });
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    seen = numbers;
  }

  function renderFigures(figures) {
    const holder = byId("figures");
    const existing = new Map();
    for (const div of holder.children) existing.set(div.dataset.figure, div);
    const keep = new Set();
    for (const item of figures) {
      let div = existing.get(item.name);
      if (div === undefined) {
        div = element("div", null, "figure");
        div.dataset.figure = item.name;
        holder.append(div);
      } else {
        holder.append(div); // keep the server's order
      }
      keep.add(item.name);
      if (item.error !== undefined) {
        div.replaceChildren(element("p", "The figures cannot be drawn: " + item.error, "error"));
        continue;
      }
      const figure = item.figure;
      Plotly.react(div, figure.data || [], figure.layout || {}, {
        responsive: true,
        displaylogo: false,
      });
    }
    for (const [name, div] of existing) {
      if (!keep.has(name)) {
        Plotly.purge(div);
        div.remove();
      }
    }
  }

  function apply(body) {
    if (body.study) renderSummary(body.study);
    if (body.table) renderTable(body.table);
    if (body.figures) renderFigures(body.figures);
    version = body.version;
    figuresVersion = body.figures_version;
    setStatus("Updated " + new Date().toLocaleTimeString() + " \u00b7 live", false);
  }

  async function poll() {
    const query =
      "since=" + encodeURIComponent(version) + "&figures=" + encodeURIComponent(figuresVersion);
    try {
      const response = await fetch("api/study?" + query, { cache: "no-store" });
      const body = await response.json();
      if (response.ok) {
        apply(body);
      } else {
        setStatus("Cannot read the study: " + body.error, true);
      }
    } catch (error) {
      setStatus("The dashboard server does not answer (stopped?); retrying.", true);
    } finally {
      window.setTimeout(poll, POLL_MS);
    }
  }

  poll();
})();
