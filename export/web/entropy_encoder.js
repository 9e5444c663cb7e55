/**
 * Entropy coding of an image's symbols into the container's streams: the twin of
 * FrozenHyperprior.encode (aecodec/codecs/frozen.py) and of streams.pack
 * (aecodec/codecs/streams.py), and the inverse of entropy_decoder.js.
 *
 *   ẑ ─(z table c for channel c)─► "z"
 *   y symbols ─(y table of each element's scale bin)─► "y": the anchors, then the others
 *       (or all of y in one pass, for a model without a context model)
 *   escaped values ─► "z.escape", "y.escape" (big-endian int32; only when there are any)
 *   CRC-32 of ẑ then y (int32 little-endian) ─► the symbol CRC
 *
 * The scale bins are the decoder's own: `encodeSymbols` computes them with an
 * EntropyDecoder's h_s tiles and context blocks from ẑ and the anchors, which is all a
 * decoder knows, so the tables the two sides pick cannot differ.
 */

import { crc32 } from "./container.js";
import { EntropyDecoder, STRIDE } from "./entropy_decoder.js";
import { pyTuple } from "./pythonic.js";
import { TableEncoder } from "./table_encoder.js";

/**
 * The symbols of one image at one quality (Python's QuantizedLatents), flat in C order, as
 * quantize.js gives them and entropy_decoder.js decodes them.
 *
 * @typedef {{zHat: ArrayLike<number>, zShape: number[], ySymbols: ArrayLike<number>,
 *   yShape: number[], bins: ArrayLike<number>}} QuantizedSymbols
 */

/**
 * What the container stores of them (Python's CodedLatents).
 *
 * @typedef {{streams: {name: string, shape: number[], payload: Uint8Array}[], symbolCrc: number}} CodedSymbols
 */

export class EntropyEncoder {
  /** @param {import("./entropy_decoder.js").EntropyModel} model As EntropyDecoder takes it. */
  constructor(model) {
    this.parameters = new EntropyDecoder(model);
    this.zEncoder = new TableEncoder(model.zTables);
    this.yEncoder = new TableEncoder(model.yTables);
  }

  /**
   * Codes ẑ and y after computing every element's scale bin as the decoder will.
   *
   * @param {ArrayLike<number>} zHat Integer hyper-latent (N, h, w) flat.
   * @param {number[]} zShape [N, h, w].
   * @param {ArrayLike<number>} ySymbols Integer latent symbols (M, H, W) flat.
   * @param {number[]} yShape [M, H, W].
   * @returns {CodedSymbols}
   * @throws {RangeError} Shapes that do not fit the model or each other, arrays not of
   *   their shape's size, or |ẑ| beyond the hyper-synthesis's input range.
   */
  encodeSymbols(zHat, zShape, ySymbols, yShape) {
    checkShapes(this.parameters, zHat, zShape, ySymbols, yShape);
    const { mean, bins, logScale } = this.parameters.entropyParameters(zHat, zShape, yShape);
    if (this.parameters.context) this.parameters.refineNonAnchors(ySymbols, mean, bins, logScale, yShape);
    return this.encode({ zHat, zShape, ySymbols, yShape, bins });
  }

  /**
   * Codes quantized symbols with their bins (FrozenHyperprior.encode), e.g. quantize.js's
   * result, whose bins are already the decoder's.
   *
   * @param {QuantizedSymbols} quantized
   * @returns {CodedSymbols}
   */
  encode({ zHat, zShape, ySymbols, yShape, bins }) {
    const plane = zShape[1] * zShape[2];
    const zTableIndex = Int32Array.from({ length: zHat.length }, (_, i) => Math.floor(i / plane));
    const z = this.zEncoder.encode(zHat, zTableIndex);
    const y = this.yEncoder.encodePasses(this.yPasses(ySymbols, bins, yShape));
    const streams = [
      { name: "z", shape: [...zShape], payload: z.bytes },
      { name: "y", shape: [...yShape], payload: y.bytes },
    ];
    for (const [name, escapes] of [["z.escape", z.escapes], ["y.escape", y.escapes]]) {
      if (escapes.length) streams.push({ name, shape: [escapes.length], payload: bigEndianInt32(escapes) });
    }
    return { streams, symbolCrc: symbolCrc32(zHat, ySymbols) };
  }

  /**
   * The passes of the "y" stream (_y_passes): all of y, or the anchors ((row + column) even)
   * then the others, each channel by channel and row-major, the order of numpy's
   * `a[:, mask]` (the positions of entropy_decoder.js's private `checkerboard`).
   */
  *yPasses(ySymbols, bins, yShape) {
    if (!this.parameters.context) {
      yield [ySymbols, bins];
      return;
    }
    const [channels, height, width] = yShape;
    for (const parity of [0, 1]) {
      const positions = [];
      for (let c = 0, at = 0; c < channels; c++) {
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++, at++) if ((y + x) % 2 === parity) positions.push(at);
        }
      }
      yield [Int32Array.from(positions, (at) => ySymbols[at]), Uint8Array.from(positions, (at) => bins[at])];
    }
  }
}

/** Checks that the shapes are those of one image for this model (latent_shapes), and the arrays their size. */
function checkShapes(parameters, zHat, zShape, ySymbols, yShape) {
  const { y, z } = parameters.latentShapes(STRIDE * yShape[1], STRIDE * yShape[2]);
  const fits = (shape, expected) => shape.length === 3 && shape.every((dim, i) => dim === expected[i]);
  if (!fits(yShape, y) || !fits(zShape, z)) {
    throw new RangeError(`latent shape ${pyTuple(yShape)} and hyper-latent shape ${pyTuple(zShape)} do not fit this model`);
  }
  for (const [values, shape, what] of [[zHat, zShape, "hyper-latent"], [ySymbols, yShape, "latent"]]) {
    if (values.length !== shape[0] * shape[1] * shape[2]) {
      throw new RangeError(`${values.length} ${what} symbols for shape ${pyTuple(shape)}`);
    }
  }
}

function bigEndianInt32(values) {
  const bytes = new Uint8Array(4 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setInt32(4 * i, value, false));
  return bytes;
}

/**
 * CRC-32 of the symbol arrays in order, as int32 little-endian (streams.py symbol_crc); the
 * same as entropy_decoder.js's private `symbolCrc32`.
 */
function symbolCrc32(...symbolArrays) {
  let crc = 0;
  for (const symbols of symbolArrays) {
    const bytes = new Uint8Array(4 * symbols.length);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < symbols.length; i++) view.setInt32(4 * i, symbols[i], true);
    crc = crc32(bytes, crc);
  }
  return crc;
}
