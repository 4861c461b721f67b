// The service's newest WARNING and ERROR lines: the /ws snapshot's `logs`, then each `log`
// event. /ws sends them only to a page that gave the API token (the snapshot's `logs` is null
// when the service runs without one, and the card says so).
import * as L from "../logic.js";

export const SHOWN = 100;

/** Lines newest first, at most `most`, without a line seen twice (a snapshot after events). */
export function mergeLines(old, added, most = SHOWN) {
  const seen = new Set();
  const out = [];
  for (const line of [...added].reverse().concat(old)) {
    const key = `${line.time_ms}|${line.logger}|${line.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line);
    if (out.length >= most) break;
  }
  return out;
}

/** The card. `ctx`: esc(text), state (tz). */
export function createLogView(ctx) {
  const { esc, state } = ctx;
  const root = document.getElementById("logs");
  let lines = [];
  root.innerHTML = `<div class="card-head"><h2>Service log</h2>
      <span class="muted">WARNING and ERROR, newest first</span></div>
    <ol class="log-lines" id="log-lines"></ol>
    <p class="empty" id="logs-empty">No warning so far.</p>`;
  root.hidden = false;

  function render() {
    document.getElementById("log-lines").innerHTML = lines.map((l) => `<li class="log-${esc(
      String(l.level).toLowerCase())}"><time>${esc(L.formatTime(l.time_ms, state.tz))}</time>
      <b>${esc(l.level)}</b> <span class="log-logger">${esc(l.logger)}</span>
      <span class="log-message">${esc(l.message)}</span></li>`).join("");
    root.dataset.lines = String(lines.length);
  }

  return {
    /** The snapshot's `logs`: the newest lines, or null when the service has no token. */
    snapshot(logs) {
      const empty = document.getElementById("logs-empty");
      if (logs === null || logs === undefined) {
        lines = [];
        empty.textContent = "The service runs without API_TOKEN: its log lines are not sent to pages.";
        render();
        empty.hidden = false;
        return;
      }
      lines = mergeLines(lines, logs);
      empty.textContent = "No warning so far.";
      empty.hidden = lines.length > 0;
      render();
    },
    /** A /ws `log` event. */
    line(data) {
      lines = mergeLines(lines, [data]);
      document.getElementById("logs-empty").hidden = true;
      render();
    },
    render,
  };
}
