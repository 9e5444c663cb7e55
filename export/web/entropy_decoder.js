/**
 * Entropy decoding of an image's coded streams into its symbols and their exact entropy
 * parameters: the twin of FrozenHyperprior.decode_symbols (aecodec/codecs/frozen.py) and
 * of the stream unpacking it relies on (aecodec/codecs/streams.py).
 *
 *   "z" ─(z table c for channel c)─► ẑ ─IntegerHyperSynthesis, on tiles─► μ, log σ (crop to y)
 *   log σ ─scale bin─► y table of every latent element
 *   "y" ─► the anchors ─IntegerCheckerboardContext, on blocks─► μ, bins of the others ─► the others
 *       (or all of y in one pass, for a model without a context model)
 *
 * Every check is Python's, made in the same order with the same error class and message,
 * so a page reports a damaged file exactly as the CLI does. The tiles of h_s and the blocks
 * of the context model are Python's too: both networks are exact integer arithmetic, so
 * tiling cannot change a value, but the same tiles keep every intermediate array the size
 * Python bounds it to.
 *
 * The two networks are either integer_networks.js (built from weight arrays; synchronous)
 * or objects with the same `run` / `refine` that answer with a promise, such as
 * onnx_networks.js's sessions on the exported graphs. The decoding is written once, as
 * generators that yield each network call; `decodeSymbols` runs them at once, and
 * `decodeSymbolsAsync` awaits every call. The encoder computes the same entropy parameters
 * with `entropyParametersAsync` and `refineNonAnchorsAsync` (quantize.js, entropy_encoder.js),
 * which await the networks of either kind.
 */

import { crc32 } from "./container.js";
import { DesyncError, FormatError } from "./errors.js";
import { ACTIVATION_FRACTION_BITS, IntegerCheckerboardContext, IntegerHyperSynthesis } from "./integer_networks.js";
import { pyTuple } from "./pythonic.js";
import { TableDecoder } from "./table_decoder.js";

/** Bound of a latent symbol's magnitude (aecodec/codecs/rounding.py LATENT_SYMBOL_MAX). */
export const LATENT_SYMBOL_MAX = 2 ** 20;
/** Scale bins of the y tables (aecodec/entropy/tables.py): log σ in units of 2^-8 nats. */
export const SCALE_LOG_MIN = -565; // round(ln(0.11) × 2^8)
export const SCALE_BIN_STEP = 32;
export const SCALE_BIN_COUNT = 64;
/** Pixels per latent element and per hyper-latent element (aecodec/transforms/geometry.py). */
export const STRIDE = 16;
export const HYPER_STRIDE = 64;
/** Tiles of h_s and blocks of the context model, in z and y elements (frozen.py). */
export const HYPER_TILE = 16;
export const HYPER_MARGIN = 2;
export const CONTEXT_TILE = 64;
export const CONTEXT_MARGIN = 2;

const STREAM_NAMES = new Set(["z", "y", "z.escape", "y.escape"]);
const UNIT = 2 ** ACTIVATION_FRACTION_BITS;

/**
 * The integer parts of a model: its tables, and its networks as weight arrays or as
 * ready networks.
 *
 * @typedef {{pmf: ArrayLike<number>, offsets: ArrayLike<number>, minima: ArrayLike<number>}} Tables
 * @typedef {{inputMax: number, run: Function}} HyperNetwork IntegerHyperSynthesis's
 *   `inputMax` and `run`, whose result may come as a promise.
 * @typedef {{inputMax: number, refine: Function}} ContextNetwork IntegerCheckerboardContext's
 *   `inputMax` and `refine`, whose result may come as a promise.
 * @typedef {{hyperChannels: number, latentChannels: number, zTables: Tables, yTables: Tables,
 *   hyper: {layers: object[], activationMax: number, inputMax: number} | HyperNetwork,
 *   context: {layers: object[], inputMax: number, activationMax: number} | ContextNetwork | null}} EntropyModel
 *   `layers` as integer_networks.js takes them (`h_s_int.*`, `context_int.*`); `context`
 *   null for a model that codes y in one pass.
 */

