/**
 * Python's rounding and Python's ways of printing a value, for every module here: they must
 * round exactly as aecodec's numpy code does, and report bad input or a bad file with the
 * very message Python's exception carries (which quotes values with `repr()`, shapes as
 * tuples, numbers with `:g`).
 *
 * A JS number that is a whole number prints as a Python int does, any other as a Python
 * float; a `Uint8Array` prints as Python `bytes` (other typed arrays are numpy's `ndarray`),
 * an array as a list, null and undefined as `None`, any other object as a `dict`.
 */

/** Round half to even: Python's `round()` of a float, numpy's `np.round`. */
export function roundHalfEven(value) {
  const rounded = Math.round(value); // half up; exact for every double
  return rounded - value === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** Python's `repr()` of the value a JS caller passed where Python code would see `value`. */
export function pyRepr(value) {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return floatOrIntRepr(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return quoted(value, false);
  if (value instanceof Uint8Array) return "b" + quoted(Array.from(value, (byte) => String.fromCharCode(byte)).join(""), true);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  return `<${pyTypeName(value)} object>`;
}

/** Python's `repr()` of a tuple of these items: `(1, 2)`, `(5,)`, `()`. */
export function pyTuple(items) {
  const shown = Array.from(items, pyRepr);
  return shown.length === 1 ? `(${shown[0]},)` : `(${shown.join(", ")})`;
}

/** The Python type name of the value a JS caller passed (`type(value).__name__`). */
export function pyTypeName(value) {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "bigint") return "int";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "str";
  if (value instanceof Uint8Array) return "bytes";
  if (ArrayBuffer.isView(value)) return "ndarray";
  if (Array.isArray(value)) return "list";
  if (typeof value === "function") return "function";
  return "dict";
}

/**
 * Python's `format(float(value), "g")`: six significant digits, rounded half to even from
 * the double's exact value (as Python does, where `toPrecision` would round a tie up:
 * 10000.25 → "10000.2"), in fixed notation for decimal exponents −4 to 5, otherwise as
 * `1.5e+06`; trailing zeros dropped.
 *
 * @param {number} value
 * @returns {string}
 */
export function pyFormatG(value) {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  if (value === 0) return `${sign}0`;
  const [digits, exponent] = sixDigits(Math.abs(value));
  if (exponent < -4 || exponent >= G_DIGITS) {
    const mantissa = withoutTrailingZeros(`${digits[0]}.${digits.slice(1)}`);
    return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const fixed = exponent >= 0
    ? `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`
    : `0.${"0".repeat(-exponent - 1)}${digits}`;
  return sign + withoutTrailingZeros(fixed);
}

const G_DIGITS = 6;

/**
 * The six significant digits of a positive finite double and its decimal exponent, rounded
 * half to even in exact integer arithmetic on the double's value m·2^e.
 */
function sixDigits(magnitude) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, magnitude);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const mantissa = (bits & ((1n << 52n) - 1n)) | (biased ? 1n << 52n : 0n);
  const binaryExponent = Math.max(biased, 1) - 1075;
  const lowest = 10n ** BigInt(G_DIGITS - 1);
  let exponent = Math.floor(Math.log10(magnitude)); // may be one off; corrected below
  for (;;) {
    const shift = G_DIGITS - 1 - exponent; // digits = round(magnitude × 10^shift)
    const numerator = mantissa * 2n ** BigInt(Math.max(binaryExponent, 0)) * 10n ** BigInt(Math.max(shift, 0));
    const denominator = 2n ** BigInt(Math.max(-binaryExponent, 0)) * 10n ** BigInt(Math.max(-shift, 0));
    let digits = numerator / denominator;
    const twiceRest = 2n * (numerator % denominator);
    if (twiceRest > denominator || (twiceRest === denominator && digits % 2n)) digits += 1n;
    if (digits >= 10n * lowest) exponent += 1;
    else if (digits < lowest) exponent -= 1;
    else return [digits.toString(), exponent];
  }
}

function withoutTrailingZeros(decimal) {
  return decimal.includes(".") ? decimal.replace(/0+$/, "").replace(/\.$/, "") : decimal;
}

function floatOrIntRepr(value) {
  if (Number.isInteger(value)) return BigInt(value).toString(); // never exponent notation, as an int
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  // Both languages print the shortest digits that read back; Python switches to exponent
  // notation below 1e-4 (JS only below 1e-6) and writes at least two exponent digits.
  if (Math.abs(value) >= 1e-4) return String(value);
  const [digits, exponent] = value.toExponential().split("e");
  const sign = exponent[0];
  return `${digits}e${sign}${exponent.slice(1).padStart(2, "0")}`;
}

/**
 * A str (or, with `asBytes`, a bytes value as Latin-1 text) quoted as Python's repr() quotes
 * it: single quotes unless the text holds one and no double quote; backslash, tab, newline
 * and carriage return escaped; other characters Python deems unprintable as \x, \u or \U.
 */
function quoted(text, asBytes) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (asBytes ? code < 0x20 || code >= 0x7f : !isPrintable(ch)) out += escaped(code);
    else out += ch;
  }
  return out + quote;
}

/** Python's str.isprintable() for one character: not in Unicode's C* or Z* categories, or a space. */
function isPrintable(ch) {
  return ch === " " || !/[\p{C}\p{Z}]/u.test(ch);
}

function escaped(code) {
  if (code < 0x100) return "\\x" + code.toString(16).padStart(2, "0");
  if (code < 0x10000) return "\\u" + code.toString(16).padStart(4, "0");
  return "\\U" + code.toString(16).padStart(8, "0");
}
