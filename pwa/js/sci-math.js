/**
 * Calcapp's scientific functions on the engine's decimals (calc.js), in BigInt arithmetic.
 * Over 400 lines: twelve functions, each with its argument reduction and error bound, around
 * one shared Ziv loop and rounding; apart they would each re-export the same core.
 *
 * The contract (docs/calculator.md; Python twin tests/calc_sci.py): the exact value rounded
 * once to 34 digits, half even; |result| >= 1e10000 is Overflow, a nonzero result under
 * 1e-9999 is 0. Roots, integer powers and factorials are exact integer work, rounded once. The
 * rest is a Ziv loop: an approximation with an error bound at 34 + g digits (g = 20, 40, 80,
 * 120) is taken when its whole error interval rounds to one decimal; at g = 120 it is snapped
 * to the nearest 34-digit number or midpoint (4^1.5 = 8; exact midpoints round half even).
 * Approximations are [m, s] = m / 10^s with m cut to n = w + 12 digits, or fixed-point
 * BigInts: each step errs by an ulp or so, far inside the 10^-(w+2) relative error claimed.
 * One module of ~600 lines on purpose: the functions share the Ziv loop, the series and pi, and
 * it mirrors its Python twin function for function.
 */

/** @typedef {{sign: 1 | -1, coefficient: bigint, exponent: number}} Decimal */
/** @typedef {[bigint, number]} Approx  m / 10^s */
/** @typedef {{num: bigint, den: bigint} | null} PiMultiple  x is num/den * pi rounded */

const PRECISION = 34;
const GUARD = 12;
const INVALID = "Invalid input";
const OVERFLOW = "Overflow";

/** What every function here throws: "Invalid input", "Cannot divide by zero" or "Overflow". */
export class MathError extends Error {}

function fail(message) {
  throw new MathError(message);
}

const ZERO = Object.freeze({ sign: 1, coefficient: 0n, exponent: 0 });
const ONE = Object.freeze({ sign: 1, coefficient: 1n, exponent: 0 });

/** Pi rounded to 34 digits. @type {Decimal} */
export const PI = Object.freeze({
  sign: 1,
  coefficient: 3141592653589793238462643383279503n,
  exponent: -33,
});

// ---------------------------------------------------------------------------------------------
// Decimals

const pow10 = (n) => 10n ** BigInt(n);
const abs = (m) => (m < 0n ? -m : m);
const digits = (m) => abs(m).toString().length;
const decimal = (sign, coefficient, exponent) =>
  coefficient === 0n ? ZERO : { sign, coefficient, exponent };
const isZero = (d) => d.coefficient === 0n;
const signed = (d) => BigInt(d.sign) * d.coefficient;
/** The exponent of the leading digit: 1234 -> 3, 0.05 -> -2. */
const adjusted = (d) => d.exponent + digits(d.coefficient) - 1;

/** [coefficient, exponent] of a nonzero d without trailing zeros. */
function stripped({ coefficient, exponent }) {
  while (coefficient % 10n === 0n) [coefficient, exponent] = [coefficient / 10n, exponent + 1];
  return [coefficient, exponent];
}

/** m * 10^e to 34 digits, half even; `sticky`: nonzero digits were cut below a longer m. */
function round(m, e, sticky = false) {
  const sign = m < 0n ? -1 : 1;
  let kept = abs(m);
  const excess = digits(kept) - PRECISION;
  if (excess <= 0) return decimal(sign, kept, e);
  const divisor = pow10(excess);
  const cut = kept % divisor;
  kept /= divisor;
  if (cut > divisor / 2n || (cut === divisor / 2n && (sticky || kept % 2n === 1n))) kept += 1n;
  if (digits(kept) > PRECISION) return decimal(sign, kept / 10n, e + excess + 1);
  return decimal(sign, kept, e + excess);
}