/**
 * The symbols of one image and their exact entropy parameters (Python's QuantizedLatents),
 * flat in C order.
 *
 * @typedef {{zHat: Int32Array, zShape: number[], ySymbols: Int32Array, yShape: number[],
 *   mean: Float64Array, bins: Uint8Array}} DecodedSymbols
 */

export class EntropyDecoder {
  /** @param {EntropyModel} model */
  constructor(model) {
    this.hyperChannels = model.hyperChannels;
    this.latentChannels = model.latentChannels;
    this.zDecoder = new TableDecoder(model.zTables);
    this.yDecoder = new TableDecoder(model.yTables);
    const { hyper, context } = model;
    this.hyper = hyper.layers ? new IntegerHyperSynthesis(hyper.layers, hyper.activationMax, hyper.inputMax) : hyper;
    this.context = !context ? null
      : context.layers ? new IntegerCheckerboardContext(context.layers, context.inputMax, context.activationMax) : context;
  }

  /** Shapes of the "y" and "z" streams of an image of `height` × `width` pixels (latent_shapes). */
  latentShapes(height, width) {
    return {
      y: [this.latentChannels, ceilDiv(height, STRIDE), ceilDiv(width, STRIDE)],
      z: [this.hyperChannels, ceilDiv(height, HYPER_STRIDE), ceilDiv(width, HYPER_STRIDE)],
    };
  }

  /**
   * Checks that the "y" and "z" streams have the shapes of the image size in the header, as
   * aecodec.pipeline does before it decodes.
   *
   * @param {{width: number, height: number}} header
   * @param {{name: string, shape: number[]}[]} streams
   * @throws {FormatError} A stream missing or of another shape.
   */
  checkStreamShapes(header, streams) {
    const shapes = new Map(streams.map((stream) => [stream.name, stream.shape]));
    for (const [name, expected] of Object.entries(this.latentShapes(header.height, header.width))) {
      const found = shapes.get(name);
      if (!found || found.length !== expected.length || found.some((dim, i) => dim !== expected[i])) {
        throw new FormatError(`${name} stream shape ${found ? pyTuple(found) : "None"} does not match the image size in the header`);
      }
    }
  }

  /**
   * Decodes the streams of a container (decode_symbols), with networks that answer at once.
   *
   * @param {{name: string, shape: number[], payload: Uint8Array}[]} streams As container.js reads them.
   * @param {number} symbolCrc The container's symbol CRC.
   * @returns {DecodedSymbols}
   * @throws {FormatError} Streams unknown, missing, malformed, or of shapes this model cannot
   *   have produced.
   * @throws {DesyncError} Escape values out of range, a stream invalid for its tables, too
   *   many or too few escapes, or symbols that do not match the CRC.
   * @throws {TypeError} The model's networks answer with promises (use decodeSymbolsAsync).
   */
  decodeSymbols(streams, symbolCrc) {
    return runNow(this.decodeSteps(streams, symbolCrc));
  }

  /**
   * decodeSymbols for networks whose results may come as promises (onnxruntime sessions).
   *
   * @returns {Promise<DecodedSymbols>} Rejected with decodeSymbols's errors.
   */
  decodeSymbolsAsync(streams, symbolCrc) {
    return runAwaiting(this.decodeSteps(streams, symbolCrc));
  }

