// The live feed: one /ws connection at a time, its messages checked for order (a gap re-reads
// the snapshot), the reconnect backoff with the banner's countdown, and the token refusal.
// The connection's fields (ws, open, everConnected, attempt, reconnectAt, seq) are its own:
// the page's other modules read them through `isOpen()` and `everConnected()`.
import * as L from "./logic.js";
import { askToken, token } from "./transport.js";

const $ = (id) => document.getElementById(id);

/**
 * `hooks`: attach(ws) (a new socket: subscribe its views), message(msg) (in order), gap() (seq
 * skipped), accepted(reconnected) (the service spoke: live), closed() (the socket ended),
 * toast(text, kind), placeToasts().
 */
export function createLive(hooks) {
  const conn = {
    ws: null, wsOpen: false, everConnected: false, attempt: 0, reconnectAt: 0,
    seq: new L.SeqTracker(),
  };

  function connect() {
    const ws = new WebSocket(L.wsUrl(window.location, token()));
    conn.ws = ws;
    conn.seq.reset();
    // Open only once the service speaks: it accepts a refused token before closing with 1008,
    // so `onopen` alone would announce a connection that is about to be refused.
    ws.onopen = () => hooks.attach(ws);
    ws.onmessage = (ev) => {
      if (!conn.wsOpen) accepted();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      const verdict = conn.seq.check(msg.seq);
      if (verdict === "old") return;
      if (verdict === "gap") hooks.gap();
      hooks.message(msg);
    };
    ws.onclose = (ev) => {
      if (conn.ws !== ws) return;
      conn.wsOpen = false;
      setConn("closed");
      hooks.closed();
      if (ev.code === 1008) {
        const why = token()
          ? `The service refused this token (${ev.reason || "401"}). Enter the API_TOKEN it runs with.`
          : "The live feed needs the API token.";
        askToken(why, Boolean(token())).then(scheduleReconnect);
        return;
      }
      if (conn.everConnected && conn.attempt === 0) hooks.toast("Live connection lost, reconnecting", "error");
      scheduleReconnect();
    };
  }

  /** The first message of a connection: live (again). */
  function accepted() {
    const reconnected = conn.everConnected;
    conn.wsOpen = true;
    conn.everConnected = true;
    conn.attempt = 0;
    setConn("open");
    hooks.accepted(reconnected);
  }

  function scheduleReconnect() {
    const delay = L.backoffMs(conn.attempt++);
    conn.reconnectAt = Date.now() + delay;
    tickCountdown();
    setTimeout(connect, delay);
  }

  /** The banner counts down to the next attempt (every 100 ms while it shows). */
  let countdown = null;
  function tickCountdown() {
    clearTimeout(countdown);
    if (conn.wsOpen) return;
    $("banner-text").textContent = L.countdownText(conn.reconnectAt, Date.now());
    countdown = setTimeout(tickCountdown, 100);
  }

  function setConn(s) {
    const el = $("conn");
    el.dataset.state = s;
    el.textContent = s === "open" ? "live" : s === "closed" ? "offline" : "connecting";
    $("banner").hidden = s !== "closed";
    hooks.placeToasts();
  }

  return {
    connect,
    isOpen: () => conn.wsOpen,
    everConnected: () => conn.everConnected,
    /** For the browser tests: drop the socket as a network fault would, after `attempts`
     * failed attempts (the next reconnect waits as the backoff says). */
    drop(attempts = 0) { conn.attempt = attempts; conn.ws?.close(); },
  };
}
