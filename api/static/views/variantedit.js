// Edit a variant's stop-loss and strategy parameters: PATCH /variants/{name} (journaled by the
// service), with the service's validation errors shown at the field they concern.

/**
 * Where a refusal belongs: the field it names, else the form. `detail` is the 422's detail:
 * pydantic's list ({loc: ["body", "stop_loss"], msg}) or the service's sentence naming the
 * parameter ("ema_period must be ..."). Returns [{field, text}], field null for the form.
 */
export function fieldErrors(detail, fields) {
  const items = Array.isArray(detail) ? detail : [{ msg: String(detail ?? "refused") }];
  return items.map((d) => {
    const loc = Array.isArray(d.loc) ? d.loc.map(String) : [];
    let field = [...loc].reverse().find((part) => fields.includes(part)) ?? null;
    const text = String(d.msg ?? d);
    if (!field) { // the field the sentence names first
      let first = Infinity;
      for (const name of fields) {
        const at = text.search(new RegExp(`\\b${name}\\b`));
        if (at >= 0 && at < first) { first = at; field = name; }
      }
    }
    return { field, text };
  });
}

/**
 * The PATCH body from the form's values: the stop-loss given in % as a fraction string, and
 * only the parameters that changed. Null when nothing changed.
 */
export function patchBody(variant, values) {
  const body = {};
  const pct = String(values.stop_loss_pct ?? "").trim();
  const current = Number(variant.stop_loss) * 100;
  if (pct !== "" && Number(pct) !== current) body.stop_loss = percentToFraction(pct);
  const changed = {};
  for (const [name, old] of Object.entries(variant.parameters ?? {})) {
    const text = String(values[name] ?? "").trim();
    if (text === "" || Number(text) === Number(old)) continue;
    changed[name] = /^-?\d+$/.test(text) ? Number(text) : text;
  }
  if (Object.keys(changed).length) body.parameters = changed;
  return Object.keys(body).length ? body : null;
}

/** "12.5" (percent) -> "0.125", exactly, as decimal text (no float noise); the text as is when
 * it is not a plain decimal number (the service then says why). */
export function percentToFraction(text) {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[1] === "" && !m[2])) return text;
  const digits = `${m[1] || "0"}${m[2] ?? ""}`;
  const scale = (m[2] ?? "").length + 2;
  const padded = digits.padStart(scale + 1, "0");
  const whole = padded.slice(0, padded.length - scale).replace(/^0+(?=\d)/, "");
  const frac = padded.slice(padded.length - scale).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

/**
 * The editor. `ctx`: api(path, opts) (throws an Error with .status and .detail), toast(text,
 * kind), esc(text), onSaved(variant) (the page re-reads what changed).
 */
export function createVariantEditor(ctx) {
  const { api, toast, esc } = ctx;
  const dialog = document.createElement("dialog");
  dialog.id = "variant-editor";
  document.body.appendChild(dialog);
  let current = null;

  function render(variant) {
    const params = Object.entries(variant.parameters ?? {});
    dialog.innerHTML = `<form method="dialog" class="variant-form" novalidate>
      <h2>Variant ${esc(variant.name)} <small>${esc(variant.strategy)} @ ${esc(variant.interval)}</small></h2>
      <label>Stop-loss, %<input name="stop_loss_pct" inputmode="decimal" autocomplete="off"
        value="${esc(String(Number(variant.stop_loss) * 100).replace(/\.0+$/, ""))}">
        <span class="field-error" data-for="stop_loss"></span></label>
      ${params.map(([name, value]) => `<label>${esc(name)}<input name="${esc(name)}"
        inputmode="decimal" autocomplete="off" value="${esc(value)}">
        <span class="field-error" data-for="${esc(name)}"></span></label>`).join("")}
      <p class="field-error" data-for=""></p>
      <p class="note">Open positions keep their entry; their stop follows the new stop-loss.
        The change is journaled.</p>
      <div class="dialog-actions">
        <button value="cancel" class="ghost" type="button" data-act="cancel">Cancel</button>
        <button value="save" type="submit" data-act="save">Save</button>
      </div></form>`;
  }

  function showErrors(errors) {
    for (const el of dialog.querySelectorAll(".field-error")) el.textContent = "";
    for (const input of dialog.querySelectorAll("input")) input.removeAttribute("aria-invalid");
    for (const { field, text } of errors) {
      const key = field ?? "";
      const slot = dialog.querySelector(`.field-error[data-for="${key}"]`);
      if (slot) slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
      const input = field && dialog.querySelector(
        `input[name="${field === "stop_loss" ? "stop_loss_pct" : field}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
  }

  async function save() {
    const values = Object.fromEntries(new FormData(dialog.querySelector("form")));
    const body = patchBody(current, values);
    if (!body) { dialog.close(); return; }
    const button = dialog.querySelector("[data-act='save']");
    button.disabled = true;
    try {
      const out = await api(`/variants/${encodeURIComponent(current.name)}`, { method: "PATCH", body });
      dialog.close();
      toast(`Variant ${current.name}: saved (stop ${Number(out.stop_loss) * 100} %)`, "info");
      ctx.onSaved?.(out);
    } catch (err) {
      const fields = ["stop_loss", ...Object.keys(current.parameters ?? {})];
      showErrors(err.status === 422 ? fieldErrors(err.detail ?? err.message, fields)
        : [{ field: null, text: err.message }]);
    } finally {
      button.disabled = false;
    }
  }

  dialog.addEventListener("submit", (e) => { e.preventDefault(); save(); });
  dialog.addEventListener("click", (e) => {
    if (e.target.closest("[data-act='cancel']")) dialog.close();
  });

  return {
    /** Opens the editor with the variant as GET /variants serves it. */
    async open(name) {
      const all = await api("/variants");
      current = all.find((v) => v.name === name);
      if (!current) { toast(`Variant ${name} is gone`, "error"); return; }
      render(current);
      dialog.showModal();
    },
  };
}