  /** The steps of decodeSymbols: a generator yielding each network call as a thunk. */
  *decodeSteps(streams, symbolCrc) {
    const { zShape, zBytes, zEscapes, yShape, yBytes, yEscapes } = unpack(streams);
    if (zShape.length !== 3 || zShape[0] !== this.hyperChannels) {
      throw new FormatError(`hyper-latent shape ${pyTuple(zShape)} does not fit this model`);
    }
    if (yShape.length !== 3 || yShape[0] !== this.latentChannels ||
        ceilDiv(yShape[1], 4) !== zShape[1] || ceilDiv(yShape[2], 4) !== zShape[2]) {
      throw new FormatError(`latent shape ${pyTuple(yShape)} does not fit hyper-latent shape ${pyTuple(zShape)}`);
    }
    if (maxAbs(zEscapes) > this.hyper.inputMax) throw new DesyncError("hyper-latent escape value out of range");
    if (maxAbs(yEscapes) > LATENT_SYMBOL_MAX) throw new DesyncError("latent escape value out of range");
    const zTableIndex = new Int32Array(zShape[0] * zShape[1] * zShape[2]);
    const plane = zShape[1] * zShape[2];
    for (let i = 0; i < zTableIndex.length; i++) zTableIndex[i] = Math.floor(i / plane);
    const zHat = this.zDecoder.decode(zBytes, zTableIndex, zEscapes);
    const parameters = yield* this.entropyParameterSteps(zHat, zShape, yShape);
    const ySymbols = yield* this.decodeYSteps(yBytes, yEscapes, parameters, yShape);
    if (symbolCrc32(zHat, ySymbols) !== symbolCrc) {
      throw new DesyncError("decoded symbols do not match the stored CRC (entropy decoder desync)");
    }
    return { zHat, zShape, ySymbols, yShape, mean: parameters.mean, bins: parameters.bins };
  }

  /**
   * Mean, table index and (with a context model) clipped fixed-point log-scale of every
   * latent element, cropped from h_s's ×4 grid to y (_entropy_parameters), for the encoder.
   *
   * @param {ArrayLike<number>} zHat Integer hyper-latent (N, h, w) flat, |ẑ| ≤ hyper.inputMax.
   * @param {number[]} zShape [N, h, w].
   * @param {number[]} yShape [M, H, W], H ≤ 4h and W ≤ 4w.
   * @returns {Promise<{mean: Float64Array, bins: Uint8Array, logScale: Float64Array | null}>}
   *   `logScale` only with a context model (refineNonAnchorsAsync's input).
   */
  entropyParametersAsync(zHat, zShape, yShape) {
    return runAwaiting(this.entropyParameterSteps(zHat, zShape, yShape));
  }

  /** The steps of entropyParametersAsync (see decodeSteps). */
  *entropyParameterSteps(zHat, zShape, yShape) {
    const [channels, zHeight, zWidth] = zShape;
    const [latents, height, width] = yShape;
    const size = latents * height * width;
    const mean = new Float64Array(size);
    const bins = new Uint8Array(size);
    const logScale = this.context ? new Float64Array(size) : null;
    const limit = this.context ? this.context.inputMax * UNIT : 0;
    for (const rows of spans(zHeight, HYPER_TILE, HYPER_MARGIN)) {
      for (const cols of spans(zWidth, HYPER_TILE, HYPER_MARGIN)) {
        const tileHeight = rows.readEnd - rows.readStart;
        const tileWidth = cols.readEnd - cols.readStart;
        const tile = new Int32Array(channels * tileHeight * tileWidth);
        for (let c = 0, i = 0; c < channels; c++) {
          for (let y = rows.readStart; y < rows.readEnd; y++) {
            for (let x = cols.readStart; x < cols.readEnd; x++) tile[i++] = zHat[(c * zHeight + y) * zWidth + x];
          }
        }
        const out = yield () => this.hyper.run(tile, channels, tileHeight, tileWidth);
        // The kept part of the tile's ×4 output; the last tiles hang over y's edge.
        const top = 4 * rows.keepStart;
        const bottom = Math.min(4 * rows.keepEnd, height);
        const left = 4 * cols.keepStart;
        const right = Math.min(4 * cols.keepEnd, width);
        const rowShift = 4 * (rows.keepStart - rows.readStart) - top;
        const colShift = 4 * (cols.keepStart - cols.readStart) - left;
        for (let m = 0; m < latents; m++) {
          for (let y = top; y < bottom; y++) {
            for (let x = left; x < right; x++) {
              const from = (m * out.height + y + rowShift) * out.width + x + colShift;
              const to = (m * height + y) * width + x;
              mean[to] = out.mean[from] / UNIT;
              bins[to] = scaleBin(out.logScale[from]);
              if (logScale) logScale[to] = clip(out.logScale[from], -limit, limit);
            }
          }
        }
      }
    }
    return { mean, bins, logScale };
  }