/** The range rule on a rounded result. */
function inRange(d) {
  if (!isZero(d) && adjusted(d) >= 10000) fail(OVERFLOW);
  return isZero(d) || adjusted(d) >= -9999 ? d : ZERO;
}

const isInteger = (d) =>
  d.exponent >= 0 || (adjusted(d) >= 0 && d.coefficient % pow10(-d.exponent) === 0n);

/** The value of an integer decimal under 1e15. */
function smallInteger(d) {
  if (isZero(d)) return 0;
  const [c, e] = stripped(d);
  return d.sign * Number(c) * 10 ** e;
}

// ---------------------------------------------------------------------------------------------
// The Ziv loop

/** `approximate(w)` is [m, e, err]: the value is within (m ± err) * 10^e (err 0: exact). */
function correctlyRounded(approximate) {
  for (let g = 20; ; g = Math.min(2 * g, 120)) {
    const [m, e, err] = approximate(PRECISION + g);
    const low = round(m - err, e);
    const high = round(m + err, e);
    const same = ["sign", "coefficient", "exponent"].every((key) => low[key] === high[key]);
    if (same) return inRange(low);
    if (g === 120) return inRange(snap(m, e));
  }
}

/** m * 10^e taken to be exactly the nearest 34-digit number or midpoint, rounded half even. */
function snap(m, e) {
  const half = 5n * pow10(digits(m) - PRECISION - 1); // half a unit of the 34th digit
  const nearest = ((abs(m) + half / 2n) / half) * half;
  return round(m < 0n ? -nearest : nearest, e);
}

/** The Ziv triple of an approximation good to 10^-(w+2) relative. */
const withError = ([m, s], w) => [m, -s, m === 0n ? 0n : abs(m) / pow10(w + 2) + 1n];

// ---------------------------------------------------------------------------------------------
// Relative forms: [m, s] = m / 10^s with n digits (truncated: error under an ulp)

/** @returns {Approx} */
function norm([m, s], n) {
  const k = n - digits(m);
  return m === 0n ? [m, 0] : [shift(m, k), s + k];
}

const fromDecimal = (d, n) => norm([signed(d), -d.exponent], n);
const mul = (a, b, n) => norm([a[0] * b[0], a[1] + b[1]], n);
const neg = ([m, s]) => [-m, s];

function div(a, b, n) {
  const k = n + 1 + digits(b[0]) - digits(a[0]);
  return norm([(a[0] * pow10(k)) / b[0], a[1] - b[1] + k], n);
}

/** m * 10^k, truncated. */
const shift = (m, k) => (k >= 0 ? m * pow10(k) : m / pow10(-k));

/** a as a fixed-point BigInt at `scale`, truncated. */
const fixed = ([m, s], scale) => (s - scale > digits(m) ? 0n : shift(m, scale - s));

/** a - b, both under 10. */
const sub = (a, b, n) => norm([fixed(a, n + 2) - fixed(b, n + 2), n + 2], n);

/** Σ (±u)^j / (step(1) ... step(j) * last(j)) over j >= 0; u (< 1) and the sum at scale S. */
function series(u, S, alternating, step, last) {
  const one = pow10(S);
  let sum = one;
  for (let j = 1n, term = one; term > 0n; j += 1n) {
    term = (term * u) / one / step(j);
    sum += (alternating && j % 2n === 1n ? -term : term) / last(j);
  }
  return sum;
}

const odd = (j) => 2n * j + 1n;
const evenFactorial = (j) => (2n * j - 1n) * 2n * j;
const byOne = () => 1n;

/** t² at scale S for |t| < 1 (0 below 10^-S). */
function square([m, s], S) {
  return m === 0n || 2 * s - S > 2 * digits(m) ? 0n : (m * m) / pow10(2 * s - S);
}

function isqrt(v) {
  if (v < 2n) return v;
  let x = 1n << BigInt((v.toString(2).length >> 1) + 1);
  for (let y = (x + v / x) >> 1n; y < x; y = (x + v / x) >> 1n) x = y;
  return x;
}

