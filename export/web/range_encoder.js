/**
 * constriction's queue range encoder (`constriction.stream.queue.RangeEncoder`, the
 * `DefaultRangeEncoder` preset: u32 words, u64 state), encoding with the CDFs of
 * categorical.js: the twin of range_decoder.js, whose output it and constriction's decoder
 * both read.
 *
 * The state is held in BigInt so every step is the exact u64 wrapping arithmetic of
 * `encode_symbol` and `seal` in constriction/src/stream/queue.rs:
 *
 *   scale = range >> 24;  range = scale × p(s);  lower += scale × cdf(s)  (mod 2^64)
 *   range < 2^32 ─► emit the top word of lower, shift lower and range up one word
 *
 * A word is held back while the interval straddles a carry (lower + range wraps past 2^64):
 * constriction's "inverted situation", which counts the held words and settles them, with
 * or without the carry, once the interval lies on one side. `words()` seals a copy of the
 * state as `get_compressed()` does (the settled held words, the top word of lower + 2^32 - 1,
 * and a zero word where that alone would not pin the interval), so encoding may go on after it.
 */

import { PRECISION } from "./categorical.js";

const MASK = (1n << 64n) - 1n;
const WORD_BITS = 32n;
const WORD_MAX = 0xffffffff;
const RENORMALIZE_BELOW = 1n << 32n;
const PRECISION_BITS = BigInt(PRECISION);
const LOW_WORD_ONES = (1n << 32n) - 1n;

/** The message of the KeyError constriction raises for a symbol outside the model. */
const IMPOSSIBLE_SYMBOL = "Tried to encode symbol that has zero probability under the used entropy model.";

export class RangeEncoder {
  constructor() {
    this.bulk = [];
    this.lower = 0n;
    this.range = MASK;
    // The inverted situation: how many words are held back (0: none), and the first of them.
    this.inverted = 0;
    this.firstInvertedWord = 0;
  }

  /**
   * Encodes one symbol.
   *
   * @param {number} symbol 0 .. cdf.length - 2.
   * @param {Uint32Array} cdf A CDF from categorical.js.
   * @throws {RangeError} For a symbol outside the CDF or of zero probability, where
   *   constriction raises KeyError (with this message).
   */
  encode(symbol, cdf) {
    if (!(Number.isInteger(symbol) && symbol >= 0 && symbol < cdf.length - 1 && cdf[symbol + 1] > cdf[symbol])) {
      throw new RangeError(IMPOSSIBLE_SYMBOL);
    }
    const left = BigInt(cdf[symbol]);
    const scale = this.range >> PRECISION_BITS;
    this.range = scale * (BigInt(cdf[symbol + 1]) - left);
    const newLower = (this.lower + scale * left) & MASK;
    if (this.inverted && newLower + this.range <= MASK) {
      // The interval no longer straddles the carry: settle the held words.
      this.flushInverted(newLower < this.lower);
    }
    this.lower = newLower;
    if (this.range < RENORMALIZE_BELOW) {
      this.range <<= WORD_BITS;
      const lowerWord = Number(this.lower >> WORD_BITS);
      this.lower = (this.lower << WORD_BITS) & MASK;
      if (this.inverted) this.inverted += 1;
      else if (this.lower + this.range <= MASK) this.bulk.push(lowerWord);
      else {
        this.inverted = 1;
        this.firstInvertedWord = lowerWord;
      }
    }
  }

  /**
   * The compressed words so far (`get_compressed()`); the encoder stays usable.
   *
   * @returns {Uint32Array} Empty when no symbol was encoded.
   */
  words() {
    if (this.range === MASK) return new Uint32Array(0); // only before the first symbol
    const point = (this.lower + LOW_WORD_ONES) & MASK;
    const sealed = [...this.bulk];
    if (this.inverted) sealed.push(...this.heldWords(point < this.lower));
    const pointWord = Number(point >> WORD_BITS);
    sealed.push(pointWord);
    const upperWord = Number(((this.lower + this.range) & MASK) >> WORD_BITS);
    if (upperWord === pointWord) sealed.push(0);
    return Uint32Array.from(sealed);
  }

  /** Writes the held-back words and leaves the inverted situation. */
  flushInverted(carried) {
    this.bulk.push(...this.heldWords(carried));
    this.inverted = 0;
  }

  /** The held-back words: the first one plus the carry, then all zeros, or as held, then all ones. */
  heldWords(carried) {
    const held = new Array(this.inverted).fill(carried ? 0 : WORD_MAX);
    held[0] = carried ? (this.firstInvertedWord + 1) >>> 0 : this.firstInvertedWord;
    return held;
  }
}