  /** The "y" symbols; refines `mean` and `bins` of the non-anchors with a context model (_decode_y). */
  *decodeYSteps(data, escapes, parameters, yShape) {
    const { mean, bins, logScale } = parameters;
    if (!this.context) return this.yDecoder.decode(data, bins, escapes);
    const decoder = this.yDecoder.decoder(data, escapes);
    const ySymbols = new Int32Array(bins.length);
    const [anchors, others] = checkerboard(yShape);
    scatter(ySymbols, anchors, decoder.decode(gather(bins, anchors)));
    yield* this.refineSteps(ySymbols, mean, bins, logScale, yShape);
    scatter(ySymbols, others, decoder.decode(gather(bins, others)));
    decoder.finish();
    return ySymbols;
  }

  /**
   * Overwrites the non-anchors' `mean` and `bins` with the context model's, block by block,
   * each block read with the context window's margin (_refine_non_anchors); reads only the
   * anchors of `ySymbols` and `mean`. For the encoder, with a context model.
   *
   * @returns {Promise<void>} Settled once every block is refined.
   */
  refineNonAnchorsAsync(ySymbols, mean, bins, logScale, yShape) {
    return runAwaiting(this.refineSteps(ySymbols, mean, bins, logScale, yShape));
  }

  /** The steps of refineNonAnchorsAsync (see decodeSteps). */
  *refineSteps(ySymbols, mean, bins, logScale, yShape) {
    const [latents, height, width] = yShape;
    for (const rows of spans(height, CONTEXT_TILE, CONTEXT_MARGIN)) {
      for (const cols of spans(width, CONTEXT_TILE, CONTEXT_MARGIN)) {
        const windowHeight = rows.readEnd - rows.readStart;
        const windowWidth = cols.readEnd - cols.readStart;
        const blockRows = rows.keepEnd - rows.keepStart;
        const yHat = new Float64Array(latents * windowHeight * windowWidth);
        const blockMean = new Float64Array(latents * blockRows * windowWidth);
        const blockLogScale = new Float64Array(blockMean.length);
        for (let m = 0, i = 0, j = 0; m < latents; m++) {
          for (let y = rows.readStart; y < rows.readEnd; y++) {
            const kept = y >= rows.keepStart && y < rows.keepEnd;
            for (let x = cols.readStart; x < cols.readEnd; x++) {
              const at = (m * height + y) * width + x;
              yHat[i++] = (ySymbols[at] + mean[at]) * UNIT; // exact: μ is a multiple of 2^-8
              if (kept) {
                blockMean[j] = mean[at] * UNIT;
                blockLogScale[j++] = logScale[at];
              }
            }
          }
        }
        const rowStart = rows.keepStart - rows.readStart;
        const refined = yield () => this.context.refine(
          yHat, blockMean, blockLogScale, latents, windowHeight, windowWidth, rowStart, rowStart + blockRows);
        for (let m = 0; m < latents; m++) {
          for (let y = rows.keepStart; y < rows.keepEnd; y++) {
            for (let x = cols.keepStart; x < cols.keepEnd; x++) {
              const from = (m * blockRows + y - rows.keepStart) * windowWidth + x - cols.readStart;
              const to = (m * height + y) * width + x;
              mean[to] = refined.mean[from] / UNIT;
              bins[to] = scaleBin(refined.logScale[from]);
            }
          }
        }
      }
    }
  }
}

/**
 * Tiles of `tile` elements covering `length`, each read with `margin` more per side
 * (aecodec/codecs/tiling.py spans).
 *
 * @returns {{readStart: number, readEnd: number, keepStart: number, keepEnd: number}[]}
 */
export function spans(length, tile, margin) {
  const result = [];
  for (let start = 0; start < length; start += tile) {
    result.push({
      readStart: Math.max(0, start - margin), readEnd: Math.min(length, start + tile + margin),
      keepStart: start, keepEnd: Math.min(length, start + tile),
    });
  }
  return result;
}

/** Fixed-point log-scale (2^-8 nats) → y table index, exactly (tables.py scale_bin). */
export function scaleBin(logScaleFixed) {
  return clip(Math.floor((logScaleFixed - SCALE_LOG_MIN) / SCALE_BIN_STEP), 0, SCALE_BIN_COUNT - 1);
}

