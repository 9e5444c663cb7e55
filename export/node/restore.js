#!/usr/bin/env node
// aecodec's denoise head in Node.js: one PNG through the backbone and head graphs.
//
//   node restore.js INPUT.png OUTPUT.png [--sigma S] [--head-dir DIR] [--backbone-dir DIR] [--threads N]
//
// Runs analysis.onnx (the codec's encoder, shared by every head) → head.onnx on the image
// and the four backbone outputs, with the noise level σ / 50 (σ on the 0–255 scale; without
// --sigma it is estimated as aecodec.heads.noise does), and writes the restored image. The
// whole image is one tile, which suits photos of a few megapixels; aecodec itself tiles.
// Prints, as JSON, the σ used and the time.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import ort from 'onnxruntime-node';

import { padToTensor, readPng, toRgb, writePng } from './images.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEIGHTS_DIR = join(HERE, '..', '..', 'weights');
const ONNX_DIR = join(WEIGHTS_DIR, 'onnx');
/** The folder of the manifest's default denoise head, when --head-dir does not name one. */
const defaultHeadDir = () => join(ONNX_DIR, JSON.parse(readFileSync(join(WEIGHTS_DIR, 'MANIFEST.json'), 'utf8')).default_heads.denoise);
const NOISE_SCALE = 50; // the head's noise_level input is σ / 50 (head.json)
const BLOCK = 16;
const PERCENTILE = 20;
const PURE_NOISE_RATIO = 0.927;

/** numpy.percentile with its default linear interpolation. */
function percentile(values, p) {
  const sorted = Float64Array.from(values).sort();
  const position = (p / 100) * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
}

/**
 * Blind noise σ (0–255 scale), as aecodec.heads.noise.estimate_sigma computes it: per channel,
 * |Immerkær's Laplacian difference| averaged over 16×16 blocks, the blocks' 20th percentile,
 * scaled to σ; the mean over channels.
 */
function estimateSigma({ width, height, rgb }) {
  const rows = Math.floor((height - 2) / BLOCK);
  const cols = Math.floor((width - 2) / BLOCK);
  if (rows === 0 || cols === 0) return 0;
  const at = (y, x, c) => Math.fround(rgb[(y * width + x) * 3 + c]);
  let sum = 0;
  for (let c = 0; c < 3; c++) {
    const blocks = new Float64Array(rows * cols);
    for (let y = 0; y < rows * BLOCK; y++) {
      for (let x = 0; x < cols * BLOCK; x++) {
        const response =
          at(y, x, c) - 2 * at(y, x + 1, c) + at(y, x + 2, c) -
          2 * at(y + 1, x, c) + 4 * at(y + 1, x + 1, c) - 2 * at(y + 1, x + 2, c) +
          at(y + 2, x, c) - 2 * at(y + 2, x + 1, c) + at(y + 2, x + 2, c);
        blocks[Math.floor(y / BLOCK) * cols + Math.floor(x / BLOCK)] += Math.abs(response) / (BLOCK * BLOCK);
      }
    }
    sum += (percentile(blocks, PERCENTILE) * Math.sqrt(Math.PI / 2)) / 6 / PURE_NOISE_RATIO;
  }
  return sum / 3;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      sigma: { type: 'string' },
      'head-dir': { type: 'string' },
      'backbone-dir': { type: 'string' },
      threads: { type: 'string', default: '0' },
    },
  });
  if (positionals.length !== 2) {
    throw new Error('usage: node restore.js INPUT.png OUTPUT.png [--sigma S] [--head-dir DIR] [--backbone-dir DIR] [--threads N]');
  }
  const [input, output] = positionals;
  const headDir = values['head-dir'] ?? defaultHeadDir();
  const card = JSON.parse(readFileSync(join(headDir, 'head.json'), 'utf8'));
  if (!card.inputs.some((tensor) => tensor.name === 'noise_level')) throw new Error(`${headDir} is not a denoise head`);
  const backboneDir = values['backbone-dir'] ?? join(ONNX_DIR, card.backbone.model);
  const options = { executionProviders: ['cpu'], intraOpNumThreads: Number(values.threads), interOpNumThreads: 1 };
  const [backbone, head] = await Promise.all([
    ort.InferenceSession.create(join(backboneDir, 'analysis.onnx'), options),
    ort.InferenceSession.create(join(headDir, 'head.onnx'), options),
  ]);
  const image = readPng(input);
  const sigma = values.sigma === undefined ? estimateSigma(image) : Number(values.sigma);
  if (!(sigma >= 0 && sigma <= 55)) throw new Error(`sigma must be from 0 to 55, got ${values.sigma}`);
  const started = performance.now();
  const tensor = padToTensor(image);
  const features = await backbone.run({ image: tensor });
  const feed = { image: tensor, noise_level: new ort.Tensor('float32', Float32Array.of(sigma / NOISE_SCALE), [1, 1, 1, 1]) };
  for (const name of ['features_2', 'features_4', 'features_8', 'latent']) feed[name] = features[name];
  const { restored } = await head.run(feed);
  const milliseconds = performance.now() - started;
  writePng(output, toRgb(restored, image.width, image.height));
  console.log(JSON.stringify({ input, output, width: image.width, height: image.height, sigma, milliseconds }, null, 2));
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