function sqrtR([m, s], n) {
  if (m === 0n) return [m, 0];
  let k = 2 * n + 2 - digits(m);
  if ((s + k) % 2 !== 0) k += 1;
  return norm([isqrt(shift(m, k)), (s + k) / 2], n);
}

/** a / b rounded to an integer (b > 0). */
const roundedQuotient = (a, b) => (a < 0n ? -roundedQuotient(-a, b) : (2n * a + b) / (2n * b));

// ---------------------------------------------------------------------------------------------
// Constants, fixed point at `scale` within 2 ulps

/** Σ 1 / ((2j+1) q^(2j+1)) at `scale`, alternating (atan 1/q) or not (atanh 1/q). */
function inverseSeries(q, scale, alternating) {
  let sum = 0n;
  for (let j = 1n, power = pow10(scale) / q; power > 0n; j += 2n, power /= q * q) {
    sum += alternating && j % 4n === 3n ? -power / j : power / j;
  }
  return sum;
}

const SERIES = {
  pi: (s) => 16n * inverseSeries(5n, s, true) - 4n * inverseSeries(239n, s, true),
  ln2: (s) => 4n * inverseSeries(6n, s, false) + 2n * inverseSeries(99n, s, false),
  ln10: (s) => 3n * SERIES.ln2(s) + 2n * inverseSeries(9n, s, false),
};
const cache = new Map();

/** A constant, computed (with 10 spare digits) at 250 more digits than asked. */
function constant(name, scale) {
  let [cached, value] = cache.get(name) ?? [-1, 0n];
  if (cached < scale) {
    cached = scale + 250;
    value = SERIES[name](cached + 10) / pow10(10);
    cache.set(name, [cached, value]);
  }
  return value / pow10(cached - scale);
}

const piR = (n) => norm([constant("pi", n + 2), n + 2], n);
const halfPiR = (n) => norm([5n * constant("pi", n + 2), n + 3], n);

// ---------------------------------------------------------------------------------------------
// Kernels

/** e^t = 10^k e^r (0 <= r < ln 10) for t = T / 10^S, |t| < 1e5: series at r / 1024, squared. */
function expR(T, S, n) {
  const one = pow10(S);
  const l = constant("ln10", S);
  const k = T / l - (T % l < 0n ? 1n : 0n);
  const r = (T - k * l) >> 10n;
  let sum = one;
  for (let i = 1n, term = one; term > 0n; i += 1n) {
    term = (term * r) / one / i;
    sum += term;
  }
  for (let i = 0; i < 10; i += 1) sum = (sum * sum) / one;
  return norm([sum, S - Number(k)], n);
}

/** [10 m below, ref, k, 1 for ref 10]: ln x's leading digits m (1 <= m < 10) go to m / ref. */
const LN_REFERENCES = [
  [14n, 1n, 0n, 0],
  [28n, 2n, 1n, 0],
  [56n, 4n, 2n, 0],
  [70n, 8n, 3n, 0],
  [100n, 10n, 0n, 1],
];

/** ln x = 2 atanh((m - ref) / (m + ref)) + k ln 2 + a ln 10; near 1 (k = a = 0), relative. */
function lnR(x, n) {
  const lead = pow10(digits(x.coefficient) - 1);
  const [, ref, k, carry] = LN_REFERENCES.find(([limit]) => 10n * x.coefficient < limit * lead);
  const a = BigInt(adjusted(x) + carry);
  const s = div([x.coefficient - ref * lead, 0], [x.coefficient + ref * lead, 0], n);
  const S = n + 2;
  const atanh = mul(s, [2n * series(square(s, S), S, false, byOne, odd), S], n);
  if (k === 0n && a === 0n) return atanh;
  const logs = k * constant("ln2", S) + (a * constant("ln10", S + 5)) / pow10(5);
  return norm([fixed(atanh, S) + logs, S], n);
}

