/**
 * The encoder's quantization of the analysis latent: the twin of FrozenHyperprior.quantize
 * (aecodec/codecs/frozen.py) and of the rounding it uses (aecodec/codecs/rounding.py), from
 * the model's gains card (`gains.json` of `aecodec export`).
 *
 *   latent ─×gain(t)─► y_g ─hyper-analysis (a float graph, the caller's)─► z ─round, clip─► ẑ
 *   ẑ ─EntropyDecoder: h_s─► μ, bins;  s = round(y_g − μ) (dead zone below knot 0)
 *   with a context model: the anchors' μ refine the others' μ and bins, whose s are re-rounded
 *
 * The entropy parameters are an EntropyDecoder's, computed exactly as a decoder will from ẑ
 * and the anchors. The float steps are numpy's: y_g = float32(latent × gain) (the product of
 * two float32 values is exact in a double, so one rounding gives numpy's float32 product),
 * and y_g − μ in float64, so the symbols are Python's bit for bit; so is ẑ, given the same z.
 */

import { checkerboard, LATENT_SYMBOL_MAX } from "./entropy_decoder.js";
import { interpolateGain, rateParameter } from "./latent.js";
import { pyTuple, roundHalfEven } from "./pythonic.js";

/**
 * The hyper-analysis h_a: y_g (C, H, W) flat → z (N, ⌈H/4⌉, ⌈W/4⌉) flat, float32.
 *
 * @callback HyperAnalysis
 * @param {Float32Array} gained The gained latent y_g.
 * @param {number[]} shape [C, H, W].
 * @returns {ArrayLike<number> | Promise<ArrayLike<number>>}
 */

/**
 * Symbols and entropy parameters of `latent` at `quality` (FrozenHyperprior.quantize).
 *
 * @param {ArrayLike<number>} latent The analysis output (C, H, W) flat, float32 values.
 * @param {number[]} shape [C, H, W].
 * @param {number} quality 1 to 100, as the header will store it (rounded to hundredths).
 * @param {object} card The parsed gains card.
 * @param {HyperAnalysis} hyperAnalysis Runs h_a (onnxruntime-web on hyper_analysis.onnx in a page).
 * @param {import("./entropy_decoder.js").EntropyDecoder} entropy The model's decoder, whose
 *   h_s and context model give the entropy parameters (integer_networks.js or the
 *   onnxruntime graphs of onnx_networks.js: both are awaited).
 * @returns {Promise<{zHat: Int32Array, zShape: number[], ySymbols: Int32Array, yShape: number[],
 *   mean: Float64Array, bins: Uint8Array}>} As EntropyDecoder.decodeSymbols gives them back.
 * @throws {RangeError} A latent or z not of its shape's size, or a card of other channels.
 */
export async function quantize(latent, shape, quality, card, hyperAnalysis, entropy) {
  const [channels, height, width] = shape;
  if (channels !== card.channels || latent.length !== channels * height * width) {
    throw new RangeError(`latent of ${latent.length} values, shape ${pyTuple(shape)}, for a card of ${card.channels} channels`);
  }
  const t = rateParameter(card, quality);
  const gained = gainedLatent(latent, shape, interpolateGain(card.log_gain, t));
  const zShape = [entropy.hyperChannels, Math.ceil(height / 4), Math.ceil(width / 4)];
  const z = await hyperAnalysis(gained, shape);
  if (z.length !== zShape[0] * zShape[1] * zShape[2]) {
    throw new RangeError(`hyper-analysis gave ${z.length} values for shape ${pyTuple(zShape)}`);
  }
  const inputMax = entropy.hyper.inputMax;
  const zHat = Int32Array.from(z, (value) => clip(roundHalfEven(value), -inputMax, inputMax));
  const { mean, bins, logScale } = await entropy.entropyParametersAsync(zHat, zShape, shape);
  const deadzone = lowRateDeadzone(card, t);
  const ySymbols = roundSymbols(residual(gained, mean), deadzone);
  if (entropy.context) {
    // The anchors' symbols are final; the others are re-rounded against the refined μ.
    await entropy.refineNonAnchorsAsync(ySymbols, mean, bins, logScale, shape);
    for (const at of checkerboard(shape)[1]) ySymbols[at] = roundSymbol(gained[at] - mean[at], deadzone);
  }
  return { zHat, zShape, ySymbols, yShape: [...shape], mean, bins };
}

/**
 * y_g = float32(latent[c] × gain[c]): the input of the hyper-analysis, and what the symbols
 * are rounded from.
 *
 * @param {ArrayLike<number>} latent (C, H, W) flat, float32 values.
 * @param {number[]} shape [C, H, W].
 * @param {Float32Array} gain One gain per channel (latent.js interpolateGain of `log_gain`).
 * @returns {Float32Array}
 */
export function gainedLatent(latent, shape, gain) {
  const plane = shape[1] * shape[2];
  const gained = new Float32Array(latent.length);
  for (let c = 0, i = 0; c < shape[0]; c++) {
    for (let end = i + plane; i < end; i++) gained[i] = Math.fround(latent[i]) * gain[c];
  }
  return gained;
}

/**
 * The encoder's dead zone at rate `t` (low_rate_deadzone): the card's `per_rate_unit` ×
 * clip(−t, 0, 1), so only the qualities below knot 0 round with one.
 */
export function lowRateDeadzone(card, t) {
  return card.low_rate_deadzone.per_rate_unit * Math.min(1, Math.max(0, -t));
}

/**
 * Integer symbols of float64 residuals (round_symbols): half to even without a dead zone,
 * otherwise sign(r)·floor(|r| + 0.5 − deadzone); clipped to ±LATENT_SYMBOL_MAX.
 *
 * @param {ArrayLike<number>} residuals
 * @param {number} deadzone
 * @returns {Int32Array}
 */
export function roundSymbols(residuals, deadzone) {
  return Int32Array.from(residuals, (value) => roundSymbol(value, deadzone));
}

function roundSymbol(value, deadzone) {
  let rounded;
  if (deadzone) {
    // numpy adds the Python float 0.5 − deadzone to |r|, then floors.
    const magnitude = Math.floor(Math.abs(value) + (0.5 - deadzone));
    rounded = value < 0 ? -magnitude : magnitude;
  } else {
    rounded = roundHalfEven(value);
  }
  return clip(rounded, -LATENT_SYMBOL_MAX, LATENT_SYMBOL_MAX);
}

/** y_g − μ in float64, as numpy promotes float32 − float64. */
function residual(gained, mean) {
  return Float64Array.from(gained, (value, i) => value - mean[i]);
}

function clip(value, low, high) {
  return value < low ? low : value > high ? high : value;
}
