// The page's REST calls and its API token (kept in this tab's sessionStorage only). A change
// (POST, PATCH, DELETE) carries the token; a 401 asks for it once, then tries again.

export { listOf } from "./logic.js";

const TOKEN_KEY = "apiToken";
let current = sessionStorage.getItem(TOKEN_KEY) || "";
const $ = (id) => document.getElementById(id);

/** The token given in this tab ("" when none). */
export function token() { return current; }

/** A page of a paged GET: its rows and the cursor of the page before it (X-Next-Cursor). */
export async function apiPage(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok) {
    const err = new Error(detailText(data?.detail) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    throw err;
  }
  const next = resp.headers.get("X-Next-Cursor");
  return { data, next: next === null ? null : Number(next) };
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  // Every change is sent as JSON (bodiless ones too): the service refuses other content types.
  if (method !== "GET") headers["Content-Type"] = "application/json";
  if (current && method !== "GET") headers.Authorization = `Bearer ${current}`;
  const resp = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (resp.status === 401 && method !== "GET") {
    const why = current
      ? "The service refused this token. Enter the API_TOKEN it runs with."
      : "This action needs the API token.";
    if (await askToken(why, Boolean(current))) return api(path, { method, body });
  }
  if (!resp.ok) {
    const err = new Error(detailText(data?.detail) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    err.detail = data?.detail;
    throw err;
  }
  return data;
}

export function detailText(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  return JSON.stringify(detail);
}

let tokenPrompt = null;
/** Asks for the API token once (kept in sessionStorage); resolves true when one was given. */
export function askToken(why, refused = false) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = $("token-dialog");
  if (refused) { // a wrong token is forgotten, not sent again
    current = "";
    sessionStorage.removeItem(TOKEN_KEY);
  }
  tokenPrompt = new Promise((resolve) => {
    dialog.dataset.refused = refused ? "1" : "0";
    dialog.querySelector("p").textContent = `${why} It is kept in this tab only.`;
    $("token-input").value = "";
    dialog.onclose = () => {
      const value = $("token-input").value.trim();
      tokenPrompt = null;
      if (dialog.returnValue === "ok" && value) {
        current = value;
        sessionStorage.setItem(TOKEN_KEY, value);
        $("token-btn").hidden = false;
        resolve(true);
      } else resolve(false);
    };
    dialog.showModal();
  });
  return tokenPrompt;
}
