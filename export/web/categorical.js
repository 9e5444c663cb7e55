/**
 * The fixed-point CDF constriction builds for `Categorical(pmf / pmf.sum(), perfect=False)`,
 * the model aecodec/entropy/coder.py codes every table with.
 *
 * The range decoder must split its interval exactly where the encoder did, so the CDF is
 * rebuilt with constriction's own float arithmetic (`fast_quantized_cdf` in
 * constriction/src/stream/model/categorical.rs, preset `DefaultContiguousCategorical-
 * EntropyModel`: u32 probabilities, 24 bits of precision): every symbol first gets weight
 * one, and the remaining 2^24 - n units are spread by flooring the running float sum of
 * the probabilities times `(2^24 - n) / sum`. The probabilities are `pmf / pmf.sum()` in
 * float64 as numpy computes them, and the sum of the integer table is exact in a double.
 */

/** Bits of precision of constriction's default categorical model. */
export const PRECISION = 24;
const TOTAL = 2 ** PRECISION;

/**
 * The quantized CDF of an integer PMF.
 *
 * @param {ArrayLike<number>} pmf Integer weights (an aecodec table, escape entry included).
 * @returns {Uint32Array} `n + 1` entries: the left cumulative of each symbol, then 2^24.
 * @throws {RangeError} Where constriction refuses the table (it raises ValueError): fewer
 *   than 2 entries, 2^24 - 1 or more, or a sum that is not a positive normal number.
 */
export function quantizedCdf(pmf) {
  const n = pmf.length;
  if (n < 2 || n >= TOTAL - 1) throw notNormalizable();
  let integerSum = 0;
  for (let i = 0; i < n; i++) integerSum += pmf[i];
  const probabilities = new Float64Array(n);
  for (let i = 0; i < n; i++) probabilities[i] = pmf[i] / integerSum;
  // constriction sums the probabilities again, left to right, in float64.
  let normalization = 0;
  for (let i = 0; i < n; i++) normalization += probabilities[i];
  if (!(normalization >= 2 ** -1022 && normalization <= Number.MAX_VALUE)) throw notNormalizable();
  const scale = (TOTAL - n) / normalization;
  const cdf = new Uint32Array(n + 1);
  let cumulative = 0;
  for (let i = 0; i < n; i++) {
    cdf[i] = (saturatingU32(cumulative * scale) + i) >>> 0;
    cumulative += probabilities[i];
  }
  cdf[n] = TOTAL;
  return cdf;
}

/** Rust's `f64 as u32`: truncation toward zero, saturating at both ends, NaN to 0. */
function saturatingU32(value) {
  if (!(value > 0)) return 0;
  return value >= 0xffffffff ? 0xffffffff : Math.trunc(value);
}

function notNormalizable() {
  return new RangeError(
    "Probability distribution not normalizable (the array of probabilities\n" +
    "might be empty, contain negative values or NaNs, or sum to infinity).");
}
