/**
 * The de-gained latent ŷ the synthesis graph decodes, from the decoded symbols and the
 * model's gains card (`gains.json` of `aecodec export`): the twin of the arithmetic of
 * FrozenHyperprior.reconstruct_tiles before it calls the synthesis (aecodec/codecs/frozen.py,
 * aecodec/codecs/rounding.py interpolate_gain).
 *
 *   quality ─► rate parameter t ─► inverse_gain(t): log-linear between the gain knots,
 *   the end segments extrapolated ─► ŷ[c] = float32(float32(symbols + mean) × inverse_gain[c])
 *
 * Every step follows the card's own description (`quality_to_rate`, `interpolation`,
 * `applied.inverse_gain`) in the same float64 operations, in the same order, with the same
 * two float32 roundings, so ŷ is Python's bit for bit: the synthesis then sees exactly the
 * input the Python decoder gives it.
 */

import { roundHalfEven } from "./pythonic.js";

/**
 * The rate parameter of a quality (FrozenHyperprior.rate_parameter, after the container's
 * rounding to hundredths): linear from the card's lowest to its highest rate parameter.
 *
 * @param {{quality_range: number[], lowest_rate_parameter: number, highest_rate_parameter: number}} card
 * @param {number} quality 1 to 100 (a header's quality is already in hundredths).
 * @returns {number}
 */
export function rateParameter(card, quality) {
  const hundredths = roundHalfEven(quality * 100) / 100;
  const [lowestQuality, highestQuality] = card.quality_range;
  const lowest = card.lowest_rate_parameter;
  const span = card.highest_rate_parameter - lowest;
  return lowest + ((hundredths - lowestQuality) / (highestQuality - lowestQuality)) * span;
}

/**
 * The per-channel gain at rate `t` from log gains at the knots (interpolate_gain).
 *
 * @param {number[][]} logTable knots × channels: the card's `log_gain` or `log_inverse_gain`.
 * @param {number} t Rate parameter.
 * @returns {Float32Array} One gain per channel: float64 arithmetic, one float32 rounding.
 */
export function interpolateGain(logTable, t) {
  const knots = logTable.length;
  const lower = Math.min(Math.max(Math.floor(t), 0), knots - 2);
  const fraction = t - lower;
  const below = logTable[lower];
  const above = logTable[lower + 1];
  return Float32Array.from(below, (value, c) => Math.exp(value * (1 - fraction) + above[c] * fraction));
}

/** The decoder's gains at a quality: `interpolateGain(card.log_inverse_gain, rateParameter(card, quality))`. */
export function inverseGain(card, quality) {
  return interpolateGain(card.log_inverse_gain, rateParameter(card, quality));
}

/**
 * ŷ, the synthesis graph's input: `float32(float32(symbols + mean) × inverseGain[c])`.
 *
 * The sum is exact in float64 (|symbols| ≤ 2^20 and μ is a multiple of 2^-8), and the
 * product of two float32 values is exact in float64, so rounding each once gives numpy's
 * float32 results.
 *
 * @param {ArrayLike<number>} ySymbols (C, H, W) flat, as entropy_decoder.js decodes them.
 * @param {ArrayLike<number>} mean Their means, same shape.
 * @param {number[]} shape [C, H, W].
 * @param {Float32Array} gains One inverse gain per channel.
 * @returns {Float32Array} ŷ (C, H, W) flat.
 * @throws {RangeError} `gains` does not have one value per channel.
 */
export function deGainedLatent(ySymbols, mean, shape, gains) {
  const [channels, height, width] = shape;
  if (gains.length !== channels) throw new RangeError(`${gains.length} gains for a latent of ${channels} channels`);
  const plane = height * width;
  const latent = new Float32Array(channels * plane);
  for (let c = 0, i = 0; c < channels; c++) {
    const gain = gains[c];
    for (let end = i + plane; i < end; i++) latent[i] = Math.fround(ySymbols[i] + mean[i]) * gain;
  }
  return latent;
}
