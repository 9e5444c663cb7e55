/**
 * The public quality scale and the check every encoder entry applies: the twin of
 * aecodec/codecs/quality.py. Quality is continuous from 1 to 100; the container stores it
 * in hundredths, so the encoder codes with exactly the value the decoder reads back.
 */

import { InputError } from "./errors.js";
import { pyFormatG, roundHalfEven } from "./pythonic.js";

export const QUALITY_MIN = 1;
export const QUALITY_MAX = 100;

/**
 * `quality` rounded to hundredths (checked_quality), or Python's one-line InputError.
 *
 * Python takes whatever `float()` takes; a JS caller passes a number, and anything else (a
 * string from a form field included: the caller converts it) is refused as not a number.
 *
 * @param {number} quality
 * @returns {number}
 * @throws {InputError} Not a number, or not from 1 to 100 (NaN included), in Python's words.
 */
export function checkedQuality(quality) {
  if (typeof quality !== "number") {
    throw new InputError(`quality must be a number from ${pyFormatG(QUALITY_MIN)} to ${pyFormatG(QUALITY_MAX)}`);
  }
  if (!(quality >= QUALITY_MIN && quality <= QUALITY_MAX)) {
    throw new InputError(`quality must be from ${pyFormatG(QUALITY_MIN)} to ${pyFormatG(QUALITY_MAX)}, got ${pyFormatG(quality)}`);
  }
  return roundHalfEven(quality * 100) / 100;
}
