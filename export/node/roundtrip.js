#!/usr/bin/env node
// aecodec in Node.js: one PNG through the exported ONNX graphs, everything but range coding.
//
//   node roundtrip.js INPUT.png OUTPUT.png [--quality 75] [--model-dir DIR] [--threads N]
//
// Runs analysis.onnx → gain → hyper_analysis.onnx → round → hyper_decoder.onnx (exact
// integers) → symbols → dequantize → inverse gain → synthesis.onnx, writes the decoded
// image as OUTPUT.png and prints, as JSON, the ideal bits of the symbols under the integer
// tables (what a range coder would spend, give or take a few bytes) and the PSNR. Every
// number it needs besides the graphs comes from the folder's JSON cards (gains.json,
// entropy_tables.json, hyper_decoder.json); see README.md.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import ort from 'onnxruntime-node';

import { clip, padToTensor, psnr, readPng, roundHalfEven, toRgb, writePng } from './images.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_MODEL_DIR = join(HERE, '..', '..', 'weights', 'onnx', 'hyperprior-v1');

// ---------------------------------------------------------------------------------------
// Numbers exactly as numpy computes them
// ---------------------------------------------------------------------------------------

/** Quality → rate parameter t, as gains.json's quality_to_rate says (hundredths, float64). */
function rateParameter(quality, gains) {
  const q = roundHalfEven(quality * 100) / 100;
  const [qMin, qMax] = gains.quality_range;
  const lowest = gains.lowest_rate_parameter;
  return lowest + ((q - qMin) / (qMax - qMin)) * (gains.knots - 1 - lowest);
}

/**
 * Per-channel gain at rate t from a knots × channels log table, step by step as gains.json's
 * interpolation says (aecodec.codecs.frozen.interpolate_gain): float64 throughout (JavaScript
 * numbers), rounded to float32 once at the end by the Float32Array.
 */
function interpolateGain(logTable, t) {
  const knots = logTable.length;
  const T = Math.min(t, knots - 1);
  const k = Math.min(Math.max(Math.floor(T), 0), knots - 2);
  const f = T - k;
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

/**
 * Symbols, their means and y-table indices on the latent grid (C, h, w), cropped from the
 * hyper-decoder's (C, 4a, 4b) grid.
 */
function quantizeLatent(gained, mean, logScale, deadzone, cards) {
  const [, channels, height, width] = gained.dims;
  const [, , gridHeight, gridWidth] = mean.dims;
  const { fraction_bits: fractionBits } = cards.hyperDecoder;
  const tables = cards.entropyTables;
  const count = channels * height * width;
  const symbols = new Float64Array(count);
  const means = new Float64Array(count);
  const bins = new Int32Array(count);
  for (let c = 0, i = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, i++) {
        const grid = (c * gridHeight + y) * gridWidth + x;
        means[i] = Number(mean.data[grid]) / 2 ** fractionBits;
        const bin = Math.floor((Number(logScale.data[grid]) - tables.scale_log_min) / tables.scale_bin_step);
        bins[i] = clip(bin, 0, tables.scale_bin_count - 1);
        symbols[i] = clip(roundSymbol(gained.data[i] - means[i], deadzone), -tables.latent_symbol_max, tables.latent_symbol_max);
      }
    }
  }
  return { symbols, means, bins };
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

function readCards(modelDir) {
  const read = (name) => JSON.parse(readFileSync(join(modelDir, name), 'utf8'));
  return { gains: read('gains.json'), entropyTables: read('entropy_tables.json'), hyperDecoder: read('hyper_decoder.json') };
}

async function openSessions(modelDir, threads) {
  const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 };
  const names = ['analysis', 'hyper_analysis', 'hyper_decoder', 'synthesis'];
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
  const quantized = quantizeLatent(gained, mean, logScale, lowRateDeadzone(t, cards.gains), cards);
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
      'model-dir': { type: 'string', default: DEFAULT_MODEL_DIR },
      threads: { type: 'string', default: '0' },
    },
  });
  if (positionals.length !== 2) {
    throw new Error('usage: node roundtrip.js INPUT.png OUTPUT.png [--quality 75] [--model-dir DIR] [--threads N]');
  }
  const [input, output] = positionals;
  const quality = Number(values.quality);
  const cards = readCards(values['model-dir']);
  if (!(quality >= cards.gains.quality_range[0] && quality <= cards.gains.quality_range[1])) {
    throw new Error(`quality must be within ${cards.gains.quality_range.join('–')}, got ${values.quality}`);
  }
  const sessions = await openSessions(values['model-dir'], Number(values.threads));
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
