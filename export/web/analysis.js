/**
 * The latent of an RGB image: the analysis g_a on Python's tiles (FrozenHyperprior.analyze,
 * aecodec/codecs/frozen.py) of the image edge-padded to a multiple of 16
 * (aecodec/imageio.py pad_edges), the inverse of synthesis.js's path.
 *
 *   RGB uint8 (height, width, 3) ─repeat the last row and column to ×16─►
 *     tiles of 512 pixels, read with 32 more per side ─uint8 → float32 / 255, (3, h, w)─► g_a
 *     ─keep the tile's own latent elements─► y (C, ⌈height/16⌉, ⌈width/16⌉) float32
 *
 * The tiles and their input floats are Python's bit for bit: numpy divides in float32, and a
 * quotient of two float32 values rounded from a double is the correctly rounded float32
 * quotient. The latent then differs from Python's only by the float summation of another
 * runtime (a few ulp), which rounds a few symbols the other way, if any. A margin of 32
 * pixels makes the tiling itself invisible (aecodec/codecs/tiling.py).
 */

import { STRIDE, spans } from "./entropy_decoder.js";

/** Analysis tiles and their margin, in pixels (frozen.py ANALYSIS_TILE, ANALYSIS_MARGIN). */
export const ANALYSIS_TILE = 512;
export const ANALYSIS_MARGIN = 32;

/** float32(v / 255) for every uint8 value v: the analysis graph's input scale. */
const UNIT_VALUES = Float32Array.from({ length: 256 }, (_, value) => value / 255);

/**
 * The analysis of one tile: an image (3, h, w) flat, RGB / 255, h and w multiples of 16 →
 * its latent (C, h/16, w/16) flat (onnx_networks.js FloatGraph on analysis.onnx in a page).
 *
 * @typedef {{run: (image: Float32Array, shape: number[]) => Promise<Float32Array>}} TileAnalysis
 */

/**
 * Analyzes an image tile by tile (analyze of the padded image).
 *
 * @param {TileAnalysis} analysis
 * @param {number} channels The latent's channels C (the model's latentChannels).
 * @param {Uint8Array} rgb The image, (height, width, 3) flat.
 * @param {number} width Image width in pixels.
 * @param {number} height Image height in pixels.
 * @param {(done: number, total: number) => void} [onProgress] Called after each tile.
 * @returns {Promise<{latent: Float32Array, shape: number[]}>} y (C, H, W) flat and [C, H, W].
 * @throws {RangeError} The graph gave a tile's latent of another size.
 */
export async function analyzeRgb(analysis, channels, rgb, width, height, onProgress) {
  const shape = [channels, Math.ceil(height / STRIDE), Math.ceil(width / STRIDE)];
  const [, latentHeight, latentWidth] = shape;
  const latent = new Float32Array(channels * latentHeight * latentWidth);
  const rowSpans = spans(STRIDE * latentHeight, ANALYSIS_TILE, ANALYSIS_MARGIN);
  const colSpans = spans(STRIDE * latentWidth, ANALYSIS_TILE, ANALYSIS_MARGIN);
  const total = rowSpans.length * colSpans.length;
  let done = 0;
  for (const rows of rowSpans) {
    for (const cols of colSpans) {
      const tileShape = [3, rows.readEnd - rows.readStart, cols.readEnd - cols.readStart];
      const out = await analysis.run(cutTile(rgb, width, height, rows, cols), tileShape);
      const outHeight = tileShape[1] / STRIDE;
      const outWidth = tileShape[2] / STRIDE;
      if (out.length !== channels * outHeight * outWidth) {
        throw new RangeError(`the analysis gave ${out.length} values for a latent tile of ${channels}×${outHeight}×${outWidth}`);
      }
      // The tile's own latent rows and columns (Span.kept), into their place in y.
      const [readTop, readLeft] = [rows.readStart / STRIDE, cols.readStart / STRIDE];
      const [left, right] = [cols.keepStart / STRIDE, cols.keepEnd / STRIDE];
      for (let c = 0; c < channels; c++) {
        for (let y = rows.keepStart / STRIDE; y < rows.keepEnd / STRIDE; y++) {
          const from = (c * outHeight + y - readTop) * outWidth + left - readLeft;
          latent.set(out.subarray(from, from + right - left), (c * latentHeight + y) * latentWidth + left);
        }
      }
      onProgress?.(++done, total);
    }
  }
  return { latent, shape };
}

/**
 * The read window of one tile of the padded image as the graph's input, (3, rows, cols)
 * float32 flat: pixels past the image's last row or column repeat it (pad_edges).
 */
function cutTile(rgb, width, height, rows, cols) {
  const tileWidth = cols.readEnd - cols.readStart;
  const plane = (rows.readEnd - rows.readStart) * tileWidth;
  const tile = new Float32Array(3 * plane);
  for (let y = rows.readStart, i = 0; y < rows.readEnd; y++) {
    const row = Math.min(y, height - 1) * width;
    for (let x = cols.readStart; x < cols.readEnd; x++, i++) {
      const at = 3 * (row + Math.min(x, width - 1));
      tile[i] = UNIT_VALUES[rgb[at]];
      tile[i + plane] = UNIT_VALUES[rgb[at + 1]];
      tile[i + 2 * plane] = UNIT_VALUES[rgb[at + 2]];
    }
  }
  return tile;
}
