#!/usr/bin/env node
// aecodec in Node.js: one PNG through the exported ONNX graphs, everything but range coding.
//
//   node roundtrip.js INPUT.png OUTPUT.png [--quality 75] [--model-dir DIR] [--threads N]
//
// Runs analysis.onnx → gain → hyper_analysis.onnx → round → hyper_decoder.onnx (exact
// integers) → symbols → dequantize → inverse gain → synthesis.onnx, writes the decoded
// image as OUTPUT.png and prints, as JSON, the ideal bits of the symbols under the integer
// tables (what a range coder would spend, give or take a few bytes) and the PSNR. A model
// with a checkerboard context model (context.onnx in its folder) quantizes in two passes:
// the anchors with the hyper-decoder's mean, then context.onnx (exact integers) refines the
// mean and log-scale of the others, which are rounded again. Every number it needs besides
// the graphs comes from the folder's JSON cards (gains.json, entropy_tables.json,
// hyper_decoder.json, context.json); see README.md.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import ort from 'onnxruntime-node';

import { clip, padToTensor, psnr, readPng, roundHalfEven, toRgb, writePng } from './images.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEIGHTS_DIR = join(HERE, '..', '..', 'weights');
/** The folder of the manifest's default codec, when --model-dir does not name one. */
const defaultModelDir = () => join(WEIGHTS_DIR, 'onnx', JSON.parse(readFileSync(join(WEIGHTS_DIR, 'MANIFEST.json'), 'utf8')).default);

// ---------------------------------------------------------------------------------------
// Numbers exactly as numpy computes them
// ---------------------------------------------------------------------------------------

/** Quality → rate parameter t, as gains.json's quality_to_rate says (hundredths, float64). */
function rateParameter(quality, gains) {
  const q = roundHalfEven(quality * 100) / 100;
  const [qMin, qMax] = gains.quality_range;
  const lowest = gains.lowest_rate_parameter;
  return lowest + ((q - qMin) / (qMax - qMin)) * (gains.highest_rate_parameter - lowest);
}

/**
 * Per-channel gain at rate t from a knots × channels log table, step by step as gains.json's
 * interpolation says (aecodec.codecs.frozen.interpolate_gain): float64 throughout (JavaScript
 * numbers), rounded to float32 once at the end by the Float32Array.
 */
function interpolateGain(logTable, t) {
  const knots = logTable.length;
  const k = Math.min(Math.max(Math.floor(t), 0), knots - 2);
  const f = t - k;
  return Float32Array.from(logTable[k], (low, c) => Math.exp(low * (1 - f) + logTable[k + 1][c] * f));
}

// ---------------------------------------------------------------------------------------
// Latents and bits
// ---------------------------------------------------------------------------------------

/** Multiply each channel of a (1, C, H, W) tensor by a float32 gain, rounding to float32. */
function scaleChannels(tensor, gain) {
  const plane = tensor.dims[2] * tensor.dims[3];
  const out = Float32Array.from(tensor.data, (value, i) => value * gain[Math.floor(i / plane)]);
  return new ort.Tensor('float32', out, tensor.dims);
}

/** ẑ = clip(round(z), ±input_max) as int64, the hyper-decoder's input. */
function quantizeHyperLatent(z, inputMax) {
  const data = BigInt64Array.from(z.data, (value) => BigInt(clip(roundHalfEven(value), -inputMax, inputMax)));
  return new ort.Tensor('int64', data, z.dims);
}

/** The dead zone δ at rate t, as gains.json's low_rate_deadzone says (0 from knot 0 up). */
function lowRateDeadzone(t, gains) {
  return gains.low_rate_deadzone.per_rate_unit * Math.min(1, Math.max(0, -t));
}

/** round_half_to_even(r) without a dead zone, sign(r) × floor(|r| + 0.5 − δ) with one. */
function roundSymbol(residual, deadzone) {
  return deadzone === 0 ? roundHalfEven(residual) : Math.sign(residual) * Math.floor(Math.abs(residual) + 0.5 - deadzone);
}

