/**
 * constriction's queue range decoder (`constriction.stream.queue.RangeDecoder`, the
 * `DefaultRangeDecoder` preset: u32 words, u64 state), decoding with the CDFs of
 * categorical.js.
 *
 * The state is held in BigInt so every step is the exact u64 wrapping arithmetic of
 * constriction/src/stream/queue.rs: `scale = range >> 24`, `quantile = (point - lower) /
 * scale`, the interval narrowed to the symbol's, and one word shifted in whenever `range`
 * drops below 2^32. Past the last word the decoder shifts in zeros, as constriction does;
 * the symbol CRC catches a stream that ends early.
 */

import { PRECISION } from "./categorical.js";
import { DesyncError } from "./errors.js";

const MASK = (1n << 64n) - 1n;
const WORD_BITS = 32n;
const RENORMALIZE_BELOW = 1n << 32n;
const QUANTILE_LIMIT = 1n << BigInt(PRECISION);
const PRECISION_BITS = BigInt(PRECISION);

/** The message of coder.py's DesyncError for data no encoder produced. */
const INVALID_DATA = "entropy-coded stream is invalid for its probability tables";

export class RangeDecoder {
  /** @param {Uint32Array} words The compressed words, in stream order. */
  constructor(words) {
    this.words = words;
    this.next = 0;
    this.lower = 0n;
    this.range = MASK;
    // The point starts as the first two words; a shorter stream is padded with zero bits.
    this.point = 0n;
    for (let read = 0; read < 2; read++) {
      this.point = (this.point << WORD_BITS) | BigInt(this.readWord());
    }
  }

  /**
   * Decodes one symbol.
   *
   * @param {Uint32Array} cdf A CDF from categorical.js.
   * @returns {number} The symbol, 0 .. cdf.length - 2.
   * @throws {DesyncError} Where constriction's decoder reports invalid data (Python sees an
   *   AssertionError, which coder.py turns into this DesyncError).
   */
  decode(cdf) {
    const scale = this.range >> PRECISION_BITS;
    const quantile = ((this.point - this.lower) & MASK) / scale;
    if (quantile >= QUANTILE_LIMIT) throw new DesyncError(INVALID_DATA);
    const symbol = lastAtMost(cdf, Number(quantile));
    const left = BigInt(cdf[symbol]);
    this.lower = (this.lower + scale * left) & MASK;
    this.range = scale * (BigInt(cdf[symbol + 1]) - left);
    if (this.range < RENORMALIZE_BELOW) {
      this.lower = (this.lower << WORD_BITS) & MASK;
      this.range <<= WORD_BITS;
      this.point = ((this.point << WORD_BITS) & MASK) | BigInt(this.readWord());
    }
    return symbol;
  }

  /** The next word, or 0 past the end (constriction leaves the low bits zero there). */
  readWord() {
    return this.next < this.words.length ? this.words[this.next++] : 0;
  }
}

/** The last index `i < cdf.length - 1` with `cdf[i] <= quantile` (cdf[0] is 0). */
function lastAtMost(cdf, quantile) {
  let low = 0;
  let high = cdf.length - 1; // cdf[high] is 2^24, above every quantile
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (cdf[middle] <= quantile) low = middle;
    else high = middle;
  }
  return low;
}
