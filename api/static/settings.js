// The page's settings kept in localStorage: the selected symbol, the interval, the time zone and
// the signal filters (never the token: that stays in this tab's sessionStorage).
const KEY = "dashboard.settings";
const FILTERS = [["f-symbol", "symbol"], ["f-variant", "variant"], ["f-action", "action"]];
const $ = (id) => document.getElementById(id);

/** What was kept last time ({} when nothing, or when storage is not readable). */
export function loadSettings() {
  try { return JSON.parse(localStorage.getItem(KEY) ?? "{}") ?? {}; } catch { return {}; }
}

/** Keeps the page's choices in `view` (selected, view, tz) and the filters' values. */
export function keepSettings(view) {
  const filters = Object.fromEntries(FILTERS.map(([id, name]) => [name, $(id).value]));
  const settings = { symbol: view.selected, view: view.view, tz: view.tz, filters };
  try { localStorage.setItem(KEY, JSON.stringify(settings)); } catch { /* private mode */ }
}

/** The signal filters as kept, where their options exist. */
export function restoreFilters(saved) {
  const kept = saved.filters ?? {};
  for (const [id, name] of FILTERS) {
    const el = $(id);
    const value = kept[name];
    if (value && [...el.options].some((o) => o.value === value)) el.value = value;
  }
}
