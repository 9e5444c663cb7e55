/**
 * The exact integer networks that choose the probability tables: the hyper-synthesis h_s
 * (aecodec/entropy/integer_hyper.py) and the checkerboard context model
 * (aecodec/entropy/integer_context.py).
 *
 * Their outputs select and shift the range coder's tables, so they must agree with Python
 * to the last integer. Every tensor here is an integer held in a float64, and every product
 * and partial sum stays an integer below 2^52 (the bound Python proves when it freezes a
 * network), so float64 arithmetic is exact in any summation order: these loops give the
 * numbers numpy's matrix products give. Fixed point: activations in units of 2^-8, weights
 * 2^-16, biases 2^-24; `rescale` rounds an accumulator back to activation units, half up.
 *
 * Tensors are flat Float64Arrays in C order: (channels, height, width).
 */

export const ACTIVATION_FRACTION_BITS = 8;
export const WEIGHT_FRACTION_BITS = 16;
const ACTIVATION_UNIT = 2 ** ACTIVATION_FRACTION_BITS;
const HALF_WEIGHT_UNIT = 2 ** (WEIGHT_FRACTION_BITS - 1);
const WEIGHT_UNIT = 2 ** WEIGHT_FRACTION_BITS;

/** Offsets (row, column) of the 5×5 window that hold anchors around a non-anchor. */
export const CONTEXT_TAPS = [];
for (let dy = -2; dy <= 2; dy++) {
  for (let dx = -2; dx <= 2; dx++) if ((dy + dx) % 2) CONTEXT_TAPS.push([dy, dx]);
}

/**
 * One frozen integer layer: `weight` is (rows, columns) flat, as stored in the weights file.
 *
 * @typedef {{weight: Float64Array, bias: Float64Array, rows: number, columns: number}} Layer
 */

/** The integer hyper-synthesis: ẑ (C, h, w) → mean and log-scale (M, 4h, 4w), units 2^-8. */
export class IntegerHyperSynthesis {
  /**
   * @param {Layer[]} layers The 3×3 convolutions, weight columns in order `channel * 9 + tap`.
   * @param {number} activationMax Clip of hidden activations, in real units.
   * @param {number} inputMax Largest |ẑ| the network is exact for.
   */
  constructor(layers, activationMax, inputMax) {
    this.layers = layers;
    this.activationMax = activationMax;
    this.inputMax = inputMax;
  }

  /**
   * @param {ArrayLike<number>} zHat Integer hyper-latent, (channels, height, width).
   * @returns {{mean: Float64Array, logScale: Float64Array, channels: number, height: number, width: number}}
   * @throws {RangeError} Some |ẑ| exceeds `inputMax` (Python raises ValueError).
   */
  run(zHat, channels, height, width) {
    let x = new Float64Array(zHat.length);
    for (let i = 0; i < zHat.length; i++) {
      if (Math.abs(zHat[i]) > this.inputMax) {
        throw new RangeError("hyper-latent outside the range the integer network is exact for");
      }
      x[i] = zHat[i] * ACTIVATION_UNIT;
    }
    const ceiling = this.activationMax * ACTIVATION_UNIT;
    const last = this.layers.length - 1;
    for (let index = 0; index < last; index++) {
      const layer = this.layers[index];
      const out = conv3x3(x, channels, height, width, layer);
      for (let i = 0; i < out.length; i++) out[i] = clip(rescale(out[i]), 0, ceiling);
      x = depthToSpace(out, layer.rows, height, width);
      [channels, height, width] = [layer.rows / 4, height * 2, width * 2];
    }
    const out = conv3x3(x, channels, height, width, this.layers[last]);
    for (let i = 0; i < out.length; i++) out[i] = rescale(out[i]);
    const half = out.length / 2;
    return {
      mean: out.subarray(0, half), logScale: out.subarray(half),
      channels: this.layers[last].rows / 2, height, width,
    };
  }
}

/** The integer checkerboard context model, evaluated at non-anchors only. */
export class IntegerCheckerboardContext {
  /**
   * @param {Layer[]} layers Context (C, M·12; column `channel * 12 + tap`), hidden
   *   (C, C + 2M) and output (2M, C) layers.
   * @param {number} inputMax Clip of every input (ŷ, μ, log σ), in real units.
   * @param {number} activationMax Clip of hidden activations, in real units.
   */
  constructor(layers, inputMax, activationMax) {
    this.layers = layers;
    this.inputMax = inputMax;
    this.activationMax = activationMax;
  }