/** An int64 (1, C, 4a, 4b) output of the hyper-decoder cropped to the latent grid (1, C, h, w). */
function cropToLatent(tensor, height, width) {
  const [, channels, gridHeight, gridWidth] = tensor.dims;
  const data = new BigInt64Array(channels * height * width);
  for (let c = 0, i = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, i++) {
        data[i] = tensor.data[(c * gridHeight + y) * gridWidth + x];
      }
    }
  }
  return new ort.Tensor('int64', data, [1, channels, height, width]);
}

/** Symbols, their means and y-table indices from fixed-point mean and log-scale on the latent grid. */
function quantizeLatent(gained, mean, logScale, deadzone, cards) {
  const { fraction_bits: fractionBits } = cards.hyperDecoder;
  const tables = cards.entropyTables;
  const count = gained.data.length;
  const symbols = new Float64Array(count);
  const means = new Float64Array(count);
  const bins = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    means[i] = Number(mean.data[i]) / 2 ** fractionBits;
    const bin = Math.floor((Number(logScale.data[i]) - tables.scale_log_min) / tables.scale_bin_step);
    bins[i] = clip(bin, 0, tables.scale_bin_count - 1);
    symbols[i] = clip(roundSymbol(gained.data[i] - means[i], deadzone), -tables.latent_symbol_max, tables.latent_symbol_max);
  }
  return { symbols, means, bins };
}

/** Fixed-point ŷ_g = symbols × 2^fraction_bits + mean as int64: context.onnx's `anchors` (it reads only the anchors). */
function fixedPointLatent(symbols, mean, fractionBits) {
  const unit = BigInt(2 ** fractionBits);
  return new ort.Tensor('int64', BigInt64Array.from(symbols, (symbol, i) => BigInt(symbol) * unit + mean.data[i]), mean.dims);
}

/**
 * The latent's symbols, means and table indices, as aecodec.codecs.frozen quantizes: with h_s's
 * mean and log-scale, and with a context model in two passes as context.json says. The second
 * pass rounds every element again from the refined parameters; at the anchors context.onnx
 * returns its inputs, so the anchors' symbols are those of the first pass.
 */
async function quantize(gained, mean, logScale, deadzone, sessions, cards) {
  const hyperPass = quantizeLatent(gained, mean, logScale, deadzone, cards);
  if (!sessions.context) {
    return hyperPass;
  }
  const anchors = fixedPointLatent(hyperPass.symbols, mean, cards.context.fraction_bits);
  const refined = await sessions.context.run({ anchors, mean, log_scale: logScale });
  return quantizeLatent(gained, refined.refined_mean, refined.refined_log_scale, deadzone, cards);
}

/** Bits of each symbol under its table: −log2 of its integer probability, + 32 if escaped. */
function idealBits(symbols, tableOf, tables, precisionBits, escapeBits) {
  let bits = 0;
  for (let i = 0; i < symbols.length; i++) {
    const table = tableOf(i);
    const start = tables.offsets[table];
    const escape = tables.offsets[table + 1] - 1;
    const position = start + symbols[i] - tables.minima[table];
    const outside = position < start || position >= escape;
    bits += precisionBits - Math.log2(tables.pmf[outside ? escape : position]) + (outside ? escapeBits : 0);
  }
  return bits;
}

/** ŷ = float32(float32(symbols + mean) × inverse_gain), the synthesis input. */
function dequantize({ symbols, means }, dims, inverseGain) {
  const plane = dims[2] * dims[3];
  const data = Float32Array.from(symbols, (symbol, i) => Math.fround(symbol + means[i]) * inverseGain[Math.floor(i / plane)]);
  return new ort.Tensor('float32', data, dims);
}

// ---------------------------------------------------------------------------------------
// The codec
// ---------------------------------------------------------------------------------------

