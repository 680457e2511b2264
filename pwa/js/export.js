// Export of the local history as CSV or JSON files the user downloads.

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: quoted when needed; a leading formula character is neutralised. */
function csvField(value) {
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** @param {import("./history.js").Entry[]} entries */
export function toCsv(entries) {
  const rows = [["created_at", "expression", "result", "value", "angle"]];
  for (const e of entries) rows.push([e.created_at, e.expression, e.result, e.value ?? e.result, e.angle ?? ""]);
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** @param {import("./history.js").Entry[]} entries */
export function toJson(entries) {
  const items = entries.map(({ expression, result, value, engine, angle, created_at }) => ({
    expression,
    result,
    value: value ?? result,
    engine: engine ?? null,
    angle: angle ?? null,
    created_at,
  }));
  const exportedAt = new Date().toISOString();
  return JSON.stringify({ app: "calcapp", format: 1, exported_at: exportedAt, history: items }, null, 2);
}

/** A file name like calcapp-history-2026-11-28.csv */
export function exportName(extension) {
  return `calcapp-history-${new Date().toISOString().slice(0, 10)}.${extension}`;
}
