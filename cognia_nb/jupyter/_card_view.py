"""What a task card shows, as escaped HTML (with a self-ticking countdown) and as plain text.

Pure functions of a :class:`CardState` snapshot; :mod:`._card` keeps the state up to date and
pushes it through a display handle. Colours come from JupyterLab's ``--jp-*`` CSS variables
(with fallbacks), so the card follows the light and dark themes. The countdown and the
"ago" times tick in the page (a small script in the output), not by a Python update per
second; without scripts (a static render) they show the time of the last update.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from .._model.task import Execution, ExecutionStatus, LogEntry
from ..history import duration_text
from ._board_state import retry_at
from ._display import relative
from ._kernel import last_redraw

__all__ = ["MAX_LINES", "CardState", "card_html", "card_text"]

#: Output lines of the latest run shown on a card (older lines and runs are in the log).
MAX_LINES = 40
MAX_LINE_CHARS = 400
MAX_TRACEBACK_CHARS = 6000
MAX_RESULT_CHARS = 200
#: Seconds past a due time before the countdown says "overdue" instead of "due now".
OVERDUE = 30

#: badge -> (colour variable, fallback colour)
_BADGES = {
    "active": ("--jp-success-color1", "#388e3c"),
    "running": ("--jp-brand-color1", "#1976d2"),
    "paused": ("--jp-warn-color1", "#f57c00"),
    "completed": ("--jp-border-color1", "#9e9e9e"),
    "failing": ("--jp-error-color1", "#d32f2f"),
    "handler missing": ("--jp-warn-color1", "#f57c00"),
    "deleted": ("--jp-error-color1", "#d32f2f"),
}
_FINAL_COLOURS = {
    ExecutionStatus.SUCCEEDED: ("--jp-success-color1", "#388e3c"),
    ExecutionStatus.FAILED: ("--jp-error-color1", "#d32f2f"),
    ExecutionStatus.TIMED_OUT: ("--jp-error-color1", "#d32f2f"),
    ExecutionStatus.CANCELLED: ("--jp-border-color1", "#9e9e9e"),
    ExecutionStatus.INTERRUPTED: ("--jp-warn-color1", "#f57c00"),
}


@dataclass
class CardState:
    """Everything a card shows; ``latest`` is the newest execution (live or from the store)."""

    name: str
    task_id: str
    schedule: str
    badge: str
    next_ts: float | None = None
    next_at: datetime | None = None
    hint: str = ""
    note: str = ""
    latest: Execution | None = None
    runs: int = 0
    description: str = ""
    #: output of the latest run after its last newline (not in the log yet)
    pending: str = ""
    #: the zone times are shown in (the task's: a cron task's zone, else UTC)
    zone: tzinfo = UTC
    extra: dict[str, str] = field(default_factory=dict)


def _lines(state: CardState) -> tuple[list[LogEntry], int]:
    ex = state.latest
    entries = list(ex._logs or ()) if ex is not None else []
    if state.pending:
        entries.append(LogEntry(0.0, "stdout", state.pending))
    hidden = max(0, len(entries) - MAX_LINES)
    return entries[hidden:], hidden


def _line_text(entry: LogEntry) -> str:
    message = last_redraw(entry.message)
    text = message if entry.level in ("stdout", "stderr") else (
        f"[{entry.level}] {message}")  # fmt: skip
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + " …"


def _result_text(ex: Execution) -> str:
    if ex.output is None:
        return ""
    try:
        text = json.dumps(ex.output, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(ex.output)
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …"


def _traceback(ex: Execution) -> str:
    text = ex.traceback or ""  # stored starting at the handler (the engine's frames cut)
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "… (start cut; the whole traceback is on the execution)\n" + text[
            -MAX_TRACEBACK_CHARS:]  # fmt: skip
    return text


def _clock(ts: float | None, zone: tzinfo) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, zone).strftime("%H:%M:%S %Z").strip()


def _next_words(state: CardState) -> str:
    if state.badge == "deleted":
        return "never (the task is deleted)"
    if state.badge == "handler missing":
        return "not until the defining cell runs again"
    if state.badge == "paused":
        return "paused"
    if state.next_ts is None or state.next_at is None:
        return "-"
    return state.next_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


#: Badges whose next run counts down (a running task's next firing may be skipped by overlap).
_COUNTING = ("active", "failing")


def _until(ts: float, now: float) -> str:
    ahead = ts - now
    if ahead >= 1:
        return relative(ts, now)
    if ahead > 0:
        return "in 1 s"
    # A live card is updated when the run starts: long past due means the kernel is busy
    # (a blocking cell) or gone (a notebook reopened without its kernel).
    return "due now" if ahead > -OVERDUE else f"overdue {relative(ts, now).removesuffix(' ago')}"


# -- plain text ----------------------------------------------------------------------------


def _last_words(ex: Execution, now: float, zone: tzinfo) -> str:
    if not ex.finished:
        since = ex.started_ts
        if since is None:
            return f"{ex.status} (waiting to start)"
        again = retry_at(ex)
        if again is not None and again > now:
            return (f"waiting to retry: attempt {ex.attempt} failed, attempt {ex.attempt + 1} "
                    f"in {duration_text(again - now)}")  # fmt: skip
        return f"running for {duration_text(now - since)} (attempt {max(1, ex.attempt)})"
    took = duration_text(ex.duration) if ex.duration is not None else "-"
    words = f"{ex.status} in {took} at {_clock(ex.finished_ts, zone)}"
    if ex.finished_ts is not None:
        words += f" ({relative(ex.finished_ts, now)})"
    return words


def card_text(state: CardState, now: float | None = None) -> str:
    """The card as plain text (terminals, plain IPython, ``repr``)."""
    now = time.time() if now is None else now
    rows = [("task", f"{state.name}  [{state.badge}]"), ("schedule", state.schedule)]
    next_words = _next_words(state)
    if state.next_ts is not None and state.badge in _COUNTING:
        next_words += f" ({_until(state.next_ts, now)})"
    rows.append(("next run", next_words))
    ex = state.latest
    rows.append(("last run", _last_words(ex, now, state.zone) if ex is not None else "none yet"))
    if ex is not None and ex.error:
        rows.append(("why" if ex.status is ExecutionStatus.CANCELLED else "error", ex.error))
    if ex is not None and ex.finished and _result_text(ex):
        rows.append(("result", _result_text(ex)))
    rows.append(("id", state.task_id))
    text = "\n".join(f"{k:>9}: {v}" for k, v in rows)
    for extra in (state.hint, state.note):
        if extra:
            text += f"\n           {extra}"
    if ex is not None:
        shown, hidden = _lines(state)
        if shown:
            more = f" ({hidden} earlier lines in the log)" if hidden else ""
            text += f"\n   output of the latest run{more}:\n" + "\n".join(
                f"    {_line_text(e)}" for e in shown)  # fmt: skip
        if ex.traceback:
            text += "\n" + _traceback(ex).rstrip()
    return text


# -- HTML ---------------------------------------------------------------------------------

# "&" stands for ".cognia-card.cognia-card": two classes outweigh JupyterLab's rendered-HTML
# rules for tables, pre and code. "--cc-ink" is the theme's strongest text colour: mixing a
# status colour with it keeps the colour and reaches 4.5:1 contrast in light and dark themes.
_CSS = """
.cognia-card{font-family:var(--jp-ui-font-family,sans-serif);
 font-size:var(--jp-ui-font-size1,13px);color:var(--jp-content-font-color1,#212121);
 background:var(--jp-layout-color1,#fff);border:1px solid var(--jp-border-color2,#e0e0e0);
 border-left:4px solid var(--cognia-accent);border-radius:4px;padding:6px 10px;
 max-width:100%;box-sizing:border-box;overflow:hidden;
 --cc-ink:var(--jp-content-font-color0,#000);--cc-muted:var(--jp-content-font-color2,#616161)}
& .cc-head{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px}
& .cc-name{font-weight:600;font-size:var(--jp-ui-font-size2,15px);overflow-wrap:anywhere}
& .cc-badge{display:inline-block;padding:0 8px;border-radius:10px;white-space:nowrap;
 border:1px solid var(--cognia-accent);color:var(--cc-ink);
 background:color-mix(in srgb,var(--cognia-accent) 22%,transparent)}
& .cc-sched,& .cc-desc{color:var(--cc-muted);overflow-wrap:anywhere}
& .cc-rows{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:1px 12px;
 margin-top:4px;line-height:1.45}
& .cc-k{color:var(--cc-muted);text-align:right;white-space:nowrap}
& .cc-v{min-width:0;overflow-wrap:anywhere}
& .cc-v code{font-family:var(--jp-code-font-family,monospace);background:none;padding:0;
 font-size:var(--jp-code-font-size,12px);color:inherit}
& .cc-st{font-weight:600;color:color-mix(in srgb,var(--cognia-st) 70%,var(--cc-ink))}
& .cc-error{font-weight:600;overflow-wrap:anywhere;
 color:color-mix(in srgb,var(--jp-error-color1,#d32f2f) 70%,var(--cc-ink))}
& .cc-hint{margin-top:4px;color:color-mix(in srgb,var(--jp-warn-color1,#f57c00) 60%,var(--cc-ink))}
& .cc-note,& .cc-label{margin-top:4px;color:var(--cc-muted)}
& pre{margin:2px 0 0 0;padding:4px 8px;border:none;border-radius:3px;max-height:14em;
 overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere;
 font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,12px);
 background:var(--jp-layout-color2,#eee);color:var(--jp-content-font-color1,#212121)}
& pre .cc-err{color:color-mix(in srgb,var(--jp-error-color1,#d32f2f) 60%,var(--cc-ink))}
& pre.cc-tb{border-left:3px solid var(--jp-error-color1,#d32f2f);max-height:20em}
""".replace("&", ".cognia-card.cognia-card")

_SCRIPT = """<script>(function(){var r=document.getElementById(%(id)s);if(!r)return;
function f(s){s=Math.abs(s);var u=[[86400,'d'],[3600,'h'],[60,'min'],[1,'s']];
for(var i=0;i<u.length;i++){if(s>=u[i][0])return Math.round(s/u[i][0])+' '+u[i][1];}return '1 s';}
function t(){if(!r.isConnected){clearInterval(h);return;}var n=Date.now()/1000;
r.querySelectorAll('[data-cognia-at]').forEach(function(e){var d=parseFloat(
e.getAttribute('data-cognia-at'))-n,m=e.getAttribute('data-cognia-mode');
e.textContent=m==='until'?(d>0?'in '+f(d):d>-%(overdue)d?'due now':'overdue '+f(d))
:m==='for'?f(d):(-d<1?'now':f(d)+' ago');});}
var h=setInterval(t,1000);t();})();</script>"""


def _accent(pair: tuple[str, str]) -> str:
    return f"var({pair[0]},{pair[1]})"


def _tick(ts: float, mode: str, text: str) -> str:
    return f"<span data-cognia-at='{ts:.3f}' data-cognia-mode='{mode}'>{html.escape(text)}</span>"


def _last_html(ex: Execution, now: float, zone: tzinfo) -> str:
    esc = html.escape
    if not ex.finished:
        if ex.started_ts is None:
            return f"<span class='cc-st'>{esc(str(ex.status))}</span> (waiting to start)"
        again = retry_at(ex)
        if again is not None and again > now:
            return (
                f"<span class='cc-st'>waiting to retry</span>: attempt {ex.attempt} failed, "
                f"attempt {ex.attempt + 1} {_tick(again, 'until', _until(again, now))}"
            )
        elapsed = _tick(ex.started_ts, "for", duration_text(now - ex.started_ts))
        return (f"<span class='cc-st'>running</span> for {elapsed} "
                f"(attempt {max(1, ex.attempt)})")  # fmt: skip
    took = duration_text(ex.duration) if ex.duration is not None else "-"
    ago = ""
    if ex.finished_ts is not None:
        ago = f" ({_tick(ex.finished_ts, 'ago', relative(ex.finished_ts, now))})"
    return (f"<span class='cc-st'>{esc(str(ex.status))}</span> in {esc(took)} "
            f"at {esc(_clock(ex.finished_ts, zone))}{ago}")  # fmt: skip


def _output_html(state: CardState, ex: Execution) -> str:
    shown, hidden = _lines(state)
    parts = []
    if shown:
        more = f" ({hidden} earlier lines are in the execution log)" if hidden else ""
        lines = "\n".join(
            f"<span class='cc-err'>{html.escape(_line_text(e))}</span>"
            if e.level in ("stderr", "error", "ERROR", "critical")
            else html.escape(_line_text(e))
            for e in shown
        )
        parts.append(f"<div class='cc-label'>output of the latest run{more}</div>"
                     f"<pre class='cc-out'>{lines}</pre>")  # fmt: skip
    if ex.traceback:
        text = html.escape(_traceback(ex).rstrip())
        parts.append(f"<div class='cc-label'>traceback</div><pre class='cc-tb'>{text}</pre>")
    return "".join(parts)


def card_html(state: CardState, dom_id: str, now: float | None = None) -> str:
    """The card as HTML: every user string escaped; ``dom_id`` must be unique per render."""
    now = time.time() if now is None else now
    esc = html.escape
    ex = state.latest
    st_colour = _FINAL_COLOURS.get(ex.status, _BADGES["running"]) if ex is not None else (
        _BADGES["completed"])  # fmt: skip
    accent = _accent(_BADGES.get(state.badge, _BADGES["completed"]))
    next_cell = esc(_next_words(state))
    if state.next_ts is not None and state.badge in _COUNTING:
        next_cell += f" ({_tick(state.next_ts, 'until', _until(state.next_ts, now))})"
    last = _last_html(ex, now, state.zone) if ex is not None else "none yet"
    rows = [("next run", next_cell), ("last run", last)]
    if ex is not None and ex.error and ex.status is ExecutionStatus.CANCELLED:
        rows.append(("why", esc(ex.error)))  # a cancel is no error: plain text, not red
    elif ex is not None and ex.error:
        rows.append(("error", f"<span class='cc-error'>{esc(ex.error)}</span>"))
    if ex is not None and ex.finished and _result_text(ex):
        rows.append(("result", f"<code>{esc(_result_text(ex))}</code>"))
    rows.extend((k, esc(v)) for k, v in state.extra.items())
    rows.append(("id", f"<code>{esc(state.task_id)}</code>"))
    grid = "".join(f"<span class='cc-k'>{esc(k)}</span><span class='cc-v'>{v}</span>"
                   for k, v in rows)  # fmt: skip
    hint = f"<div class='cc-hint'>{esc(state.hint)}</div>" if state.hint else ""
    note = f"<div class='cc-note'>{esc(state.note)}</div>" if state.note else ""
    body = _output_html(state, ex) if ex is not None else ""
    desc = f"<span class='cc-desc'>· {esc(state.description)}</span>" if state.description else ""
    return (
        f"<style>{_CSS}</style>"
        f"<div class='cognia-card' id='{esc(dom_id)}' data-task-id='{esc(state.task_id)}' "
        f"data-badge='{esc(state.badge)}' style='--cognia-accent:{accent};"
        f"--cognia-st:{_accent(st_colour)}'>"
        f"<div class='cc-head'><span class='cc-name'>{esc(state.name)}</span>"
        f"<span class='cc-badge'>{esc(state.badge)}</span>"
        f"<span class='cc-sched'>{esc(state.schedule)}</span>{desc}</div>"
        f"<div class='cc-rows'>{grid}</div>{hint}{note}{body}</div>"
        + _SCRIPT
        % {"id": json.dumps(dom_id), "overdue": OVERDUE}
    )
