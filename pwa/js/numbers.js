// Numbers as people read them: canonical number text (what the engine, the draft, history,
// sync and export use: "." as the decimal point, no grouping) shown in the user's locale
// (1,234,567.89 in en-US, 1.234.567,89 in de-DE, 12,34,567 in en-IN, 1 234 567,89 in fr-FR),
// and back. Pure: strings in, strings out; no DOM, no storage, never a binary float (a
// number's digits are regrouped as text, so 15-digit literals and 1e+9999 stay exact).
//
// The locale's separators and grouping sizes are learnt from Intl.NumberFormat (Latin digits).
// Only number literals change: digits with an optional "." fraction and an optional exponent
// (`1.5e+20`: only the mantissa is localized, the exponent never is). Operators, parentheses,
// function names (`sin(`, `log10(`) and constants (`pi`) are left as they are.

/** @typedef {{locale?: string, grouping?: boolean}} NumberOptions  locale: a BCP 47 tag
 *   (undefined: the browser's); grouping: group the integer digits (default true) */
/** @typedef {{decimal: string, group: string, primary: number, secondary: number,
 *   minimumGrouping: number, spaceGroup: boolean}} NumberFormat */

/** The white-space characters locales group digits with (fr-FR: U+202F, pl-PL: U+00A0). */
const SPACES = " \u00a0\u202f";
const DIGIT = /[0-9]/;
/** A letter or "_": digits right after one belong to a name (`log10`), not a number. */
const NAME_CHAR = /[A-Za-z_]/;
/** The exponent of a number literal, after its mantissa: e, optional sign, digits. */
const EXPONENT = /[eE][+\-\u2212]?[0-9]+/y;

/** @type {Map<string, NumberFormat>} */
const formats = new Map();

const isDigit = (ch) => ch !== undefined && DIGIT.test(ch);

/**
 * How `locale` writes numbers: decimal and group separators, the size of the group next to
 * the decimal separator (primary) and of the others (secondary: 2 in en-IN), and how many
 * digits must stand before the first separator for grouping to apply at all (2 in es-ES and
 * pl-PL, where 1234 is not grouped but 12 345 is).
 * @param {string | undefined} locale
 * @returns {NumberFormat}
 */
export function numberFormat(locale) {
  const key = locale ?? "";
  const known = formats.get(key);
  if (known) return known;
  let format;
  try {
    format = learnFormat(locale);
  } catch {
    format = { decimal: ".", group: ",", primary: 3, secondary: 3, minimumGrouping: 1, spaceGroup: false };
  }
  formats.set(key, format);
  return format;
}

function learnFormat(locale) {
  const nf = new Intl.NumberFormat(locale, { numberingSystem: "latn", maximumFractionDigits: 1 });
  const parts = nf.formatToParts(123456789012.5);
  const decimal = parts.find((p) => p.type === "decimal")?.value ?? ".";
  const group = parts.find((p) => p.type === "group")?.value ?? "";
  const integers = parts.filter((p) => p.type === "integer").map((p) => p.value.length);
  const primary = integers.length > 1 ? integers[integers.length - 1] : 3;
  const secondary = integers.length > 2 ? integers[integers.length - 2] : primary;
  let minimumGrouping = 1;
  if (group) {
    // The smallest number of digits left of the first group that gets a separator.
    const grouped = (digits) => nf.formatToParts(10 ** (primary + digits - 1)).some((p) => p.type === "group");
    while (minimumGrouping < 4 && !grouped(minimumGrouping)) minimumGrouping += 1;
  }
  return {
    decimal,
    group: group || (decimal === "," ? "." : ","),
    primary,
    secondary,
    minimumGrouping,
    spaceGroup: SPACES.includes(group) || /^\s$/.test(group),
  };
}

/** The locale's decimal separator ("." or ","): the label of the decimal point key. */
export function decimalSeparator(options = {}) {
  return numberFormat(options.locale).decimal;
}

// ---------------------------------------------------------------- canonical -> shown

/** Is there a separator before the digit at `index` of an integer part of `length` digits? */
function separatorBefore(index, length, format) {
  const right = length - index; // digits from here to the decimal separator
  if (index === 0 || right < format.primary) return false;
  return right === format.primary || (right - format.primary) % format.secondary === 0;
}

/**
 * The shown text of canonical text, and where each canonical caret position is shown:
 * after[i] is the shown position just after canonical character i − 1 (after[0] = 0), so a
 * caret never lands between a digit and the group separator that follows it.
 * @param {string} canonical
 * @param {NumberOptions} options
 * @returns {{text: string, after: number[]}}
 */
function render(canonical, options = {}) {
  const format = numberFormat(options.locale);
  const grouping = options.grouping !== false;
  let text = "";
  const after = [0];
  const put = (shown) => {
    text += shown;
    after.push(text.length);
  };
  let i = 0;
  while (i < canonical.length) {
    const ch = canonical[i];
    if (isDigit(ch) && i > 0 && NAME_CHAR.test(canonical[i - 1])) {
      while (isDigit(canonical[i])) put(canonical[i++]); // part of a name: log10(
      continue;
    }
    if (!isDigit(ch) && ch !== ".") {
      put(ch);
      i += 1;
      continue;
    }
    let end = i;
    while (isDigit(canonical[end])) end += 1;
    const length = end - i;
    const group = grouping && length >= format.primary + format.minimumGrouping;
    for (let k = 0; k < length; k += 1) {
      if (group && separatorBefore(k, length, format)) text += format.group;
      put(canonical[i + k]);
    }
    i = end;
    if (canonical[i] === ".") {
      put(format.decimal);
      i += 1;
      while (isDigit(canonical[i])) {
        put(canonical[i]);
        i += 1;
      }
    }
    EXPONENT.lastIndex = i;
    const exponent = EXPONENT.exec(canonical);
    if (exponent) {
      for (const c of exponent[0]) put(c);
      i += exponent[0].length;
    }
  }
  return { text, after };
}

