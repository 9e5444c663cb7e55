/**
 * The image from the de-gained latent ŷ: the synthesis on Python's tiles, then Python's
 * clipping, rounding and cropping (FrozenHyperprior.reconstruct_tiles and reconstruct_rgb,
 * aecodec/codecs/frozen.py).
 *
 *   ŷ (C, H, W) ─tiles of 48 latent elements, read with 2 more per side─► g_s
 *     ─keep the tile's own 16·48 pixels─► clip to [0, 1] ─×255 in float32, round half to even─►
 *     RGB uint8 (height, width, 3), cropped from the ×16 padding
 *
 * The tile geometry is Python's, so every pixel comes from the same synthesis window as in
 * Python and differs from it only by the float rounding of another runtime (±1 after
 * rounding). A margin of 2 latent elements makes tiling invisible to float rounding; half
 * of it does not (benchmarks/DECISIONS.md).
 */

import { STRIDE, spans } from "./entropy_decoder.js";

/** Synthesis tiles and their margin, in latent elements (frozen.py SYNTHESIS_TILE, SYNTHESIS_MARGIN). */
export const SYNTHESIS_TILE = 48;
export const SYNTHESIS_MARGIN = 2;

/**
 * The synthesis of one tile: ŷ (C, h, w) flat → the image (3, 16h, 16w) flat, RGB / 255,
 * unclipped (onnx_networks.js FloatGraph on synthesis.onnx in a page).
 *
 * @typedef {{run: (latent: Float32Array, shape: number[]) => Promise<ArrayLike<number>>}} TileSynthesis
 */

/**
 * Synthesizes and rounds the image tile by tile (reconstruct_rgb).
 *
 * @param {TileSynthesis} synthesis
 * @param {Float32Array} latent ŷ (C, H, W) flat (latent.js deGainedLatent).
 * @param {number[]} shape [C, H, W].
 * @param {number} height Image height in pixels, at most 16·H.
 * @param {number} width Image width in pixels, at most 16·W.
 * @param {(done: number, total: number) => void} [onProgress] Called after each tile.
 * @returns {Promise<Uint8Array>} RGB (height, width, 3) flat.
 */
export async function synthesizeRgb(synthesis, latent, shape, height, width, onProgress) {
  const [channels, latentHeight, latentWidth] = shape;
  const rgb = new Uint8Array(height * width * 3);
  // Storing into a Uint8ClampedArray clamps and rounds half to even, as np.round and astype(uint8).
  const rounded = new Uint8ClampedArray(rgb.buffer);
  const rowSpans = spans(latentHeight, SYNTHESIS_TILE, SYNTHESIS_MARGIN);
  const colSpans = spans(latentWidth, SYNTHESIS_TILE, SYNTHESIS_MARGIN);
  const total = rowSpans.length * colSpans.length;
  let done = 0;
  for (const rows of rowSpans) {
    for (const cols of colSpans) {
      const tileShape = [channels, rows.readEnd - rows.readStart, cols.readEnd - cols.readStart];
      const pixels = await synthesis.run(cutTile(latent, shape, rows, cols), tileShape);
      const tileHeight = STRIDE * tileShape[1];
      const tileWidth = STRIDE * tileShape[2];
      const plane = tileHeight * tileWidth;
      const top = STRIDE * rows.keepStart;
      const left = STRIDE * cols.keepStart;
      const bottom = Math.min(STRIDE * rows.keepEnd, height);
      const right = Math.min(STRIDE * cols.keepEnd, width);
      const rowShift = STRIDE * (rows.keepStart - rows.readStart) - top;
      const colShift = STRIDE * (cols.keepStart - cols.readStart) - left;
      for (let y = top; y < bottom; y++) {
        for (let x = left; x < right; x++) {
          const from = (y + rowShift) * tileWidth + x + colShift;
          const to = (y * width + x) * 3;
          for (let c = 0; c < 3; c++) rounded[to + c] = Math.fround(unit(pixels[c * plane + from]) * 255);
        }
      }
      onProgress?.(++done, total);
    }
  }
  return rgb;
}

/** The read window of one tile of ŷ, (C, rows, cols) flat. */
function cutTile(latent, [channels, height, width], rows, cols) {
  const tileWidth = cols.readEnd - cols.readStart;
  const tile = new Float32Array(channels * (rows.readEnd - rows.readStart) * tileWidth);
  for (let c = 0, i = 0; c < channels; c++) {
    for (let y = rows.readStart; y < rows.readEnd; y++, i += tileWidth) {
      const start = (c * height + y) * width + cols.readStart;
      tile.set(latent.subarray(start, start + tileWidth), i);
    }
  }
  return tile;
}

/** np.clip(value, 0, 1) of a float32 value. */
function unit(value) {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
