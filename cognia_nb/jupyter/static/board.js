// cognia_nb task board: the page side of cognia_nb/jupyter/_board.py (an anywidget ES module).
// Safety rule: user strings (names, tags, messages, logs, errors, tracebacks) only ever reach
// the DOM through textContent, text nodes or setAttribute. No innerHTML anywhere in this file.

const SVG = "http://www.w3.org/2000/svg";
const STATES = { active: "active", failing: "failing", paused: "paused",
  completed: "completed", missing: "handler missing" };
const FINAL_BAD = new Set(["failed", "timed_out", "interrupted"]);
const CONFIRM_MS = 5000;
const ICONS = {
  run: "M4 2.5v11l9-5.5z",
  pause: "M4 2.5h3v11H4zM9 2.5h3v11H9z",
  resume: "M3 2.5v11l7-5.5zM11 2.5h2.5v11H11z",
  delete: "M5.5 1.5h5l.5 1.5H14v1.5H2V3h3zM3.5 5.5h9l-.8 9H4.3z",
  cancel: "M4 3l4 4 4-4 1 1-4 4 4 4-1 1-4-4-4 4-1-1 4-4-4-4z",
};

function h(tag, props = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function setText(el, text, title) {
  if (el.textContent !== text) el.textContent = text;
  const tip = title === undefined ? text : title;
  if (el.getAttribute("title") !== tip) el.setAttribute("title", tip);
}

function seconds(value) {
  if (value === null || value === undefined) return "-";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const m = Math.floor(value / 60), s = Math.round(value % 60);
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function relative(ts, now) {
  if (ts === null || ts === undefined) return "";
  const delta = ts - now, size = Math.abs(delta);
  if (size < 1) return "now";
  let amount;
  if (size < 60) amount = `${Math.round(size)} s`;
  else if (size < 3600) amount = `${Math.round(size / 60)} min`;
  else if (size < 86400) amount = `${Math.round(size / 3600)} h`;
  else amount = `${Math.round(size / 86400)} d`;
  return delta > 0 ? `in ${amount}` : `${amount} ago`;
}

function button(label, opts = {}) {
  const b = h("button", { type: "button", class: `cn-btn ${opts.cls || ""}`,
    "aria-label": opts.aria || label, title: opts.title || opts.aria || label,
    onclick: opts.onclick }, opts.icon ? icon(opts.icon) : null,
  opts.icon && !opts.text ? null : h("span", { class: "cn-label" }, label));
  return b;
}

async function copy(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_err) {
    const area = h("textarea", { class: "cn-offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const old = btn.textContent;
  btn.textContent = "Copied";
  setTimeout(() => { btn.textContent = old; }, 1200);
}

// -- column layout ------------------------------------------------------------------------------
// Columns get their content's width; when the board is narrower than that, the flexible
// columns shrink in order (plugin, schedule, next run, name last) down to a floor, and their
// text is ellipsised (full text on hover). Below 560 px (or when one line would have to drop
// the next run) a row becomes two lines.

const COLUMNS = [
  { key: "sel", label: "", fixed: 28 },
  { key: "name", label: "Task", sort: "name" },
  { key: "plugin", label: "Plugin", sort: "plugin", secondary: true },
  { key: "schedule", label: "Schedule", sort: "schedule", floor: (w) => Math.max(110, 0.16 * w) },
  { key: "state", label: "Status", sort: "state" },
  { key: "next", label: "Next run", sort: "next", floor: () => 150 },
  { key: "run", label: "Last / now", sort: "last", natural: 280, floor: () => 170 },
  { key: "success", label: "Success", sort: "success", secondary: true },
  { key: "skip", label: "Skip/miss", sort: "skip", secondary: true },
  { key: "act", label: "", fixed: 96 },
];
const DROP_ORDER = ["plugin", "skip", "success", "schedule", "next"]; // when even floors do not fit
// secondary columns show whole or not at all; "name:tags" gives up the tags' room (ellipsised) first
const SHRINK_ORDER = ["schedule", "name:tags", "next", "run", "name"];
const NARROW = 560, SECONDARY = 900;

let measureCtx = null;
function textWidth(text, font) {
  if (!measureCtx) measureCtx = document.createElement("canvas").getContext("2d");
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

// Column widths for a board `width` px wide: every column gets its content's width when
// that fits; otherwise the flexible ones shrink (plugin first, the task name last, never
// below the name's own width while that is under 45% of the board), and when even the floors
// do not fit, columns are dropped (plugin, skip/miss, success, schedule, next run).
export function planColumns(width, rows, fonts) {
  let cols = COLUMNS.filter((c) => !(c.secondary && width < SECONDARY));
  const natural = {}, floor = {};
  let mineName = 0, bareName = 0;
  for (const c of cols) {
    if (c.fixed) { natural[c.key] = floor[c.key] = c.fixed; continue; }
    if (c.natural) { natural[c.key] = c.natural; floor[c.key] = c.floor(width); continue; }
    let w = textWidth(c.label, fonts.head) + 20;
    for (const r of rows) {
      let text = textWidth(cellText(c.key, r), c.key === "name" ? fonts.bold : fonts.body);
      if (c.key === "name") text += 14; // the "this notebook" marker
      if (c.key === "name") bareName = Math.max(bareName, Math.ceil(text + 18));
      if (c.key === "name" && r.mine) mineName = Math.max(mineName, Math.ceil(text + 18));
      if (c.key === "name" && r.tags.length) text += 6 + 0.92 * textWidth(tagText(r), fonts.body);
      w = Math.max(w, text + 18);
    }
    natural[c.key] = Math.ceil(c.key === "state" ? w + 16 : w);
    floor[c.key] = c.floor ? Math.min(natural[c.key], Math.round(c.floor(width))) : natural[c.key];
  }
  // the notebook's own task names stay whole (up to 45% of the board); other names may shrink
  if ("name" in natural) floor.name = Math.min(natural.name, Math.max(120, Math.min(mineName, Math.round(width * 0.45))));
  const sum = (m) => cols.reduce((a, c) => a + m[c.key], 0);
  // the plugin column goes first when the others would have to shrink (its id is in the detail)
  if (sum(natural) > width) cols = cols.filter((c) => c.key !== "plugin");
  for (const key of DROP_ORDER) {
    if (sum(floor) <= width) break;
    cols = cols.filter((c) => c.key !== key);
  }
  const widths = { ...natural };
  let deficit = sum(natural) - width;
  for (const step of SHRINK_ORDER) {
    const key = step.split(":")[0];
    if (deficit <= 0 || !cols.some((c) => c.key === key)) continue;
    const low = step === "name:tags" ? Math.max(floor.name, bareName) : floor[key];
    const give = Math.max(0, Math.min(deficit, widths[key] - low));
    widths[key] -= give;
    deficit -= give;
  }
  if (deficit < 0 && "run" in widths) { // spare room: first for the last result (errors)
    const give = Math.min(-deficit, 420 - widths.run);
    widths.run += give;
    deficit += give;
  }
  if (deficit < 0) { // then the schedule (or the name)
    const key = cols.some((c) => c.key === "schedule") ? "schedule" : "name";
    widths[key] += -deficit;
  }
  return cols.map((c) => ({ key: c.key, width: widths[c.key] }));
}

function tagText(r) { return r.tags.map((t) => `#${t}`).join(" "); }

// a paused task's next-run cell: why it is paused, short ("paused after 2 failed executions in a row")
function pausedWhy(r) {
  if (!r.paused || !r.pauseReason) return "";
  const n = r.pauseReason.match(/after (\d+) failed executions in a row/);
  return n ? `paused after ${n[1]} failures` : r.pauseReason.split(/ \(|;/)[0].slice(0, 40);
}

// `text` cut with an ellipsis to fit `max` px in `font` (SVG text does not ellipsise itself)
function fitText(text, max, font) {
  if (textWidth(text, font) <= max) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(`${text.slice(0, mid)}…`, font) <= max) lo = mid; else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

function cellText(key, r) {
  switch (key) {
    case "name": return r.name;
    case "plugin": return r.plugin;
    case "schedule": return r.schedule;
    case "state": return STATES[r.state] || r.state;
    case "next": return r.state === "missing" ? "re-run its cell to re-arm"
      : r.next ? `in 59 min · ${r.nextText.slice(11, 16)}${r.nextText.slice(19)}` : pausedWhy(r) || "-";
    case "success": return r.success === null ? "-" : `${r.success}%`;
    case "skip": return `${r.skip} / ${r.miss}`;
    default: return "";
  }
}

// -- the widget ---------------------------------------------------------------------------------

function render({ model, el }) {
  const rows = new Map(); // task id -> row data
  const trs = new Map(); // task id -> { tr, cells }
  const selected = new Set();
  const ui = { q: "", status: "", tag: "", sort: "default", dir: 1, view: "tasks",
    confirm: null, bulkConfirm: 0, skew: 0, width: 0, plan: "", narrow: false };
  let runsByTask = new Map();

  const now = () => Date.now() / 1000 + ui.skew;
  const send = (msg) => model.send(msg);
  const act = (action, ids) => send({ action, ids });

  // header, tabs, toolbar
  const headState = h("span", { class: "cn-pill" });
  const headCounts = h("span", { class: "cn-counts" });
  const headStore = h("span", { class: "cn-store" });
  const headHealth = h("span", { class: "cn-health", role: "alert", hidden: true });
  const tabTasks = h("button", { type: "button", class: "cn-tab", role: "tab", "aria-selected": "true",
    onclick: () => show("tasks") }, "Tasks");
  const tabHistory = h("button", { type: "button", class: "cn-tab", role: "tab", "aria-selected": "false",
    onclick: () => show("history") }, "History");
  const search = h("input", { type: "search", class: "cn-search", placeholder: "Search name or tag",
    "aria-label": "Search tasks by name or tag", oninput: () => { ui.q = search.value.trim().toLowerCase(); refreshTable(); } });
  const statusSel = h("select", { class: "cn-select", "aria-label": "Filter by status",
    onchange: () => { ui.status = statusSel.value; refreshTable(); } },
    h("option", { value: "" }, "Any status"),
    Object.entries(STATES).map(([v, label]) => h("option", { value: v }, label)));
  const tagSel = h("select", { class: "cn-select", "aria-label": "Filter by tag",
    onchange: () => { ui.tag = tagSel.value; refreshTable(); } }, h("option", { value: "" }, "Any tag"));
  const sortSel = h("select", { class: "cn-select cn-sortsel", "aria-label": "Sort by",
    onchange: () => { ui.sort = sortSel.value; ui.dir = 1; refreshTable(); } },
    h("option", { value: "default" }, "Default order"),
    COLUMNS.filter((c) => c.sort).map((c) => h("option", { value: c.sort }, `Sort: ${c.label}`)));
  const selCount = h("span", { class: "cn-selcount" });
  const bulk = {
    run: button("Run now", { icon: "run", text: true, onclick: () => bulkAct("run") }),
    pause: button("Pause", { icon: "pause", text: true, onclick: () => bulkAct("pause") }),
    resume: button("Resume", { icon: "resume", text: true, onclick: () => bulkAct("resume") }),
    delete: button("Delete", { icon: "delete", text: true, cls: "cn-danger-outline", onclick: () => bulkDelete() }),
  };
  for (const [k, b] of Object.entries(bulk)) b.setAttribute("aria-label", `${b.textContent} selected`);
  const notice = h("div", { class: "cn-notice", role: "status", "aria-live": "polite" });

  const table = h("table", { class: "cn-table cn-tasks" });
  const colgroup = h("colgroup");
  const thead = h("thead");
  const tbody = h("tbody");
  const empty = h("div", { class: "cn-empty" }, "No tasks match.");
  table.append(colgroup, thead, tbody);
  const scroller = h("div", { class: "cn-scroll" }, table, empty);
  const detail = h("section", { class: "cn-detail", "aria-label": "Task detail", hidden: true });
  const taskView = h("div", { class: "cn-view" },
    h("div", { class: "cn-toolbar" }, search, statusSel, tagSel, sortSel, notice,
      selCount, bulk.run, bulk.pause, bulk.resume, bulk.delete),
    scroller, detail);
  const timeline = h("div", { class: "cn-timeline" });
  const histBody = h("tbody");
  const histView = h("div", { class: "cn-view", hidden: true },
    h("div", { class: "cn-tl-head" }, h("h3", { class: "cn-h" }, "Timeline"),
      h("span", { class: "cn-tl-legend", "aria-hidden": "true" },
        ["succeeded", "failed", "running", "cancelled"].map((k) => h("span", { class: `cn-xs cn-x-${k}` }, k)))),
    timeline,
    h("h3", { class: "cn-h" }, "Latest executions"),
    h("div", { class: "cn-scroll cn-hist-scroll" }, h("table", { class: "cn-table cn-hist" },
      h("thead", {}, h("tr", {}, ["Task", "Status", "Started", "Ended", "Duration", "Late", "Attempt", "Kind", "Error"]
        .map((t, i) => h("th", { class: i === 7 ? "cn-sec" : "" }, t)))), histBody)));
  const root = h("div", { class: "cn-board" },
    h("header", { class: "cn-head" }, h("strong", { class: "cn-title" }, "cognia_nb"), headState, headCounts, headHealth, headStore),
    h("nav", { class: "cn-tabs", role: "tablist" }, tabTasks, tabHistory),
    taskView, histView);
  el.replaceChildren(root);

  // the table head: sortable columns (buttons, so the keyboard reaches them)
  const headRow = h("tr");
  const allBox = h("input", { type: "checkbox", "aria-label": "Select all shown tasks",
    onchange: () => { for (const id of visibleIds()) allBox.checked ? selected.add(id) : selected.delete(id); refreshTable(); } });
  for (const c of COLUMNS) {
    let content = null;
    if (c.key === "sel") content = allBox;
    else if (c.sort) content = h("button", { type: "button", class: "cn-sort", onclick: () => sortBy(c.sort) }, c.label);
    else if (c.key === "act") content = h("span", { class: "cn-visually-hidden" }, "Actions");
    headRow.append(h("th", { scope: "col", "data-col": c.key, class: `cn-col-${c.key}` }, content));
  }
  thead.append(headRow);

  function sortBy(key) {
    if (ui.sort === key) ui.dir = -ui.dir; else { ui.sort = key; ui.dir = 1; }
    sortSel.value = ui.sort;
    refreshTable();
  }

  function show(view) {
    ui.view = view;
    taskView.hidden = view !== "tasks";
    histView.hidden = view !== "history";
    tabTasks.setAttribute("aria-selected", String(view === "tasks"));
    tabHistory.setAttribute("aria-selected", String(view === "history"));
    if (view === "history") { renderHistory(); renderTimeline(); }
  }

  function say(text, level = "info") {
    setText(notice, text);
    notice.className = `cn-notice cn-notice-${level}`;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { notice.textContent = ""; notice.className = "cn-notice"; }, level === "error" ? 12000 : 4000);
  }

  // -- rows -------------------------------------------------------------------------------------

  function makeRow(id) {
    const tr = h("tr", { class: "cn-row", tabindex: "0", "data-id": id });
    const c = {};
    for (const col of COLUMNS) {
      const td = h("td", { class: `cn-col-${col.key}`, "data-col": col.key });
      c[col.key] = td;
      tr.append(td);
    }
    c.box = h("input", { type: "checkbox", onchange: () => { c.box.checked ? selected.add(id) : selected.delete(id); updateBulk(); } });
    c.sel.append(c.box);
    c.nameText = h("span", { class: "cn-name" });
    c.tags = h("span", { class: "cn-tags" });
    c.service = h("span", { class: "cn-service", hidden: true });
    c.name.append(h("div", { class: "cn-cell" }, c.nameText, c.tags, c.service));
    for (const k of ["plugin", "schedule", "next", "success", "skip"]) {
      c[`${k}Text`] = h("div", { class: "cn-cell" });
      c[k].append(c[`${k}Text`]);
    }
    c.nextRel = h("span", { class: "cn-rel" });
    c.nextAbs = h("span", { class: "cn-abs" });
    c.nextText.append(c.nextRel, c.nextAbs);
    c.badge = h("span", { class: "cn-badge" });
    c.state.append(c.badge);
    // the run cell: a bar (live run) or the last result; same height either way
    c.fill = h("div", { class: "cn-fill" });
    c.runText = h("span", { class: "cn-runtext" });
    c.cancel = button("Cancel", { icon: "cancel", cls: "cn-icon cn-cancel", aria: "Cancel run",
      onclick: (e) => {
        e.stopPropagation();
        const bf = rows.get(id)?.backfill;
        if (bf && bf.status === "running") { send({ action: "cancel_backfill", id: bf.id }); return; }
        const run = runsByTask.get(id);
        if (run) act("cancel", [run.id]);
      } });
    c.bar = h("div", { class: "cn-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, c.fill, c.runText);
    c.run.append(h("div", { class: "cn-runcell" }, c.bar, c.cancel));
    c.btnRun = button("Run now", { icon: "run", cls: "cn-icon", onclick: (e) => { e.stopPropagation(); act("run", [id]); } });
    c.btnToggle = button("Pause", { icon: "pause", cls: "cn-icon", onclick: (e) => {
      e.stopPropagation(); act(rows.get(id).paused ? "resume" : "pause", [id]); } });
    c.btnDelete = button("Delete", { icon: "delete", cls: "cn-icon cn-del", onclick: (e) => {
      e.stopPropagation(); ui.confirm = { id, until: Date.now() + CONFIRM_MS }; fillActions(id); c.btnConfirm.focus(); } });
    c.btnConfirm = button("Delete", { cls: "cn-danger cn-confirm", aria: "Confirm delete", title: "Delete this task (its history stays)",
      onclick: (e) => { e.stopPropagation(); ui.confirm = null; act("delete", [id]); } });
    c.btnKeep = button("Keep", { cls: "cn-keep", aria: "Keep task", onclick: (e) => { e.stopPropagation(); ui.confirm = null; fillActions(id); } });
    c.actNormal = h("div", { class: "cn-actions" }, c.btnRun, c.btnToggle, c.btnDelete);
    c.actConfirm = h("div", { class: "cn-actions", hidden: true }, c.btnConfirm, c.btnKeep);
    c.act.append(c.actNormal, c.actConfirm);
    tr.addEventListener("click", (e) => { if (!e.target.closest("button, input")) openDetail(id); });
    tr.addEventListener("keydown", (e) => {
      if (e.target !== tr) return;
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openDetail(id); }
      else if (e.key === "ArrowDown" && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
      else if (e.key === "ArrowUp" && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
    });
    const entry = { tr, c };
    trs.set(id, entry);
    return entry;
  }

  function fillRow(id) {
    const r = rows.get(id);
    const { tr, c } = trs.get(id) || makeRow(id);
    tr.classList.toggle("cn-mine", r.mine);
    tr.classList.toggle("cn-selected", selected.has(id));
    tr.setAttribute("aria-label", `${r.name}, ${STATES[r.state] || r.state}${r.paused && r.pauseReason ? `: ${r.pauseReason}` : ""}`);
    c.box.checked = selected.has(id);
    c.box.setAttribute("aria-label", `Select ${r.name}`);
    setText(c.nameText, r.name, r.tags.length ? `${r.name}\ntags: ${r.tags.join(", ")}` : r.name);
    setText(c.tags, r.tags.length ? tagText(r) : "");
    c.service.hidden = !r.service;
    setText(c.service, r.service || "", r.service ? `another process runs this task: ${r.service}` : "");
    setText(c.pluginText, r.plugin, r.pluginFull);
    setText(c.scheduleText, r.schedule);
    const label = STATES[r.state] || r.state;
    setText(c.badge, label, r.state === "missing"
      ? "Handler missing: re-run the cell that defines this task to re-arm it."
      : r.paused && r.pauseReason ? `paused: ${r.pauseReason}` : label);
    c.badge.className = `cn-badge cn-s-${r.state}`;
    setText(c.successText, r.success === null ? "-" : `${r.success}%`);
    setText(c.skipText, `${r.skip} / ${r.miss}${r.excluded ? ` · ${r.excluded} cal` : ""}`,
      `skipped ${r.skip} (overlap) / missed ${r.miss} (misfire)${r.excluded ? ` / ${r.excluded} skipped by its calendar` : ""}`);
    c.btnRun.disabled = r.state === "missing";
    c.btnRun.title = r.state === "missing" ? "No handler in this kernel: re-run the cell that defines the task" : "Run now";
    c.btnToggle.replaceChildren(icon(r.paused ? "resume" : "pause"));
    c.btnToggle.setAttribute("aria-label", r.paused ? "Resume" : "Pause");
    c.btnToggle.title = r.paused ? "Resume" : "Pause";
    c.btnToggle.disabled = r.completed;
    fillActions(id);
    tick(id);
  }

  function fillActions(id) {
    const { c } = trs.get(id);
    const confirming = ui.confirm && ui.confirm.id === id && Date.now() < ui.confirm.until;
    c.actNormal.hidden = !!confirming;
    c.actConfirm.hidden = !confirming;
  }

  // the parts of a row that move with the clock: next run, the run bar
  function tick(id) {
    const r = rows.get(id), entry = trs.get(id);
    if (!r || !entry) return;
    const { c } = entry, t = now();
    let rel = "-", abs = "", tip = r.paused ? "paused: no next run" : "no next run";
    if (pausedWhy(r) && !r.next && r.state !== "missing") {
      rel = pausedWhy(r);
      tip = `${r.pauseReason}\n(Resume to re-arm it.)`;
    } else if (r.state === "missing") {
      rel = "re-run its cell to re-arm";
      tip = "Handler missing (the kernel restarted?): re-run the cell that defines this task to re-arm it.";
    } else if (r.next) {
      rel = relative(r.next, t);
      abs = ` · ${r.nextText.slice(11, 16)}${r.nextText.slice(19)}`;
      tip = `${r.nextText} (${rel})`;
    }
    c.next.classList.toggle("cn-has-next", !!r.next && r.state !== "missing");
    c.next.classList.toggle("cn-no-next", rel === "-");
    c.next.classList.toggle("cn-why", !r.next && !!pausedWhy(r)); // the badge says paused; narrow rows drop the why
    setText(c.nextRel, rel, "");
    setText(c.nextAbs, abs, "");
    if (c.nextText.title !== tip) c.nextText.title = tip;
    const run = runsByTask.get(id);
    const bf = r.backfill && r.backfill.status === "running" ? r.backfill : null;
    entry.tr.classList.toggle("cn-busy", !!run || !!bf); // narrow rows give a live run the next run's room
    c.cancel.hidden = !run && !bf;
    const cancelName = bf ? "Cancel backfill" : "Cancel run";
    if (c.cancel.getAttribute("aria-label") !== cancelName) {
      c.cancel.setAttribute("aria-label", cancelName);
      c.cancel.title = bf ? `Cancel the backfill batch ${bf.id}` : cancelName;
    }
    if (bf) {
      const pct = bf.total ? (100 * bf.done) / bf.total : 0;
      const parts = [`backfill ${bf.done}/${bf.total}`];
      if (run && run.pct !== null) parts.push(`run ${Math.round(run.pct)}%`);
      if (bf.failed) parts.push(`${bf.failed} failed`);
      c.bar.className = "cn-bar cn-live cn-backfill";
      c.fill.style.width = `${pct}%`;
      c.bar.setAttribute("aria-valuenow", String(Math.round(pct)));
      setText(c.runText, parts.join(" · "), `backfill ${bf.id}: ${bf.done} of ${bf.total} due times done` +
        ` (${bf.first} → ${bf.last})${bf.failed ? `, ${bf.failed} failed` : ""}`);
      return;
    }
    if (run) {
      const pct = run.pct === null ? null : Math.max(0, Math.min(100, run.pct));
      const elapsed = run.started ? seconds(Math.max(0, t - run.started)) : "";
      const parts = [];
      if (run.status === "pending") parts.push("queued");
      else parts.push(pct === null ? "running" : `${Math.round(pct)}%`);
      if (run.retryAt && run.retryAt > t) parts.push(`retry ${run.attempt + 1}/${run.attempts} in ${Math.ceil(run.retryAt - t)} s`);
      else if (run.attempts > 1) parts.push(`attempt ${run.attempt}/${run.attempts}`);
      if (elapsed) parts.push(elapsed);
      if (run.msg) parts.push(run.msg);
      c.bar.className = `cn-bar cn-live${pct === null ? " cn-indet" : ""}${run.retryAt && run.retryAt > t ? " cn-wait" : ""}`;
      c.fill.style.width = `${pct === null ? 100 : pct}%`;
      c.bar.setAttribute("aria-valuenow", String(pct === null ? 0 : Math.round(pct)));
      setText(c.runText, parts.join(" · "));
      return;
    }
    const last = r.last;
    c.bar.removeAttribute("aria-valuenow");
    if (!last) {
      c.bar.className = "cn-bar cn-none";
      c.fill.style.width = "0%";
      setText(c.runText, "never ran");
      return;
    }
    const bad = FINAL_BAD.has(last.s);
    c.bar.className = `cn-bar cn-done cn-r-${last.s}`;
    c.fill.style.width = bad || last.s === "succeeded" ? "100%" : "0%";
    const when = last.t ? relative(last.t, t) : "";
    const text = bad ? `✗ ${last.e || last.s.replace("_", " ")}`
      : `${last.s} · ${seconds(last.d)}${when ? ` · ${when}` : ""}`;
    setText(c.runText, text, bad ? `${last.s.replace("_", " ")} ${when}: ${last.e}` : text);
  }

  function visibleIds() {
    return [...tbody.children].map((tr) => tr.dataset.id);
  }

  function matches(r) {
    if (ui.status && r.state !== ui.status) return false;
    if (ui.tag && !r.tags.includes(ui.tag)) return false;
    if (ui.q && !r.name.toLowerCase().includes(ui.q) && !r.tags.some((t) => t.toLowerCase().includes(ui.q))) return false;
    return true;
  }

  const ORDER = { failing: 0, missing: 1, active: 2, paused: 3, completed: 4 };
  function sortKey(r) {
    switch (ui.sort) {
      case "name": return r.name.toLowerCase();
      case "plugin": return r.pluginFull;
      case "schedule": return r.schedule;
      case "state": return ORDER[r.state] ?? 9;
      case "next": return r.next ?? Infinity;
      case "last": return r.last ? r.last.t ?? 0 : -Infinity;
      case "success": return r.success ?? -1;
      case "skip": return r.skip + r.miss;
      default: return `${r.mine ? 0 : 1}${r.pluginFull}\u0000${r.name.toLowerCase()}`;
    }
  }

  function refreshTable() {
    const shown = [...rows.values()].filter(matches);
    const keyed = shown.map((r) => [sortKey(r), r]);
    keyed.sort((a, b) => (a[0] < b[0] ? -ui.dir : a[0] > b[0] ? ui.dir : a[1].name.localeCompare(b[1].name)));
    const want = keyed.map(([, r]) => trs.get(r.id).tr);
    const have = [...tbody.children];
    if (want.length !== have.length || want.some((tr, i) => tr !== have[i])) tbody.replaceChildren(...want);
    for (const [, r] of keyed) {
      const { tr, c } = trs.get(r.id);
      tr.classList.toggle("cn-selected", selected.has(r.id));
      c.box.checked = selected.has(r.id);
    }
    for (const th of headRow.children) {
      const col = COLUMNS.find((c) => c.key === th.dataset.col);
      if (col.sort) th.setAttribute("aria-sort", ui.sort === col.sort ? (ui.dir > 0 ? "ascending" : "descending") : "none");
    }
    empty.hidden = shown.length > 0;
    empty.textContent = rows.size ? "No tasks match the search and filters." : "No tasks yet.";
    allBox.checked = shown.length > 0 && shown.every((r) => selected.has(r.id));
    tabTasks.textContent = `Tasks (${rows.size})`;
    updateTags();
    updateBulk();
    layout();
  }

  function updateTags() {
    const tags = [...new Set([...rows.values()].flatMap((r) => r.tags))].sort();
    const have = [...tagSel.options].slice(1).map((o) => o.value);
    if (have.join("\u0000") === tags.join("\u0000")) return;
    tagSel.replaceChildren(h("option", { value: "" }, "Any tag"), ...tags.map((t) => h("option", { value: t }, t)));
    tagSel.value = tags.includes(ui.tag) ? ui.tag : "";
    ui.tag = tagSel.value;
  }

  function updateBulk() {
    for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
    const n = selected.size;
    setText(selCount, n ? `${n} selected` : "");
    for (const b of Object.values(bulk)) b.disabled = n === 0;
    if (ui.bulkConfirm && Date.now() > ui.bulkConfirm) resetBulkDelete();
  }

  function bulkAct(action) { act(action, [...selected]); }
  function resetBulkDelete() {
    ui.bulkConfirm = 0;
    bulk.delete.className = "cn-btn cn-danger-outline";
    bulk.delete.replaceChildren(icon("delete"), h("span", { class: "cn-label" }, "Delete"));
    bulk.delete.setAttribute("aria-label", "Delete selected");
  }
  function bulkDelete() {
    if (ui.bulkConfirm && Date.now() < ui.bulkConfirm) {
      act("delete", [...selected]);
      selected.clear();
      resetBulkDelete();
      return;
    }
    ui.bulkConfirm = Date.now() + CONFIRM_MS;
    bulk.delete.className = "cn-btn cn-danger";
    bulk.delete.replaceChildren(h("span", {}, `Delete ${selected.size}?`));
    bulk.delete.setAttribute("aria-label", "Confirm delete selected");
  }

  // -- layout: column widths from the content and the board's own width --------------------------

  function layout() {
    const width = root.clientWidth;
    if (!width) return;
    const cs = getComputedStyle(root);
    const base = `${cs.fontSize} ${cs.fontFamily}`;
    const fonts = { body: base, bold: `600 ${base}`, head: `600 ${base}` };
    const plan = width < NARROW ? null : planColumns(width - 2, [...rows.values()].filter(matches), fonts);
    // two-line rows below 560 px, or when one line would have to drop the next run
    ui.narrow = !plan || !plan.some((p) => p.key === "next");
    root.classList.toggle("cn-narrow", ui.narrow);
    if (ui.narrow) {
      colgroup.replaceChildren();
      ui.plan = "";
      setHidden(["plugin", "success", "skip", "schedule"]);
      return;
    }
    const sig = plan.map((p) => `${p.key}:${p.width}`).join(",");
    if (sig === ui.plan) return;
    ui.plan = sig;
    colgroup.replaceChildren(...plan.map((p) => h("col", { "data-col": p.key, style: `width:${p.width}px` })));
    const shown = new Set(plan.map((p) => p.key));
    setHidden(COLUMNS.map((c) => c.key).filter((k) => !shown.has(k)));
  }

  function setHidden(keys) {
    for (const c of COLUMNS) root.classList.toggle(`cn-hide-${c.key}`, keys.includes(c.key));
  }

  // -- detail view --------------------------------------------------------------------------------

  function openDetail(id) {
    if (model.get("detail").id === id && !detail.hidden) { closeDetail(); return; }
    detail.hidden = false;
    detail.replaceChildren(h("div", { class: "cn-muted" }, "Loading..."));
    send({ action: "detail", id });
  }
  function closeDetail() {
    detail.hidden = true;
    send({ action: "detail", id: "" });
  }

  function dl(pairs) { // key/value rows (divs: notebook front ends restyle <dl> their own way)
    return h("div", { class: "cn-dl" }, pairs.map(([k, v]) =>
      h("div", { class: "cn-kv" }, h("span", { class: "cn-k" }, k), h("span", { class: "cn-v", title: v }, v))));
  }

  function renderDetail() {
    const d = model.get("detail");
    if (!d || !d.id) { detail.hidden = true; return; }
    detail.hidden = false;
    const sel = document.getSelection();
    if (sel && !sel.isCollapsed && detail.contains(sel.anchorNode)) { // someone is selecting text
      clearTimeout(renderDetail.later);
      renderDetail.later = setTimeout(renderDetail, 1000);
      return;
    }
    const sameExecution = (model.get("execution") || {}).id === detail.dataset.execution;
    const scrolls = sameExecution ? [...detail.querySelectorAll("pre")].map((p) => [p.className, p.scrollTop]) : [];
    const execScroll = detail.querySelector(".cn-exec-scroll")?.scrollTop || 0; // kept while runs come in
    const execChoice = model.get("execution");
    const chosenId = execChoice && execChoice.id;
    if (d.deleted) {
      detail.replaceChildren(h("div", { class: "cn-detail-head" }, h("h3", { class: "cn-h" }, d.name || "task"),
        button("Close", { onclick: closeDetail })), h("p", {}, "This task was deleted; its history stays in the store."));
      return;
    }
    const head = h("div", { class: "cn-detail-head" },
      h("h3", { class: "cn-h cn-detail-name", title: d.name }, d.name),
      h("span", { class: `cn-badge cn-s-${rows.get(d.id)?.state || d.status}` }, STATES[rows.get(d.id)?.state] || d.status),
      h("span", { class: "cn-spacer" }),
      button("Close", { onclick: closeDetail, aria: "Close detail" }));
    const parts = [head];
    if (d.missing) parts.push(h("p", { class: "cn-missing", role: "note" }, d.missing));
    if (d.description) parts.push(h("p", { class: "cn-muted" }, d.description));
    const nextList = d.next.length
      ? h("ol", { class: "cn-next" }, d.next.map((n) => h("li", { class: n.excluded ? "cn-excluded" : "" }, n.text,
        n.change ? h("span", { class: "cn-change", title: n.change }, ` ⚑ ${n.change}`) : null,
        n.note ? h("div", { class: "cn-note" }, n.note) : null,
        n.excluded ? h("div", { class: "cn-note" }, `skipped by its calendar: ${n.excluded}`) : null)))
      : h("p", { class: "cn-muted cn-no-next" }, d.noNext || (d.status === "active" ? "no more fire times" : `none (${d.status})`));
    const left = h("div", { class: "cn-detail-col" },
      dl([["schedule", d.words], ["as written", d.written], ["plugin", d.plugin],
        ["tags", d.tags.length ? d.tags.join(", ") : "-"], ...d.settings]),
      h("h4", { class: "cn-h4" }, "Next fire times"), nextList, renderBackfills(d.backfills || []));
    const execRows = d.executions.map((x) => {
      const tr = h("tr", { class: `cn-exec${x.id === chosenId ? " cn-chosen" : ""}`, tabindex: "0",
        onclick: () => send({ action: "execution", id: x.id }),
        onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); send({ action: "execution", id: x.id }); } } },
      h("td", { title: x.startText }, h("span", { class: "cn-ex-date" }, x.startText.slice(5, 11)), x.startText.slice(11, 19)),
      h("td", { class: "cn-ex-end" }, x.endText || "-"),
      h("td", {}, seconds(x.dur)), lateCell(x), h("td", { class: "cn-ex-att" }, String(x.attempt)),
      h("td", {}, h("span", { class: `cn-xs cn-x-${x.status}` }, x.status.replace("_", " "))),
      h("td", { class: "cn-muted cn-ex-ran" }, x.ranIn || "-"));
      return tr;
    });
    const right = h("div", { class: "cn-detail-col" }, h("h4", { class: "cn-h4" }, "Recent executions"),
      d.executions.length ? h("div", { class: "cn-scroll cn-exec-scroll" }, h("table", { class: "cn-table cn-exec-table" },
        h("thead", {}, h("tr", {}, [["Started"], ["Ended", "cn-ex-end"], ["Duration"], ["Late"], ["Att.", "cn-ex-att"],
          ["Status"], ["Ran in", "cn-ex-ran"]].map(([t, cls]) => h("th", { class: cls }, t)))),
        h("tbody", {}, execRows))) : h("p", { class: "cn-muted" }, "No executions yet."));
    parts.push(h("div", { class: "cn-detail-grid" }, left, right));
    parts.push(renderExecution(execChoice));
    detail.replaceChildren(...parts);
    detail.dataset.execution = (execChoice && execChoice.id) || "";
    const execBox = detail.querySelector(".cn-exec-scroll");
    if (execBox && execScroll && detail.dataset.task === d.id) execBox.scrollTop = execScroll;
    detail.dataset.task = d.id;
    for (const pre of detail.querySelectorAll("pre")) { // keep where the reader was
      const kept = scrolls.find(([cls]) => cls === pre.className);
      if (kept) pre.scrollTop = kept[1];
      else if (pre.classList.contains("cn-traceback")) pre.scrollTop = pre.scrollHeight; // the error line first
    }
    if (!chosenId && d.executions.length) send({ action: "execution", id: d.executions[0].id });
  }

  // the task's backfill batches (newest first): progress, range, failures, a cancel while running
  function renderBackfills(batches) {
    if (!batches.length) return null;
    return h("div", { class: "cn-backfills" }, h("h4", { class: "cn-h4" }, "Backfills"),
      h("ul", { class: "cn-bf-list" }, batches.map((b) => {
        const pct = b.total ? Math.round((100 * b.done) / b.total) : 100;
        const bits = [`${b.done}/${b.total}`, b.status];
        if (b.failed) bits.push(`${b.failed} failed`);
        if (b.left) bits.push(`${b.left} did not run`);
        return h("li", { class: `cn-bf cn-bf-${b.status}`, "data-batch": b.id },
          h("div", { class: "cn-bf-line" },
            h("div", { class: "cn-bf-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": String(b.total),
              "aria-valuenow": String(b.done), "aria-label": `Backfill ${b.id}` },
            h("div", { class: "cn-fill", style: `width:${pct}%` }), h("span", { class: "cn-bf-text" }, bits.join(" · "))),
            b.status === "running" ? button("Cancel", { cls: "cn-small", aria: "Cancel backfill", title: "Cancel this backfill batch",
              onclick: () => send({ action: "cancel_backfill", id: b.id }) }) : null),
          h("div", { class: "cn-note" }, b.first === b.last ? `${b.id} · ${b.first}` : `${b.id} · ${b.first} → ${b.last}`));
      })));
  }

  // lateness of a run; a backfill run is never late: it shows the due time it stands for
  function lateCell(x) {
    if (x.kind === "backfill") {
      return h("td", { class: "cn-muted", title: `backfill of the due time ${x.schedText}` },
        h("span", { class: "cn-ex-for" }, "for "), x.schedText.slice(5, 16));
    }
    return h("td", {}, x.late === null ? "-" : seconds(x.late));
  }

  function renderExecution(x) {
    if (!x || !x.status) return h("div", { class: "cn-execution" });
    const logText = x.logs.map((l) => `${l[1]} ${l[2].padEnd(7)} ${l[3]}`).join("\n");
    const copyLog = button("Copy log", { cls: "cn-small", onclick: () => copy(logText, copyLog) });
    const box = h("div", { class: "cn-execution" },
      h("div", { class: "cn-exec-head" },
        h("strong", {}, `Execution ${x.id}`), h("span", { class: `cn-xs cn-x-${x.status}` }, x.status.replace("_", " ")),
        h("span", { class: "cn-muted" }, `${x.kind}${x.kind === "backfill" ? ` of ${x.schedText}` : ""} · started ${x.startText || "-"}` +
          ` · ${seconds(x.dur)} · attempt ${x.attempt}`)));
    if (x.error) box.append(h("p", { class: "cn-error" }, x.error));
    box.append(h("div", { class: "cn-pre-head" }, h("h4", { class: "cn-h4" }, "Log"), copyLog),
      h("pre", { class: "cn-pre cn-log", tabindex: "0" }, logText || "(no log lines)"));
    if (x.traceback) {
      const copyTb = button("Copy traceback", { cls: "cn-small", onclick: () => copy(x.traceback, copyTb) });
      const pre = h("pre", { class: `cn-pre cn-traceback${ui.wrap ? " cn-wrap" : ""}`, tabindex: "0",
        "aria-label": "Traceback" }, x.traceback);
      const wrap = button("Wrap lines", { cls: "cn-small", onclick: () => {
        ui.wrap = !ui.wrap;
        pre.classList.toggle("cn-wrap", ui.wrap);
        wrap.setAttribute("aria-pressed", String(ui.wrap));
      } });
      wrap.setAttribute("aria-pressed", String(!!ui.wrap));
      box.append(h("div", { class: "cn-pre-head" }, h("h4", { class: "cn-h4" }, "Traceback"),
        h("span", { class: "cn-spacer" }), wrap, copyTb), pre);
    }
    return box;
  }

  // -- history view and timeline -------------------------------------------------------------------

  function renderHistory() {
    if (ui.view !== "history") return;
    const t = now();
    histBody.replaceChildren(...model.get("history").map((x) => {
      const bad = FINAL_BAD.has(x.status);
      return h("tr", { class: "cn-hrow", tabindex: "0", onclick: () => jumpTo(x),
        onkeydown: (e) => { if (e.key === "Enter") jumpTo(x); } },
      h("td", {}, h("div", { class: "cn-cell cn-hname", title: x.name }, x.name)),
      h("td", {}, h("span", { class: `cn-xs cn-x-${x.status}` }, x.status.replace("_", " "))),
      h("td", { title: x.startText }, x.startText.slice(5)),
      h("td", {}, x.endText || (x.start ? "running" : "-")),
      h("td", {}, x.dur === null && x.start ? seconds(t - x.start) : seconds(x.dur)),
      lateCell(x),
      h("td", {}, String(x.attempt)), h("td", { class: "cn-sec" }, x.kind),
      h("td", {}, h("div", { class: `cn-cell ${bad ? "cn-error-text" : ""}`, title: x.error }, x.error || "")));
    }));
  }

  function jumpTo(x) {
    if (!rows.has(x.task)) { say(`${x.name} no longer exists; its history stays in the store`); return; }
    show("tasks");
    detail.hidden = false;
    send({ action: "detail", id: x.task });
    send({ action: "execution", id: x.id });
  }

  function svg(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function renderTimeline() {
    if (ui.view !== "history") return;
    const hist = model.get("history").filter((x) => x.start);
    const width = Math.max(280, (timeline.clientWidth || root.clientWidth || 600) - 24); // its padding
    if (!hist.length) { timeline.replaceChildren(h("p", { class: "cn-muted" }, "No executions yet.")); return; }
    const t = now();
    const lanes = [];
    for (const x of hist) if (!lanes.includes(x.task) && lanes.length < 12) lanes.push(x.task);
    const names = new Map(hist.map((x) => [x.task, x.name]));
    // the window ends now and covers the shown runs (at least 10 s, at most the last hour)
    const first = Math.max(Math.min(...hist.map((x) => x.start)), t - 3600);
    const span = Math.max(10, t - first) * 1.02;
    const t0 = t - span;
    const labelW = Math.min(180, Math.round(width * 0.28)), laneH = 22, top = 6;
    const plotW = width - labelW - 12, height = top + lanes.length * laneH + 24;
    const x = (ts) => labelW + ((ts - t0) / span) * plotW;
    const labelFont = `12px ${getComputedStyle(root).fontFamily}`;
    const s = svg("svg", { class: "cn-tl", width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Timeline of the last ${lanes.length} task(s)` });
    lanes.forEach((task, i) => {
      const y = top + i * laneH;
      s.append(svg("rect", { x: 0, y, width, height: laneH, class: i % 2 ? "cn-lane-odd" : "cn-lane" }));
      const name = names.get(task);
      const label = svg("text", { x: 6, y: y + 15, class: "cn-tl-label" }, fitText(name, labelW - 14, labelFont));
      label.append(svg("title", {}, name));
      s.append(label);
    });
    s.append(svg("rect", { x: labelW - 6, y: 0, width: 6, height: top + lanes.length * laneH, class: "cn-tl-fade" }));
    for (let k = 0; k <= 4; k++) {
      const ts = t0 + span * (k / 4);
      const gx = x(ts);
      s.append(svg("line", { x1: gx, x2: gx, y1: top, y2: top + lanes.length * laneH, class: "cn-grid" }));
      const fmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit",
        hour12: false, timeZone: model.get("header").zone || undefined });
      s.append(svg("text", { x: gx, y: height - 8, class: "cn-tl-tick", "text-anchor": k === 0 ? "start" : k === 4 ? "end" : "middle" }, fmt.format(new Date(ts * 1000))));
    }
    for (const e of hist) {
      const lane = lanes.indexOf(e.task);
      if (lane < 0 || (e.end ?? t) < t0) continue;
      const x1 = x(Math.max(e.start, t0)), x2 = x(e.end ?? t);
      const bar = svg("rect", { x: x1, y: top + lane * laneH + 4, width: Math.max(3, x2 - x1), height: laneH - 8, rx: 2,
        class: `cn-tl-bar cn-x-${e.status}`, tabindex: "0" });
      bar.append(svg("title", {}, `${e.name} · ${e.status} · ${e.startText}` +
        ` · ${e.dur === null ? "running" : seconds(e.dur)}${e.error ? `\n${e.error}` : ""}`));
      bar.addEventListener("click", () => jumpTo(e));
      s.append(bar);
    }
    timeline.replaceChildren(s);
  }

  // -- model events ---------------------------------------------------------------------------------

  function onCustom(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "notice") { say(msg.text, msg.level); return; }
    if (msg.kind !== "tasks") return;
    if (msg.full) {
      const keep = new Set(msg.rows.map((r) => r.id));
      for (const id of [...rows.keys()]) if (!keep.has(id)) { rows.delete(id); trs.delete(id); }
    }
    for (const id of msg.removed) { rows.delete(id); trs.delete(id); selected.delete(id); }
    for (const r of msg.rows) { rows.set(r.id, r); fillRow(r.id); }
    ui.plan = msg.rows.length > 0 ? "" : ui.plan;
    refreshTable();
  }

  function onHeader() {
    const hd = model.get("header");
    if (!hd || !hd.state) return;
    ui.skew = hd.now - Date.now() / 1000;
    setText(headState, `scheduler ${hd.state}`);
    headState.className = `cn-pill cn-pill-${hd.state}`;
    const bits = [`${hd.tasks} task${hd.tasks === 1 ? "" : "s"}`, `${hd.running} running`];
    if (hd.queued) bits.push(`${hd.queued} queued`);
    bits.push(`${hd.failedDay} failed in 24 h`);
    setText(headCounts, bits.join(" · "));
    headCounts.classList.toggle("cn-has-failed", hd.failedDay > 0);
    setText(headStore, hd.store, `store: ${hd.store}`);
    headHealth.hidden = !hd.health;
    setText(headHealth, hd.health ? hd.health.text : "", hd.health
      ? `${hd.health.text}; the rows are kept in memory and retried${hd.health.since
        ? ` (failing since ${new Date(hd.health.since * 1000).toISOString()})` : ""}` : "");
  }

  function onRuns() {
    const old = runsByTask;
    runsByTask = new Map();
    for (const r of model.get("runs")) {
      const have = runsByTask.get(r.task);
      if (!have || (have.status === "pending" && r.status === "running")) runsByTask.set(r.task, r);
    }
    for (const id of new Set([...old.keys(), ...runsByTask.keys()])) tick(id);
  }

  const onHistory = () => { renderHistory(); renderTimeline(); };
  const listeners = [["msg:custom", onCustom], ["change:header", onHeader], ["change:runs", onRuns],
    ["change:history", onHistory], ["change:detail", renderDetail], ["change:execution", renderDetail]];
  for (const [name, fn] of listeners) model.on(name, fn);
  const timer = setInterval(() => {
    for (const id of runsByTask.keys()) tick(id);
    if (ui.confirm && Date.now() > ui.confirm.until) { const id = ui.confirm.id; ui.confirm = null; if (trs.has(id)) fillActions(id); }
    if (ui.bulkConfirm && Date.now() > ui.bulkConfirm) resetBulkDelete();
  }, 250);
  const slow = setInterval(() => {
    for (const id of rows.keys()) tick(id);
    if (ui.view === "history" && runsByTask.size) { renderTimeline(); }
  }, 1000);
  const resize = new ResizeObserver(() => { if (root.clientWidth !== ui.width) { ui.width = root.clientWidth; ui.plan = ""; layout(); renderTimeline(); } });
  resize.observe(root);
  if (document.fonts) document.fonts.ready.then(() => { ui.plan = ""; layout(); });
  onHeader();
  onRuns();
  renderDetail();
  send({ action: "hello" });
  return () => {
    clearInterval(timer);
    clearInterval(slow);
    resize.disconnect();
    for (const [name, fn] of listeners) model.off(name, fn);
  };
}

export default { render };