/**
 * Runs decoding steps (a generator yielding network calls as thunks) to their result,
 * giving each call's value straight back.
 *
 * @throws {TypeError} A network answered with a promise.
 */
function runNow(steps) {
  let step = steps.next();
  while (!step.done) {
    const value = step.value();
    if (typeof value?.then === "function") {
      throw new TypeError("this model's networks answer asynchronously: call decodeSymbolsAsync");
    }
    step = steps.next(value);
  }
  return step.value;
}

/** runNow for networks that may answer with promises: awaits every call. */
async function runAwaiting(steps) {
  let step = steps.next();
  while (!step.done) step = steps.next(await step.value());
  return step.value;
}

/** The streams by role, with the escape values unpacked (streams.py unpack). */
function unpack(streams) {
  const byName = new Map(streams.map((stream) => [stream.name, stream]));
  const unknown = [...byName.keys()].filter((name) => !STREAM_NAMES.has(name)).sort();
  if (unknown.length) throw new FormatError(`unknown streams for this model: ${unknown.join(", ")}`);
  for (const name of ["z", "y"]) {
    if (!byName.has(name)) throw new FormatError(`missing stream '${name}'`);
  }
  const z = byName.get("z");
  const zEscapes = escapeValues(byName.get("z.escape"));
  const y = byName.get("y");
  const yEscapes = escapeValues(byName.get("y.escape"));
  return { zShape: z.shape, zBytes: z.payload, zEscapes, yShape: y.shape, yBytes: y.payload, yEscapes };
}

/** The big-endian int32 values of an escape stream; none when the stream is absent. */
function escapeValues(stream) {
  if (stream === undefined) return new Int32Array(0);
  if (stream.shape.length !== 1 || stream.payload.length !== 4 * stream.shape[0]) {
    throw new FormatError("malformed escape stream");
  }
  const view = new DataView(stream.payload.buffer, stream.payload.byteOffset, stream.payload.byteLength);
  return Int32Array.from({ length: stream.shape[0] }, (_, i) => view.getInt32(4 * i, false));
}

/**
 * Flat (C, H, W) positions of the anchors ((row + column) even) and of the others, each
 * channel by channel and row-major within a channel: the order of numpy's `a[:, mask]`,
 * in which each pass is coded (aecodec/entropy/integer_context.py anchor_mask).
 *
 * @param {number[]} shape [C, H, W].
 * @returns {[Int32Array, Int32Array]} The anchors' positions, then the others'.
 */
export function checkerboard([channels, height, width]) {
  const anchorCount = Math.ceil((height * width) / 2);
  const anchors = new Int32Array(channels * anchorCount);
  const others = new Int32Array(channels * (height * width - anchorCount));
  for (let c = 0, a = 0, o = 0, at = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, at++) {
        if ((y + x) % 2 === 0) anchors[a++] = at;
        else others[o++] = at;
      }
    }
  }
  return [anchors, others];
}

function gather(values, positions) {
  const out = new Uint8Array(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = values[positions[k]];
  return out;
}

function scatter(target, positions, values) {
  for (let k = 0; k < positions.length; k++) target[positions[k]] = values[k];
}

/**
 * CRC-32 of the symbol arrays in order, as int32 little-endian (streams.py symbol_crc): the
 * decoder's check, and the encoder's SCRC chunk.
 *
 * @param {...ArrayLike<number>} symbolArrays Integer symbols (ẑ, then y), flat.
 * @returns {number} The u32 CRC.
 */
export function symbolCrc32(...symbolArrays) {
  let crc = 0;
  for (const symbols of symbolArrays) crc = crc32(littleEndianBytes(symbols), crc);
  return crc;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Integer values as int32 little-endian bytes: an Int32Array's own bytes on a little-endian platform. */
function littleEndianBytes(values) {
  if (LITTLE_ENDIAN && values instanceof Int32Array) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i], true);
  return bytes;
}

function maxAbs(values) {
  let largest = 0;
  for (const value of values) largest = Math.max(largest, Math.abs(value));
  return largest;
}

function ceilDiv(numerator, denominator) {
  return Math.ceil(numerator / denominator);
}

function clip(value, low, high) {
  return value < low ? low : value > high ? high : value;
}
