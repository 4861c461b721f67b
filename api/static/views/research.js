// The research card: a backtest or an optimisation of the stored candles, started here and run
// by the service (POST /research/backtests, /research/optimizations), watched while it runs,
// its report opened, and an optimisation's best setting applied to a variant (PATCH /variants).
// Every figure is the server's report, shown as sent.
import { labelCells } from "./dom.js";
import { fieldErrors } from "./variantedit.js";

const POLL_MS = 1000;
const ACTIVE = new Set(["exporting", "running"]);

/** The values offered for a parameter: around its current value (the person edits them). */
export function suggestion(value, isStop = false) {
  const v = Number(value);
  if (!Number.isFinite(v)) return String(value ?? "");
  if (isStop) {
    const pct = Math.round(v * 100);
    return [Math.max(1, pct - 5), pct, pct + 5].filter((p, i, a) => p < 100 && a.indexOf(p) === i)
      .map((p) => String(p / 100)).join(",");
  }
  if (Number.isInteger(v)) {
    return [...new Set([Math.max(1, v - 2), v, v + 2])].join(",");
  }
  return String(v);
}

/** The request's `params` from the form's fields: NAME=TEXT for each one filled in. */
export function paramsOf(values, names) {
  return names.map((n) => [n, String(values[n] ?? "").trim()]).filter(([, t]) => t !== "")
    .map(([n, t]) => `${n}=${t.replace(/\s+/g, "")}`);
}

/** The PATCH /variants body that applies an optimisation's best setting. */
export function applyBody(best) {
  const parameters = {};
  for (const [name, value] of Object.entries(best?.params ?? {})) {
    if (name !== "stop_loss") parameters[name] = value;
  }
  const body = {};
  if (best?.params?.stop_loss !== undefined) body.stop_loss = String(best.params.stop_loss);
  if (Object.keys(parameters).length) body.parameters = parameters;
  return body;
}

/** "0.15" -> "15" (a fraction as a percentage, without float noise). */
export const percentText = (fraction) => (Number(fraction) * 100).toFixed(6).replace(/\.?0+$/, "");

/** A setting as people read it: "ema_period=5 sma_period=15 stop 12.5 %". */
export const settingText = (params) => Object.entries(params ?? {})
  .map(([k, v]) => (k === "stop_loss" ? `stop ${percentText(v)} %` : `${k}=${v}`)).join(" ");

/** One line of what a finished job found, from its summary. */
export function resultText(job) {
  const s = job.summary;
  if (job.state === "failed" || job.state === "lost") return job.error ?? job.state;
  if (!s) return job.state === "stopped" ? "stopped before a result" : "";
  if (job.kind === "optimize") {
    if (!s.best) return `${s.trials} trials, none scored`;
    const m = s.best.metrics ?? {};
    return `best #${s.best.number} of ${s.trials}: ${settingText(s.best.params)}`
      + ` · return ${m.return_pct} % · drawdown ${m.max_drawdown_pct} % · ${m.trades} trades`
      + (s.interrupted ? " (stopped early)" : "");
  }
  const metrics = s.metrics ?? {};
  return Object.entries(metrics).filter(([name]) => name !== "all")
    .map(([name, m]) => `${name} ${m.return_pct} % (${m.trades} trades)`).join(" · ");
}

/** "12 / 40 trials · best #8 return -0.21%" or the state. */
export function progressText(job) {
  if (job.state === "exporting") return "reading the stored candles…";
  const p = job.progress;
  if (!p) return job.kind === "backtest" ? `replaying ${job.candles ?? "?"} candles…` : "starting the workers…";
  return `${p.search === "trials" ? "" : `${p.search}: `}${p.done} / ${p.total} trials${p.best ? ` · ${p.best}` : ""}`;
}

/**
 * The card. `ctx`: api(path, opts) (throws an Error with .status and .detail), esc(text),
 * toast(text, kind), symbols() (the symbols followed), variants() (GET /variants's list, as
 * the page holds it), onApplied() (a variant changed).
 */