/**
 * A canonical expression as shown: every number literal grouped and with the locale's decimal
 * separator; everything else as it is.
 * @param {string} canonical  e.g. "1234567.89×2−1.5e+20"
 * @param {NumberOptions} [options]
 */
export function localizeExpression(canonical, options = {}) {
  return render(String(canonical ?? ""), options).text;
}

/**
 * An engine display string as shown: "-1234.5" -> "-1.234,5" (de-DE), "1.5e+20" -> "1,5e+20".
 * Anything that is not a number is shown as an expression would be (only its numbers change).
 * @param {string} canonical
 * @param {NumberOptions} [options]
 */
export function localizeNumber(canonical, options = {}) {
  return localizeExpression(canonical, options);
}

/** Where canonical caret position `position` is in the shown text of `canonical`. */
export function shownCaret(canonical, position, options = {}) {
  const { after } = render(canonical, options);
  return after[Math.max(0, Math.min(position, after.length - 1))];
}

// ---------------------------------------------------------------- shown -> canonical

/**
 * Shown (possibly natively edited) text back to canonical, with, for every shown position j,
 * the canonical position before[j]. A group separator next to a digit is dropped (also when a
 * deletion left it at a number's edge); the locale's decimal separator becomes ".".
 * @returns {{text: string, before: number[]}}
 */
function parse(shown, options = {}) {
  const format = numberFormat(options.locale);
  const isGroup = (ch) => ch === format.group || (format.spaceGroup && SPACES.includes(ch));
  let text = "";
  const before = [0];
  for (let j = 0; j < shown.length; j += 1) {
    const ch = shown[j];
    if (isGroup(ch) && ch !== format.decimal && (isDigit(shown[j - 1]) || isDigit(shown[j + 1]))) {
      before.push(text.length);
      continue;
    }
    text += ch === format.decimal ? "." : ch;
    before.push(text.length);
  }
  return { text, before };
}

/**
 * The canonical text of shown text (the inverse of localizeExpression).
 * @param {string} shown
 * @param {NumberOptions} [options]
 */
export function canonicalize(shown, options = {}) {
  return parse(String(shown ?? ""), options).text;
}

/** Where shown caret position `position` of `shown` is in its canonical text. */
export function canonicalCaret(shown, position, options = {}) {
  const { before } = parse(shown, options);
  return before[Math.max(0, Math.min(position, before.length - 1))];
}

// ---------------------------------------------------------------- paste

const escapeClass = (chars) => chars.replace(/[\\\]^-]/g, "\\$&");

/**
 * One run of digits and separators in the locale's form, as canonical text; null when the run
 * is not in that form (then the engine's own paste rules read it).
 */
function readLocaleNumber(run, format, mantissa) {
  let core = run;
  if (format.spaceGroup) core = [...core].map((ch) => (SPACES.includes(ch) ? format.group : ch)).join("");
  const pieces = core.split(format.decimal);
  if (pieces.length > 2) return null;
  const [whole, fraction] = pieces;
  if (fraction !== undefined && !/^[0-9]*$/.test(fraction)) return null;
  if (whole === "" && !fraction) return null;
  let digits = whole;
  if (whole.includes(format.group)) {
    // A mantissa (1,5e+20) is never grouped: 1.234e+5 in de-DE is 1.234 × 10⁵.
    if (mantissa) return null;
    const groups = whole.split(format.group);
    const last = groups.length - 1;
    const valid = groups.every((g, k) => {
      if (!/^[0-9]+$/.test(g)) return false;
      if (k === last) return g.length === format.primary;
      if (k === 0) return g.length <= format.secondary && g[0] !== "0";
      return g.length === format.secondary;
    });
    if (!valid) return null;
    digits = groups.join("");
  } else if (!/^[0-9]*$/.test(whole)) {
    return null;
  }
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

/**
 * Pasted text with its numbers in the locale's form made canonical, before the engine's own
 * normalizePaste (which then reads what is left: "1,234.5" and "1.234,5" by their last mark,
 * a comma followed by three digits as grouping). A run of digits and separators is read in
 * the locale's form when it is one: a single decimal separator, and group separators only
 * between groups of the locale's sizes (de-DE: 1.234.567,89; en-IN: 12,34,567; fr-FR:
 * 1 234 567,89). So in de-DE "1.234" is 1234 (the locale's reading wins: it is what Calcapp
 * itself shows and copies) while "1.5" and "1234.5" cannot be German and stay 1.5 and 1234.5.
 * A mantissa before an exponent is never read as grouped.
 * @param {string} text
 * @param {NumberOptions} [options]
 */
export function canonicalPaste(text, options = {}) {
  const format = numberFormat(options.locale);
  const spaces = format.spaceGroup ? SPACES : "";
  const run = new RegExp(`[0-9.,${escapeClass(format.group + format.decimal + spaces)}]+`, "g");
  return String(text ?? "").replace(run, (found, offset, whole) => {
    const lead = found.length - found.trimStart().length;
    const core = found.slice(lead).trimEnd();
    if (!core || !/[0-9]/.test(core)) return found;
    const after = whole.slice(offset + lead + core.length);
    const mantissa = /^[eE][+\-\u2212]?[0-9]/.test(after);
    const read = readLocaleNumber(core, format, mantissa);
    if (read === null) return found;
    return found.slice(0, lead) + read + found.slice(lead + core.length);
  });
}