/** [sin t, cos t] for |t| < 0.8 by their series in t². */
function sinCos(t, n) {
  const S = n + 2;
  const u = square(t, S);
  const sinOverT = series(u, S, true, evenFactorial, odd);
  return [mul(t, [sinOverT, S], n), norm([series(u, S, true, evenFactorial, byOne), S], n)];
}

/** atan z for 0 <= z <= 1: z -> z / (1 + sqrt(1 + z²)) halves the angle until z < 1/8. */
function atanR(z, n) {
  const S = n + 2;
  const one = pow10(S);
  let doublings = 0n;
  for (; z[1] <= n && z[0] * 8n >= pow10(z[1]); doublings += 1n) {
    z = norm([(z[0] * one) / (one + isqrt((one + square(z, S)) * one)), z[1]], n);
  }
  return mul(z, [series(square(z, S), S, true, byOne, odd) << doublings, S], n);
}

/** atan(y / x) in [0, pi/2] for y, x >= 0, not both 0. */
function angle(y, x, n) {
  if (y[0] === 0n) return y;
  if (x[0] === 0n) return halfPiR(n);
  if (y[1] < x[1] || (y[1] === x[1] && y[0] > x[0])) {
    return sub(halfPiR(n), atanR(div(x, y, n), n), n);
  }
  return atanR(div(y, x, n), n);
}

// ---------------------------------------------------------------------------------------------
// Roots, powers, exponentials and logarithms

/**
 * The square root, exact when exact.
 * @param {Decimal} x
 * @returns {Decimal}
 */
export function sqrt(x) {
  if (isZero(x)) return ZERO;
  if (x.sign < 0) fail(INVALID);
  let k = Math.max(0, 2 * PRECISION + 4 - digits(x.coefficient));
  if ((x.exponent - k) % 2 !== 0) k += 1;
  const scaled = x.coefficient * pow10(k);
  const root = isqrt(scaled);
  return inRange(round(root, (x.exponent - k) / 2, root * root !== scaled));
}

/**
 * e^x.
 * @param {Decimal} x
 * @returns {Decimal}
 */
export function exp(x) {
  if (isZero(x)) return ONE;
  if (adjusted(x) >= 5) return x.sign > 0 ? fail(OVERFLOW) : ZERO;
  return correctlyRounded((w) => {
    const S = w + GUARD + 7;
    return withError(expR(fixed([signed(x), -x.exponent], S), S, w + GUARD), w);
  });
}

/**
 * The natural logarithm of x > 0.
 * @param {Decimal} x
 * @returns {Decimal}
 */
export function ln(x) {
  if (isZero(x) || x.sign < 0) fail(INVALID);
  return correctlyRounded((w) => withError(lnR(x, w + GUARD), w));
}

/**
 * The base-10 logarithm of x > 0, exact for powers of ten.
 * @param {Decimal} x
 * @returns {Decimal}
 */
export function log10(x) {
  if (isZero(x) || x.sign < 0) fail(INVALID);
  const [c, e] = stripped(x);
  if (c === 1n) return decimal(e < 0 ? -1 : 1, BigInt(Math.abs(e)), 0);
  return correctlyRounded((w) => {
    const n = w + GUARD;
    return withError(div(lnR(x, n), [constant("ln10", n + 2), n + 2], n), w);
  });
}

/**
 * x^y; 0^0 = 1, a negative x needs an integer y.
 * @param {Decimal} x
 * @param {Decimal} y
 * @returns {Decimal}
 */