export function createResearch(ctx) {
  const { api, esc, toast } = ctx;
  const root = document.getElementById("research");
  const view = { tab: "backtest", jobs: [], polling: null, variant: null };
  root.innerHTML = `
    <div class="card-head"><h2>Research</h2>
      <div class="tabs" role="tablist" id="research-tabs">
        <button type="button" role="tab" data-tab="backtest" aria-selected="true">Backtest</button>
        <button type="button" role="tab" data-tab="optimize" aria-selected="false">Optimise</button>
      </div></div>
    <p class="muted research-note">On the candles this service has stored, with the variants as they run now.
      The run uses one core beside live trading.</p>
    <form id="research-backtest" data-pane="backtest" class="research-form" novalidate>
      <label>Symbol<select name="symbol" data-symbols></select></label>
      <button type="submit">Run backtest</button>
      <p class="field-error" data-for=""></p>
    </form>
    <form id="research-optimize" data-pane="optimize" class="research-form" novalidate hidden>
      <label>Variant<select name="variant" id="research-variant"></select></label>
      <label>Symbol<select name="symbol" data-symbols></select></label>
      <div class="research-params" id="research-params"></div>
      <label>Search<select name="sampler" id="research-sampler">
        <option value="grid">every combination</option><option value="tpe">TPE</option>
        <option value="random">random</option></select></label>
      <label data-trials hidden>Trials<input name="trials" inputmode="numeric" value="30" autocomplete="off">
        <span class="field-error" data-for="trials"></span></label>
      <label>Best by<select name="objective">
        <option value="return">return</option><option value="sharpe">Sharpe</option>
        <option value="sortino">Sortino</option><option value="calmar">Calmar</option>
        <option value="profit_factor">profit factor</option></select></label>
      <button type="submit">Start optimisation</button>
      <p class="field-error" data-for=""></p>
    </form>
    <div id="research-live" class="research-live" hidden>
      <progress id="research-progress"></progress>
      <span id="research-status"></span>
      <button type="button" class="ghost" id="research-stop">Stop</button>
    </div>
    <div class="table-wrap"><table id="research-jobs"><thead><tr>
      <th>#</th><th>Run</th><th>Symbol</th><th>State</th><th>Result</th><th data-label="">Report</th>
    </tr></thead><tbody></tbody></table></div>
    <p class="empty" id="research-empty">Nothing run yet.</p>`;
  root.hidden = false;
  const $ = (id) => document.getElementById(id);

  function fillSymbols() {
    for (const select of root.querySelectorAll("[data-symbols]")) {
      const keep = select.value;
      const symbols = ctx.symbols();
      select.innerHTML = symbols.map((s) => `<option>${esc(s)}</option>`).join("");
      if (symbols.includes(keep)) select.value = keep;
    }
  }

  function fillVariants() {
    const variants = ctx.variants();
    const select = $("research-variant");
    const keep = select.value || variants[0]?.name;
    select.innerHTML = variants.map((v) => `<option>${esc(v.name)}</option>`).join("");
    if (keep) select.value = keep;
    renderParams();
  }

  function renderParams() {
    const variant = ctx.variants().find((v) => v.name === $("research-variant").value);
    const key = `${variant?.name}:${variant?.spec}:${variant?.stop_loss}`;
    if (!variant || view.variant === key) return;
    view.variant = key;
    const fields = [...Object.entries(variant.parameters ?? {}).map(([n, v]) => [n, suggestion(v)]),
      ["stop_loss", suggestion(variant.stop_loss, true)]];
    $("research-params").innerHTML = `<p class="muted">${esc(variant.strategy)} @ ${esc(variant.interval)}:
      values to try, as 3,5,8 or 10:40:10 (from:to:step); an empty field keeps the variant's value.</p>
      ${fields.map(([name, text]) => `<label>${esc(name)}<input name="${esc(name)}" value="${esc(text)}"
        autocomplete="off" spellcheck="false"><span class="field-error" data-for="${esc(name)}"></span></label>`).join("")}`;
  }

  function showErrors(form, errors) {
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
    for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
    for (const { field, text } of errors) {
      const slot = form.querySelector(`.field-error[data-for="${field ?? ""}"]`)
        ?? form.querySelector('.field-error[data-for=""]');
      slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
      form.querySelector(`input[name="${field}"]`)?.setAttribute("aria-invalid", "true");
    }
  }

  async function start(form) {
    const values = Object.fromEntries(new FormData(form));
    const button = form.querySelector("button[type=submit]");
    const isOptimize = form.id === "research-optimize";
    const names = [...form.querySelectorAll("#research-params input")].map((i) => i.name);
    const body = isOptimize
      ? { symbol: values.symbol, variant: values.variant, params: paramsOf(values, names),
        sampler: values.sampler, objective: values.objective,
        ...(values.sampler === "grid" ? {} : { trials: Number(values.trials) }) }
      : { symbol: values.symbol };
    showErrors(form, []);
    button.disabled = true;
    try {
      const job = await api(isOptimize ? "/research/optimizations" : "/research/backtests",
        { method: "POST", body });
      toast(`Research: ${job.kind === "optimize" ? "optimisation" : "backtest"} ${job.id} started`, "info");
      await refresh();
    } catch (err) {
      const fields = [...names, "trials", "sampler", "objective", "symbol", "variant"];
      showErrors(form, err.status === 422 ? fieldErrors(err.detail ?? err.message, fields)
        : [{ field: null, text: err.message }]);
    } finally {
      button.disabled = false;
    }
  }

  function renderJobs() {
    const rows = view.jobs.map((job) => {
      const best = job.kind === "optimize" && job.state === "done" && job.summary?.best;
      const target = job.request?.variant;
      return `<tr data-job="${job.id}" data-state="${esc(job.state)}"><td>${job.id}</td>
        <td>${job.kind === "optimize" ? `optimise ${esc(target ?? "")}` : "backtest"}</td>
        <td>${esc(job.symbol)}</td><td>${esc(job.state)}</td>
        <td class="research-result">${esc(ACTIVE.has(job.state) ? progressText(job) : resultText(job))}</td>
        <td class="research-acts">${job.report_url
          ? `<a href="${esc(job.report_url)}" target="_blank" rel="noopener" data-act="report">Report</a>` : ""}
          ${best && target ? `<button type="button" class="ghost" data-act="apply" data-job="${job.id}">Apply to ${esc(target)}</button>` : ""}</td></tr>`;
    });
    $("research-jobs").tBodies[0].innerHTML = rows.join("");
    labelCells($("research-jobs"));
    $("research-empty").hidden = rows.length > 0;
    const live = view.jobs.find((j) => ACTIVE.has(j.state));
    $("research-live").hidden = !live;
    root.dataset.running = live ? String(live.id) : "";
    if (live) {
      const p = live.progress;
      const bar = $("research-progress");
      if (p && p.total) { bar.max = p.total; bar.value = p.done; } else bar.removeAttribute("value");
      $("research-status").textContent = `#${live.id} ${live.kind}: ${progressText(live)}`;
    }
  }

  async function refresh() {
    const before = new Map(view.jobs.map((j) => [j.id, j.state]));
    view.jobs = await api("/research/jobs");
    for (const job of view.jobs) {
      const was = before.get(job.id);
      if (was && ACTIVE.has(was) && !ACTIVE.has(job.state)) {
        toast(`Research ${job.id}: ${job.state}${job.state === "done" ? "" : ` (${resultText(job)})`}`,
          job.state === "done" ? "info" : "error");
      }
    }
    renderJobs();
    const active = view.jobs.some((j) => ACTIVE.has(j.state));
    clearTimeout(view.polling);
    view.polling = active ? setTimeout(() => refresh().catch(() => {}), POLL_MS) : null;
  }

  async function apply(jobId) {
    const job = view.jobs.find((j) => j.id === jobId);
    const best = job?.summary?.best;
    const name = job?.request?.variant;
    if (!best || !name) return;
    if (!window.confirm(`Set variant ${name} to ${settingText(best.params)}?\n\nOpen positions keep their entry; the change is journaled.`)) return;
    try {
      await api(`/variants/${encodeURIComponent(name)}`, { method: "PATCH", body: applyBody(best) });
      toast(`Variant ${name}: ${settingText(best.params)} applied`, "info");
      view.variant = null;
      ctx.onApplied?.();
    } catch (err) {
      toast(`Apply to ${name}: ${err.message}`, "error");
    }
  }

  root.addEventListener("click", (e) => {
    const tab = e.target.closest("[data-tab]");
    if (tab) {
      view.tab = tab.dataset.tab;
      for (const b of root.querySelectorAll("#research-tabs [role='tab']")) {
        b.setAttribute("aria-selected", String(b.dataset.tab === view.tab));
      }
      for (const pane of root.querySelectorAll("[data-pane]")) pane.hidden = pane.dataset.pane !== view.tab;
      return;
    }
    if (e.target.closest("#research-stop")) {
      const live = view.jobs.find((j) => ACTIVE.has(j.state));
      if (live) {
        api(`/research/jobs/${live.id}/stop`, { method: "POST" })
          .then(() => refresh()).catch((err) => toast(`Stop: ${err.message}`, "error"));
      }
      return;
    }
    const applyButton = e.target.closest("[data-act='apply']");
    if (applyButton) apply(Number(applyButton.dataset.job));
  });
  root.addEventListener("submit", (e) => { e.preventDefault(); start(e.target); });
  root.addEventListener("change", (e) => {
    if (e.target.id === "research-variant") { view.variant = null; renderParams(); }
    if (e.target.id === "research-sampler") {
      root.querySelector("[data-trials]").hidden = e.target.value === "grid";
    }
  });

  fillSymbols();
  fillVariants();
  return {
    /** The symbols or variants changed. */
    changed() { fillSymbols(); fillVariants(); },
    load: () => refresh().catch((e) => toast(`Research: ${e.message}`, "error")),
  };
}
