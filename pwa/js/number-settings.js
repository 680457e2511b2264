// The "Number format" settings of the calculator page: digit grouping (default on) and the
// form copies take (the shown form by default, canonical on request), kept on this device in
// localStorage (`calcapp.numbers.v1`), with the two checkboxes that change them. The locale is
// the browser's. Listeners re-render what shows numbers (calculator.js, history-panel.js).

export const SETTINGS_KEY = "calcapp.numbers.v1";

const DEFAULTS = Object.freeze({ grouping: true, canonicalCopy: false });

let settings = { ...DEFAULTS };
/** @type {Storage | null} */
let storage = null;
/** @type {Set<() => void>} */
const listeners = new Set();

/** How numbers are shown now. @returns {import("./numbers.js").NumberOptions} */
export function numberOptions() {
  return { locale: undefined, grouping: settings.grouping };
}

/** Do copies give canonical numbers ("1234567.89") rather than the shown form? */
export function copiesCanonical() {
  return settings.canonicalCopy;
}

/** Call `listener` whenever a setting changes (here or in another tab). */
export function onNumberFormatChange(listener) {
  listeners.add(listener);
}

function read() {
  try {
    const stored = JSON.parse(storage?.getItem(SETTINGS_KEY) ?? "null");
    if (stored && typeof stored === "object") {
      return {
        grouping: typeof stored.grouping === "boolean" ? stored.grouping : DEFAULTS.grouping,
        canonicalCopy: typeof stored.canonicalCopy === "boolean" ? stored.canonicalCopy : DEFAULTS.canonicalCopy,
      };
    }
  } catch {
    /* unreadable: the defaults */
  }
  return { ...DEFAULTS };
}

const boxes = () => ({
  grouping: /** @type {HTMLInputElement | null} */ (document.getElementById("group-digits")),
  canonicalCopy: /** @type {HTMLInputElement | null} */ (document.getElementById("copy-canonical")),
});

function showSettings() {
  const { grouping, canonicalCopy } = boxes();
  if (grouping) grouping.checked = settings.grouping;
  if (canonicalCopy) canonicalCopy.checked = settings.canonicalCopy;
}

function changed() {
  showSettings();
  listeners.forEach((listener) => listener());
}

function update(change) {
  settings = { ...settings, ...change };
  try {
    storage?.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* storage full: the setting holds for this visit */
  }
  changed();
}

/**
 * Read the settings and wire their checkboxes; call before the calculator starts.
 * @param {Storage} store
 */
export function startNumberSettings(store) {
  storage = store;
  settings = read();
  const { grouping, canonicalCopy } = boxes();
  grouping?.addEventListener("change", () => update({ grouping: grouping.checked }));
  canonicalCopy?.addEventListener("change", () => update({ canonicalCopy: canonicalCopy.checked }));
  window.addEventListener("storage", (event) => {
    if (event.key !== SETTINGS_KEY) return;
    settings = read();
    changed();
  });
  showSettings();
}