export function power(x, y) {
  if (isZero(y)) return ONE;
  if (isZero(x)) return y.sign < 0 ? fail("Cannot divide by zero") : ZERO;
  const integral = isInteger(y);
  if (x.sign < 0 && !integral) fail(INVALID);
  const odd = integral && y.exponent <= 0 && (y.coefficient / pow10(-y.exponent)) % 2n === 1n;
  const sign = x.sign < 0 && odd ? -1n : 1n;
  const [c, e] = stripped(x);
  const n = integral && adjusted(y) < 4 ? Math.abs(smallInteger(y)) : Infinity;
  if (n * digits(c) <= 2000) return exactPower(sign * c, e, n, y.sign < 0);
  return correctlyRounded((w) => {
    const [m, s] = powerR(x, y, w + GUARD);
    return withError([sign * m, s], w);
  });
}

/** (c * 10^e)^n, or its reciprocal, exactly and rounded once. */
function exactPower(c, e, n, reciprocal) {
  const p = c ** BigInt(n);
  if (!reciprocal) return inRange(round(p, e * n));
  const k = digits(p) + PRECISION + 1;
  const q = pow10(k) / p;
  return inRange(round(q, -k - e * n, q * p !== pow10(k)));
}

/** |x|^y = e^(y ln|x|), or [0n, 0] below 1e-43000. */
function powerR(x, y, n) {
  const logarithm = lnR(x, n + 6);
  if (logarithm[0] === 0n) return norm([1n, 0], n);
  const t = mul(fromDecimal(y, n + 6), logarithm, n + 6);
  if (n + 5 - t[1] >= 5) return t[0] > 0n ? fail(OVERFLOW) : [0n, 0]; // |t| >= 1e5
  return expR(fixed(t, n + 7), n + 7, n);
}

/**
 * n! for an integer n >= 0; 3249! and beyond overflow.
 * @param {Decimal} n
 * @returns {Decimal}
 */
export function factorial(n) {
  if (n.sign < 0 || !isInteger(n)) fail(INVALID);
  if (adjusted(n) >= 4 || smallInteger(n) >= 3249) fail(OVERFLOW);
  const count = BigInt(smallInteger(n));
  return runningFactorial(Number(count)) ?? round(product(1n, count), 0);
}

/**
 * n! from a running product cut by four digits whenever it passes 54 (it stays above 10^50
 * after a cut), the factors multiplied in chunks below 2^53 first: each cut lowers it by under
 * 10^-50 of itself, so the exact value lies in [m, m + cuts * (m / 10^49 + 1)] units. The
 * correctly rounded result when both ends round alike, else null (then the exact product
 * decides). For 3000! this spares building and cutting a 9,131-digit integer.
 */
function runningFactorial(n) {
  const limit = pow10(54);
  let m = 1n;
  let cuts = 0;
  for (let i = 2; i <= n; ) {
    let chunk = 1;
    for (; i <= n && chunk * i < 2 ** 53; i += 1) chunk *= i;
    m *= BigInt(chunk);
    for (; m >= limit; cuts += 1) m /= 10000n;
  }
  if (cuts === 0) return null; // never cut: the exact product is as cheap
  const low = round(m, 4 * cuts);
  return sameDecimal(low, round(m + BigInt(cuts) * (m / pow10(49) + 1n), 4 * cuts)) ? low : null;
}

const sameDecimal = (a, b) => a.coefficient === b.coefficient && a.exponent === b.exponent;