/** The folder's cards; `context` only for a model with a context model (context.json). */
function readCards(modelDir) {
  const read = (name) => JSON.parse(readFileSync(join(modelDir, name), 'utf8'));
  const cards = { gains: read('gains.json'), entropyTables: read('entropy_tables.json'), hyperDecoder: read('hyper_decoder.json') };
  if (existsSync(join(modelDir, 'context.json'))) {
    cards.context = read('context.json');
  }
  return cards;
}

async function openSessions(modelDir, threads, cards) {
  const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 };
  const names = ['analysis', 'hyper_analysis', 'hyper_decoder', 'synthesis', ...(cards.context ? ['context'] : [])];
  const sessions = await Promise.all(names.map((name) => ort.InferenceSession.create(join(modelDir, `${name}.onnx`), options)));
  return Object.fromEntries(names.map((name, i) => [name, sessions[i]]));
}

/** Encode and decode one image in memory; returns the decoded image and the bit counts. */
async function roundTrip(image, quality, sessions, cards) {
  const t = rateParameter(quality, cards.gains);
  const { latent } = await sessions.analysis.run({ image: padToTensor(image) });
  const gained = scaleChannels(latent, interpolateGain(cards.gains.log_gain, t));
  const { hyper_latent: z } = await sessions.hyper_analysis.run({ gained_latent: gained });
  const zHat = quantizeHyperLatent(z, cards.hyperDecoder.input_max);
  const { mean, log_scale: logScale } = await sessions.hyper_decoder.run({ quantized_hyper_latent: zHat });
  const [, , height, width] = gained.dims;
  const [latentMean, latentLogScale] = [mean, logScale].map((tensor) => cropToLatent(tensor, height, width));
  const quantized = await quantize(gained, latentMean, latentLogScale, lowRateDeadzone(t, cards.gains), sessions, cards);
  const tables = cards.entropyTables;
  const zPlane = z.dims[2] * z.dims[3];
  const zSymbols = Float64Array.from(zHat.data, Number);
  const zBits = idealBits(zSymbols, (i) => Math.floor(i / zPlane), tables.z_tables, tables.precision_bits, tables.escape_value_bits);
  const yBits = idealBits(quantized.symbols, (i) => quantized.bins[i], tables.y_tables, tables.precision_bits, tables.escape_value_bits);
  const yHat = dequantize(quantized, gained.dims, interpolateGain(cards.gains.log_inverse_gain, t));
  const { image: decoded } = await sessions.synthesis.run({ latent: yHat });
  return { decoded: toRgb(decoded, image.width, image.height), rateParameter: t, zBits, yBits };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quality: { type: 'string', default: '75' },
      'model-dir': { type: 'string' },
      threads: { type: 'string', default: '0' },
    },
  });
  if (positionals.length !== 2) {
    throw new Error('usage: node roundtrip.js INPUT.png OUTPUT.png [--quality 75] [--model-dir DIR] [--threads N]');
  }
  const [input, output] = positionals;
  const quality = Number(values.quality);
  const modelDir = values['model-dir'] ?? defaultModelDir();
  const cards = readCards(modelDir);
  if (!(quality >= cards.gains.quality_range[0] && quality <= cards.gains.quality_range[1])) {
    throw new Error(`quality must be within ${cards.gains.quality_range.join('–')}, got ${values.quality}`);
  }
  const sessions = await openSessions(modelDir, Number(values.threads), cards);
  const image = readPng(input);
  const started = performance.now();
  const result = await roundTrip(image, quality, sessions, cards);
  const milliseconds = performance.now() - started;
  writePng(output, result.decoded);
  const bits = result.zBits + result.yBits;
  const report = {
    input,
    output,
    width: image.width,
    height: image.height,
    quality,
    rate_parameter: result.rateParameter,
    ideal_bits: { z: result.zBits, y: result.yBits, total: bits },
    bpp: bits / (image.width * image.height),
    psnr: psnr(image.rgb, result.decoded.rgb),
    milliseconds,
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
