// Toasts: short messages that never cover a control, and the fills and notices they say.
import * as L from "../logic.js";

const FILL_TOAST_MS = 4500; // a fill toast's life from its first fill; later fills join it
const FILL_QUIET_MS = 15000; // then no fill toast for this long (the trades table has them)
const DEDUPE_MS = 5000; // the same rejection from the REST reply and from /ws: one toast
const $ = (id) => document.getElementById(id);

/*
 * Toasts never cover a control: the stack goes to the first screen corner (below the sticky
 * header) where it overlaps no visible button, field or tab, re-checked on every change, scroll
 * and resize. When no corner is free, the stack hides and the newest toast is docked in the top
 * bar, which holds a slot for it. At most 3 toasts (2 on a phone); fills close together share one.
 */
const recentKeys = new Map(); // dedupe key -> time shown

export const rejectKey = (variant, symbol, side) => `reject:${variant}:${symbol}:${side}`;

/** Orders this page sent in the last ASKED_MS: their fills are always answered with a toast. */
const ASKED_MS = 15_000;
const asked = new Map(); // variant:symbol:side -> until (ms)
export function asking(variant, symbol, side) { asked.set(`${variant}:${symbol}:${side}`, Date.now() + ASKED_MS); }
function askedHere(d) {
  const key = `${d.variant}:${d.symbol}:${d.side}`;
  const until = asked.get(key);
  if (until === undefined) return false;
  asked.delete(key);
  return until >= Date.now();
}

function toastCap() { return window.innerWidth <= 640 ? 2 : 3; }

export function toast(text, kind = "info", key = null) {
  const now = Date.now();
  if (key) {
    for (const [k, t] of recentKeys) if (now - t > DEDUPE_MS) recentKeys.delete(k);
    if (recentKeys.has(key)) return null;
    recentKeys.set(key, now);
  }
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  el.title = "click to dismiss";
  el.addEventListener("click", () => { el.remove(); placeToasts(); });
  const box = $("toasts");
  box.appendChild(el);
  while (box.children.length > toastCap()) box.firstChild.remove();
  expire(el, kind === "error" || kind === "reject" ? 8000 : 4500);
  placeToasts();
  return el;
}

function expire(el, ms) {
  clearTimeout(el.expiry);
  el.expiry = setTimeout(() => { el.remove(); placeToasts(); }, ms);
}

/**
 * A notification's event (the /ws `notice`: what webhooks and Telegram get, in the same words):
 * fills share the fill toast, a rejection is said once (the form's reply may have said it).
 */
export function noticeToast(n) {
  const d = n.data ?? {};
  if (n.type === "fill") fillToast(n.text, d.reason === "stop_loss", askedHere(d));
  else if (n.type === "rejected") toast(n.text, "reject", rejectKey(d.variant, d.symbol, d.side));
  else if (n.type === "reset") toast(n.text, "error");
  else toast(n.text, "info");
}

/**
 * A fill: a new toast, or one more line in the fill toast still showing. A fill toast lives
 * FILL_TOAST_MS from its first fill whatever follows (steady trading never keeps one up), and
 * the strategy's fills in the FILL_QUIET_MS after it raise none (the trades table lists them
 * all); a person's own order (reason manual) and a stop-loss exit are always said.
 */
let fillQuietUntil = 0;
export function fillToast(line, stop = false, asked = false) {
  if (stop) { toast(line, "stop"); return; } // a stop-loss exit: its own toast, never grouped
  const last = $("toasts").querySelector(".toast.fill");
  if (last && last.fills) {
    last.fills.push(line);
    const shown = last.fills.slice(-3);
    const more = last.fills.length - shown.length;
    last.textContent = `${last.fills.length} fills: ${shown.join(" · ")}${more ? ` · +${more} more` : ""}`;
    placeToasts();
    return;
  }
  if (Date.now() < fillQuietUntil && !asked) return; // a person's own order is always answered
  const el = toast(line, "fill");
  el.fills = [line];
  expire(el, FILL_TOAST_MS);
  fillQuietUntil = Date.now() + FILL_TOAST_MS + FILL_QUIET_MS;
}

const CONTROLS = "button, select, input, textarea, a[href], [role='tab']";

/** Visible controls' rectangles in the viewport (those under the sticky header excluded). */
function controlRects(top) {
  const out = [];
  for (const el of document.querySelectorAll(CONTROLS)) {
    if (el.closest("#toasts, dialog")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.bottom <= top || r.top >= window.innerHeight || r.right <= 0 || r.left >= window.innerWidth) continue;
    out.push(r);
  }
  return out;
}

function headerBottom() {
  const bar = $("topbar").getBoundingClientRect().bottom;
  const banner = $("banner");
  return banner.hidden ? bar : Math.max(bar, banner.getBoundingClientRect().bottom);
}

let placeQueued = false;
export function placeToasts() {
  if (placeQueued) return;
  placeQueued = true;
  requestAnimationFrame(() => { placeQueued = false; placeNow(); });
}

function placeNow() {
  const box = $("toasts");
  const dock = $("toast-dock");
  const newest = box.lastElementChild;
  if (!newest) { dock.replaceChildren(); box.dataset.spot = "none"; return; }
  box.dataset.spot = "measure"; // laid out off-screen to measure its size
  const size = box.getBoundingClientRect();
  const top = headerBottom();
  const place = L.toastSpot(size, { width: window.innerWidth, height: window.innerHeight },
    top, controlRects(top));
  if (place) {
    box.dataset.spot = place.spot;
    box.style.setProperty("--toast-top", `${Math.round(top)}px`);
    dock.replaceChildren();
  } else {
    box.dataset.spot = "docked";
    const copy = newest.cloneNode(true);
    copy.title = newest.textContent;
    dock.replaceChildren(copy);
  }
}

