/**
 * The model's networks on onnxruntime-web sessions of the graphs `aecodec export` writes:
 * the exact integer hyper-decoder (hyper_decoder.onnx) and context model (context.onnx)
 * with integer_networks.js's interface, answering with promises, and the float graphs, the
 * analysis (analysis.onnx, one tile at a time), the hyper-analysis (hyper_analysis.onnx)
 * and the synthesis (synthesis.onnx, one tile at a time). The only module that touches
 * onnxruntime's API; `ort` is whatever the caller imported (a page from its bundle, Node
 * from node_modules), so no module here names an import path for it.
 *
 * The integer graphs are im2col and float64 MatMul over integer values whose every partial
 * sum stays below 2^53 (aecodec/onnx_build/integer_graphs.py), so onnxruntime's WebAssembly
 * kernels give exactly numpy's integers (tests/test_web_decode.py holds them to the Python
 * decoder's symbols). The page runs the graphs rather than integer_networks.js because they
 * are faster there: the entropy decoding of a 768×512 photo took 3 to 4 times less time
 * (one thread, measured for issue 28), and a register-blocked JavaScript matrix product
 * still ran at half the speed of onnxruntime's float64 MatMul.
 */

/**
 * The integer hyper-decoder h_s on its graph: IntegerHyperSynthesis's `run`, asynchronous.
 * Its card (hyper_decoder.json) gives the tensor names and the input bound.
 */
export class HyperDecoderGraph {
  /**
   * @param {object} ort The onnxruntime-web module (its `Tensor`).
   * @param {object} session An `ort.InferenceSession` of hyper_decoder.onnx.
   * @param {object} card The parsed hyper_decoder.json.
   */
  constructor(ort, session, card) {
    this.ort = ort;
    this.session = session;
    this.inputName = card.inputs[0].name;
    [this.meanName, this.logScaleName] = card.outputs.map((output) => output.name);
    this.inputMax = card.input_max;
  }

  /**
   * @param {Int32Array} zHat Integer hyper-latent (channels, height, width), |ẑ| ≤ inputMax
   *   (EntropyDecoder checks the escapes; the table decoder bounds the rest).
   * @returns {Promise<{mean: Float64Array, logScale: Float64Array, channels: number, height: number, width: number}>}
   *   Fixed point (units of 2^-8), (M, 4·height, 4·width), as IntegerHyperSynthesis.run.
   */
  async run(zHat, channels, height, width) {
    const input = new this.ort.Tensor("int64", BigInt64Array.from(zHat, BigInt), [1, channels, height, width]);
    const out = await this.session.run({ [this.inputName]: input });
    const [, latents, outHeight, outWidth] = out[this.meanName].dims;
    return {
      mean: Float64Array.from(out[this.meanName].data, Number),
      logScale: Float64Array.from(out[this.logScaleName].data, Number),
      channels: latents, height: outHeight, width: outWidth,
    };
  }
}

/**
 * The integer checkerboard context model on its graph: IntegerCheckerboardContext's
 * `refine`, asynchronous. The graph refines a whole window; refine passes it the block's
 * rows of μ and log σ (zeros elsewhere: the graph reads them only where it refines) and
 * returns those rows.
 */
export class ContextGraph {
  /**
   * @param {object} ort The onnxruntime-web module.
   * @param {object} session An `ort.InferenceSession` of context.onnx.
   * @param {object} card The parsed context.json.
   */
  constructor(ort, session, card) {
    this.ort = ort;
    this.session = session;
    [this.anchorsName, this.meanName, this.logScaleName] = card.inputs.map((input) => input.name);
    [this.refinedMeanName, this.refinedLogScaleName] = card.outputs.map((output) => output.name);
    this.inputMax = card.input_max;
  }

  /**
   * @param {Float64Array} yHat Fixed-point ŷ (channels, height, width) of the window, whose
   *   first row and column are even latent rows and columns.
   * @param {Float64Array} mean Fixed-point μ (channels, rowStop - rowStart, width).
   * @param {Float64Array} logScale Clipped fixed-point log σ, same shape.
   * @returns {Promise<{mean: Float64Array, logScale: Float64Array}>} The refined rows, as
   *   IntegerCheckerboardContext.refine.
   */
  async refine(yHat, mean, logScale, channels, height, width, rowStart, rowStop) {
    const dims = [1, channels, height, width];
    const rows = rowStop - rowStart;
    const windowMean = new BigInt64Array(yHat.length);
    const windowLogScale = new BigInt64Array(yHat.length);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < rows; y++) {
        const from = (c * rows + y) * width;
        const to = (c * height + rowStart + y) * width;
        for (let x = 0; x < width; x++) {
          windowMean[to + x] = BigInt(mean[from + x]);
          windowLogScale[to + x] = BigInt(logScale[from + x]);
        }
      }
    }
    const Tensor = this.ort.Tensor;
    const out = await this.session.run({
      [this.anchorsName]: new Tensor("int64", BigInt64Array.from(yHat, BigInt), dims),
      [this.meanName]: new Tensor("int64", windowMean, dims),
      [this.logScaleName]: new Tensor("int64", windowLogScale, dims),
    });
    return {
      mean: windowRows(out[this.refinedMeanName].data, channels, height, width, rowStart, rowStop),
      logScale: windowRows(out[this.refinedLogScaleName].data, channels, height, width, rowStart, rowStop),
    };
  }
}

/**
 * A float graph of one float32 input on one (C, h, w) array, one output read back: the
 * synthesis g_s (synthesis.onnx: ŷ of a tile → its image (3, 16h, 16w), RGB / 255,
 * unclipped), the analysis g_a (analysis.onnx: an image tile, RGB / 255 → its latent, the
 * "latent" output of the four) and the hyper-analysis h_a (hyper_analysis.onnx: y_g → z),
 * as onnx_backend.py runs them. The card gives the input's name and, unless the caller
 * names one, the output's (the first).
 */
export class FloatGraph {
  /**
   * @param {object} ort The onnxruntime-web module.
   * @param {object} session An `ort.InferenceSession` of the graph.
   * @param {object} card The graph's parsed card (synthesis.json, ...).
   * @param {string} [outputName] The output to read; only it is fetched.
   */
  constructor(ort, session, card, outputName = card.outputs[0].name) {
    this.ort = ort;
    this.session = session;
    this.inputName = card.inputs[0].name;
    this.outputName = outputName;
  }

  /**
   * @param {Float32Array} input (C, h, w) flat.
   * @param {number[]} shape [C, h, w].
   * @returns {Promise<Float32Array>} The output (C', h', w') flat.
   */
  async run(input, shape) {
    const tensor = new this.ort.Tensor("float32", input, [1, ...shape]);
    const out = await this.session.run({ [this.inputName]: tensor }, [this.outputName]);
    return out[this.outputName].data;
  }
}

/** Rows [rowStart, rowStop) of a (1, channels, height, width) int64 output, as float64. */
function windowRows(data, channels, height, width, rowStart, rowStop) {
  const rows = rowStop - rowStart;
  const out = new Float64Array(channels * rows * width);
  for (let c = 0, i = 0; c < channels; c++) {
    for (let y = rowStart; y < rowStop; y++) {
      for (let x = 0, at = (c * height + y) * width; x < width; x++) out[i++] = Number(data[at + x]);
    }
  }
  return out;
}
