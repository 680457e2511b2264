// The scientific mode's two settings, both kept on the device: the Standard / Scientific
// switch (shows the function keys) and the angle unit (degrees or radians) that sin, cos, tan
// and their inverses use. The angle unit is shown on the display in the scientific mode, and
// in the standard one while the expression uses it; a change is announced. Everything else about the functions (keys, grammar) is the calculator's and the
// engine's.

const SETTINGS_KEY = "calcapp.scientific.v1";
const UNIT_NAMES = { deg: "degrees", rad: "radians" };

/** @typedef {"deg" | "rad"} AngleUnit */

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

let settings = { scientific: false, angle: /** @type {AngleUnit} */ ("deg") };
/** Does the expression on screen use the angle unit (then it shows in the standard mode too)? */
let expressionUsesAngle = false;
/** @type {Storage} */
let storage;
/** @type {(message: string) => void} */
let announce = () => {};

/** The angle unit expressions are evaluated in now. @returns {AngleUnit} */
export function angleUnit() {
  return settings.angle;
}

/** The expression changed: show the angle unit whenever it matters. @param {boolean} uses */
export function expressionUsesAngleUnit(uses) {
  if (uses === expressionUsesAngle) return;
  expressionUsesAngle = uses;
  render();
}

/** Use `unit` from now on (a reused history entry brings its own). @param {AngleUnit} unit */
export function setAngleUnit(unit) {
  if (unit !== "deg" && unit !== "rad") return;
  if (unit === settings.angle) return;
  settings.angle = unit;
  save();
  render();
  announce(`Angle unit: ${UNIT_NAMES[unit]}`);
}

function setScientific(on) {
  settings.scientific = on;
  save();
  render();
}

function read() {
  try {
    const stored = JSON.parse(storage.getItem(SETTINGS_KEY) ?? "null");
    return {
      scientific: stored?.scientific === true,
      angle: stored?.angle === "rad" ? "rad" : "deg",
    };
  } catch {
    return settings;
  }
}

function save() {
  try {
    storage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* a setting that cannot be kept still applies until the page closes */
  }
}

function render() {
  const { scientific, angle } = settings;
  document.body.classList.toggle("scientific", scientific);
  $("mode-switch").setAttribute("aria-checked", String(scientific));
  $("sci-keys").hidden = !scientific;
  const indicator = $("angle-indicator");
  indicator.hidden = !scientific && !expressionUsesAngle;
  indicator.textContent = angle.toUpperCase();
  indicator.title = `Angles in ${UNIT_NAMES[angle]}`;
  $("angle-unit").textContent = angle.toUpperCase();
  $("angle-state").textContent = UNIT_NAMES[angle];
}

/**
 * Wire the switch and the angle-unit key.
 * @param {{storage: Storage, announce: (message: string) => void}} options
 */
export function startScientific(options) {
  storage = options.storage;
  announce = options.announce;
  settings = read();
  $("mode-switch").addEventListener("click", () => setScientific(!settings.scientific));
  $("angle-unit").addEventListener("click", () => setAngleUnit(settings.angle === "deg" ? "rad" : "deg"));
  addEventListener("storage", (event) => {
    if (event.key !== SETTINGS_KEY) return;
    settings = read();
    render();
  });
  render();
}