/** low * (low + 1) * ... * high, in halves: balanced products are faster than a running one. */
function product(low, high) {
  if (high - low > 8n) {
    const middle = (low + high) / 2n;
    return product(low, middle) * product(middle + 1n, high);
  }
  let result = 1n;
  for (let i = low; i <= high; i += 1n) result *= i;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Trigonometry

const SIN = 0;
const COS = 1;
const TAN = 2;

/** Small table values: integers and ±0.5. */
function fromNumber(v) {
  if (Number.isInteger(v)) return decimal(v < 0 ? -1 : 1, BigInt(Math.abs(v)), 0);
  return decimal(v < 0 ? -1 : 1, 5n, -1);
}

/** x degrees modulo 360 as a * 10^e, 0 <= a < 360 * 10^-e, e = min(x's exponent, 0). */
function degreesModulo360(x) {
  const e = Math.min(x.exponent, 0);
  const full = 360n * pow10(-e);
  // 10^k = 10^3 (mod 360) for every k >= 3: no 10^9999 is built.
  const a = (signed(x) * pow10(Math.min(x.exponent, 3) - e)) % full;
  return [a < 0n ? a + full : a, e];
}

/** The angle in 15° steps (0..23) when it is exactly known and a multiple of 15°, else null. */
function fifteenDegreeSteps(x, unit, piMultiple) {
  if (unit === "deg") {
    const [a, e] = degreesModulo360(x);
    const step = 15n * pow10(-e);
    return a % step === 0n ? Number(a / step) : null;
  }
  if (piMultiple === null || (12n * piMultiple.num) % piMultiple.den !== 0n) return null;
  return Number((((12n * piMultiple.num) / piMultiple.den) % 24n) + 24n) % 24;
}

/** sin(p * 15°) for p mod 12 and tan(p * 15°) for p mod 12, where rational. */
const EXACT_SIN = { 0: 0, 2: 0.5, 6: 1, 10: 0.5 };
const EXACT_TAN = { 0: 0, 3: 1, 9: -1 };

/** The exact table at p * 15° for multiples of 30° and 45°: a Decimal, or undefined. */
function exactTrig(kind, p) {
  if (p % 2 !== 0 && p % 3 !== 0) return undefined;
  if (kind === TAN) {
    if (p % 12 === 6) fail(INVALID);
    return p % 12 in EXACT_TAN ? fromNumber(EXACT_TAN[p % 12]) : undefined;
  }
  const q = (p + 6 * kind) % 24; // cos a = sin(a + 90°)
  if (!(q % 12 in EXACT_SIN)) return undefined;
  return fromNumber(q < 12 ? EXACT_SIN[q % 12] : -EXACT_SIN[q % 12]);
}

/** x degrees as [q, t]: x = q * 90° + t (mod 360°), t in radians, |t| <= pi/4. */
function reduceDegrees(x, n) {
  const [a, e] = degreesModulo360(x);
  const quarter = 90n * pow10(-e);
  const q = roundedQuotient(a, quarter);
  const t = ((a - q * quarter) * constant("pi", n + 2)) / 180n;
  return [Number(q % 4n), norm([t, n + 2 - e], n)];
}

/** x radians as [q, t]: x = q * pi/2 + t, |t| <= pi/4 (+ an ulp), t within 10^-(n+1). */
function reduceRadians(x, n) {
  const a = adjusted(x);
  if (a < -1 || (a === -1 && 100n * x.coefficient < 78n * pow10(-x.exponent))) {
    return [0, fromDecimal(x, n)]; // |x| < 0.78
  }
  for (let scale = n + 6 + Math.max(0, a); ; ) {
    const X = signed(x) * pow10(x.exponent + scale);
    const halfPi = constant("pi", scale) / 2n;
    const q = roundedQuotient(X, halfPi);
    const t = X - q * halfPi;
    const err = 2n * abs(q) + 2n;
    if (abs(t) >= err * pow10(n + 1)) return [Number(((q % 4n) + 4n) % 4n), norm([t, scale], n)];
    scale += n + 2 + digits(err) - digits(t); // x is near a multiple of pi/2: more digits
  }
}

function trigonometric(kind, x, unit, piMultiple) {
  const steps = fifteenDegreeSteps(x, unit, piMultiple);
  const exact = steps === null ? undefined : exactTrig(kind, steps);
  if (exact !== undefined) return exact;
  if (isZero(x)) return kind === COS ? ONE : ZERO;
  return correctlyRounded((w) => {
    const n = w + GUARD;
    const [q, t] = unit === "deg" ? reduceDegrees(x, n) : reduceRadians(x, n);
    const [s, c] = sinCos(t, n);
    if (kind === TAN) return withError(q % 2 === 0 ? div(s, c, n) : neg(div(c, s, n)), w);
    return withError([s, c, neg(s), neg(c)][(q + kind) % 4], w);
  });
}

/**
 * sin x, x in `unit`. With "rad", `piMultiple` says x is num/den * pi rounded: at multiples of
 * 30° and 45°, as with exact degrees, rational values come from the exact table.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @param {PiMultiple} [piMultiple]
 * @returns {Decimal}
 */
export function sin(x, unit, piMultiple = null) {
  return trigonometric(SIN, x, unit, piMultiple);
}

/**
 * cos x, as sin.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @param {PiMultiple} [piMultiple]
 * @returns {Decimal}
 */
export function cos(x, unit, piMultiple = null) {
  return trigonometric(COS, x, unit, piMultiple);
}

/**
 * tan x, as sin; Invalid input at exactly 90° + k * 180°.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @param {PiMultiple} [piMultiple]
 * @returns {Decimal}
 */
export function tan(x, unit, piMultiple = null) {
  return trigonometric(TAN, x, unit, piMultiple);
}

// ---------------------------------------------------------------------------------------------
// Inverse trigonometry

/** sqrt(1 - x²) for |x| <= 1. */
function cosineOf(x, n) {
  if (adjusted(x) < -n) return norm([1n, 0], n);
  const scale = -2 * x.exponent;
  return sqrtR([pow10(scale) - x.coefficient * x.coefficient, scale], n);
}

/** x as a key of the exact tables: 0, ±0.5, ±1, or NaN. */
function tableKey(x) {
  if (isZero(x)) return 0;
  const [c, e] = stripped(x);
  if (c === 1n && e === 0) return x.sign;
  return c === 5n && e === -1 ? x.sign / 2 : NaN;
}

/** Invalid outside [-1, 1] if `bounded`; the exact tables; else `radians(|x|, n)` rounded. */
function inverse(x, unit, bounded, degreeTable, zeroAt, radians) {
  const key = tableKey(x);
  if (bounded && !isZero(x) && adjusted(x) >= 0 && Math.abs(key) !== 1) fail(INVALID);
  if (unit === "deg" && key in degreeTable) return fromNumber(degreeTable[key]);
  if (unit !== "deg" && key === zeroAt) return ZERO;
  return correctlyRounded((w) => {
    const n = w + GUARD;
    const a = radians(norm([x.coefficient, -x.exponent], n), n);
    return withError(unit === "deg" ? div(mul(a, [180n, 0], n), piR(n), n) : a, w);
  });
}

const withSign = (a, sign) => (sign < 0 ? neg(a) : a);

/**
 * arcsin x in `unit`; |x| > 1 is Invalid input.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @returns {Decimal}
 */
export function asin(x, unit) {
  const degrees = { 0: 0, 0.5: 30, "-0.5": -30, 1: 90, "-1": -90 };
  return inverse(x, unit, true, degrees, 0, (size, n) =>
    withSign(angle(size, cosineOf(x, n), n), x.sign),
  );
}

/**
 * arccos x in `unit`; |x| > 1 is Invalid input.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @returns {Decimal}
 */
export function acos(x, unit) {
  const degrees = { 1: 0, 0.5: 60, 0: 90, "-0.5": 120, "-1": 180 };
  return inverse(x, unit, true, degrees, 1, (size, n) => {
    const a = angle(cosineOf(x, n), size, n);
    return x.sign < 0 ? sub(piR(n), a, n) : a;
  });
}

/**
 * arctan x in `unit`.
 * @param {Decimal} x
 * @param {"deg" | "rad"} unit
 * @returns {Decimal}
 */
export function atan(x, unit) {
  const degrees = { 0: 0, 1: 45, "-1": -45 };
  return inverse(x, unit, false, degrees, 0, (size, n) =>
    withSign(angle(size, norm([1n, 0], n), n), x.sign),
  );
}