  /**
   * Entropy parameters of a block of latent rows after the context refinement
   * (IntegerCheckerboardContext.refine).
   *
   * @param {ArrayLike<number>} yHat Fixed-point ŷ (channels, height, width) of a window of
   *   whole latent rows whose first row is an even latent row; only anchors are read.
   * @param {ArrayLike<number>} mean Hyperprior mean (channels, rowStop - rowStart, width).
   * @param {ArrayLike<number>} logScale Hyperprior log-scale, same shape.
   * @param {number} rowStart First window row to refine.
   * @param {number} rowStop One past the last.
   * @returns {{mean: Float64Array, logScale: Float64Array}} Unchanged at anchors; μ + Δμ
   *   and clip(log σ) + Δlog σ at non-anchors.
   */
  refine(yHat, mean, logScale, channels, height, width, rowStart, rowStop) {
    const limit = this.inputMax * ACTIVATION_UNIT;
    const ceiling = this.activationMax * ACTIVATION_UNIT;
    const rows = rowStop - rowStart;
    const refinedMean = Float64Array.from(mean);
    const refinedLogScale = Float64Array.from(logScale);
    const positions = []; // [window row, column] of each non-anchor of the block
    for (let row = rowStart; row < rowStop; row++) {
      for (let column = (row + 1) % 2; column < width; column += 2) positions.push([row, column]);
    }
    const count = positions.length;
    if (!count) return { mean: refinedMean, logScale: refinedLogScale };
    const taps = CONTEXT_TAPS.length;
    const patches = new Float64Array(channels * taps * count);
    for (let p = 0; p < count; p++) {
      const [row, column] = positions[p];
      for (let k = 0; k < taps; k++) {
        const y = row + CONTEXT_TAPS[k][0];
        const x = column + CONTEXT_TAPS[k][1];
        if (y < 0 || y >= height || x < 0 || x >= width) continue;
        for (let m = 0; m < channels; m++) {
          patches[(m * taps + k) * count + p] = clip(yHat[(m * height + y) * width + x], -limit, limit);
        }
      }
    }
    const [contextLayer, hiddenLayer, outputLayer] = this.layers;
    const features = contextLayer.rows;
    const inputs = new Float64Array((features + 2 * channels) * count);
    const context = matmul(contextLayer, patches, count);
    for (let i = 0; i < features * count; i++) inputs[i] = clip(rescale(context[i]), 0, ceiling);
    for (let p = 0; p < count; p++) {
      const [row, column] = positions[p];
      for (let m = 0; m < channels; m++) {
        const at = (m * rows + row - rowStart) * width + column;
        inputs[(features + m) * count + p] = clip(mean[at], -limit, limit);
        inputs[(features + channels + m) * count + p] = clip(logScale[at], -limit, limit);
      }
    }
    const hidden = matmul(hiddenLayer, inputs, count);
    for (let i = 0; i < hidden.length; i++) hidden[i] = clip(rescale(hidden[i]), 0, ceiling);
    const delta = matmul(outputLayer, hidden, count);
    for (let p = 0; p < count; p++) {
      const [row, column] = positions[p];
      for (let m = 0; m < channels; m++) {
        const at = (m * rows + row - rowStart) * width + column;
        refinedMean[at] = mean[at] + rescale(delta[m * count + p]);
        refinedLogScale[at] = clip(logScale[at], -limit, limit) + rescale(delta[(channels + m) * count + p]);
      }
    }
    return { mean: refinedMean, logScale: refinedLogScale };
  }
}

/** Accumulator (units 2^-24) → activation (units 2^-8), rounding half up. */
function rescale(accumulator) {
  return Math.floor((accumulator + HALF_WEIGHT_UNIT) / WEIGHT_UNIT);
}

function clip(value, low, high) {
  return value < low ? low : value > high ? high : value;
}

/** `weight @ input + bias` for input (columns, count): (rows, count), exact for integers. */
function matmul(layer, input, count) {
  const { weight, bias, rows, columns } = layer;
  const out = new Float64Array(rows * count);
  for (let o = 0; o < rows; o++) {
    const base = o * count;
    out.fill(bias[o], base, base + count);
    for (let c = 0; c < columns; c++) {
      const w = weight[o * columns + c];
      if (w === 0) continue;
      const from = c * count;
      for (let p = 0; p < count; p++) out[base + p] += w * input[from + p];
    }
  }
  return out;
}

/** 'Same' 3×3 convolution of x (channels, height, width): im2col, then one matmul. */
function conv3x3(x, channels, height, width, layer) {
  const positions = height * width;
  const patches = new Float64Array(channels * 9 * positions);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < 9; k++) {
      const dy = Math.floor(k / 3) - 1;
      const dx = (k % 3) - 1;
      const row = (c * 9 + k) * positions;
      for (let y = 0; y < height; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= height) continue;
        for (let xx = 0; xx < width; xx++) {
          const sx = xx + dx;
          if (sx >= 0 && sx < width) patches[row + y * width + xx] = x[(c * height + sy) * width + sx];
        }
      }
    }
  }
  return matmul(layer, patches, positions);
}

/** torch's pixel_shuffle with factor 2: (4C, H, W) → (C, 2H, 2W). */
function depthToSpace(x, channels, height, width) {
  const out = new Float64Array(x.length);
  const outWidth = width * 2;
  for (let c = 0; c < channels / 4; c++) {
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const source = ((c * 4 + i * 2 + j) * height) * width;
        for (let y = 0; y < height; y++) {
          for (let xx = 0; xx < width; xx++) {
            out[(c * height * 2 + 2 * y + i) * outWidth + 2 * xx + j] = x[source + y * width + xx];
          }
        }
      }
    }
  }
  return out;
}
