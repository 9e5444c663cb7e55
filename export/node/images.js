// Image and number helpers shared by roundtrip.js and restore.js: PNG in and out, padding
// to the graphs' multiple of 16, and rounding exactly as numpy rounds.

import { readFileSync, writeFileSync } from 'node:fs';

import ort from 'onnxruntime-node';
import pngjs from 'pngjs';

export const STRIDE = 16; // images are padded to a multiple of g_a's stride (the cards' padding_multiple)

/** numpy's round(): halves go to the even neighbour (Math.round sends them up). */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function clip(x, low, high) {
  return Math.min(Math.max(x, low), high);
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

/** An 8-bit PNG as {width, height, rgb: Uint8Array (H·W·3)}; alpha is dropped. */
export function readPng(path) {
  const png = pngjs.PNG.sync.read(readFileSync(path)); // always RGBA, 8 bits per sample
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgb[i] = png.data[j];
    rgb[i + 1] = png.data[j + 1];
    rgb[i + 2] = png.data[j + 2];
  }
  return { width: png.width, height: png.height, rgb };
}

export function writePng(path, { width, height, rgb }) {
  const png = new pngjs.PNG({ width, height, colorType: 2 });
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    png.data[j] = rgb[i];
    png.data[j + 1] = rgb[i + 1];
    png.data[j + 2] = rgb[i + 2];
    png.data[j + 3] = 255;
  }
  writeFileSync(path, pngjs.PNG.sync.write(png, { colorType: 2 }));
}

/** (1, 3, H', W') float32 RGB / 255, edge-padded to multiples of 16 (aecodec.pipeline._pad). */
export function padToTensor({ width, height, rgb }) {
  const paddedHeight = Math.ceil(height / STRIDE) * STRIDE;
  const paddedWidth = Math.ceil(width / STRIDE) * STRIDE;
  const data = new Float32Array(3 * paddedHeight * paddedWidth);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < paddedHeight; y++) {
      const row = Math.min(y, height - 1) * width;
      for (let x = 0; x < paddedWidth; x++) {
        data[(c * paddedHeight + y) * paddedWidth + x] = rgb[(row + Math.min(x, width - 1)) * 3 + c] / 255;
      }
    }
  }
  return new ort.Tensor('float32', data, [1, 3, paddedHeight, paddedWidth]);
}

/** Decoded (1, 3, H', W') floats → cropped RGB uint8: clip, × 255 in float32, round half to even. */
export function toRgb(image, width, height) {
  const [, , paddedHeight, paddedWidth] = image.dims;
  const rgb = new Uint8Array(width * height * 3);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const value = clip(image.data[(c * paddedHeight + y) * paddedWidth + x], 0, 1);
        rgb[(y * width + x) * 3 + c] = roundHalfEven(Math.fround(value * 255));
      }
    }
  }
  return { width, height, rgb };
}

/** PSNR-RGB in dB: the MSE over every sample of every channel (aecodec.metrics.psnr). */
export function psnr(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

