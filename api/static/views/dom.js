// Small DOM helpers the page's views share.

/** Labels each cell of `rows` with its column's heading (data-label): a phone shows tables
 * as one card per row, each value under its label. */
export function labelCells(table, rows = [...table.tBodies[0].rows]) {
  const heads = [...table.tHead.rows[0].cells].map((th) => th.dataset.label ?? th.textContent.trim());
  for (const tr of rows) [...tr.cells].forEach((td, i) => { td.dataset.label = heads[i] ?? ""; });
}
