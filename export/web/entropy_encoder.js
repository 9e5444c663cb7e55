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
 * decoder knows, so the tables the two sides pick cannot differ. The encoder codes with that
 * decoder's tables and networks, so a page that decodes and encodes loads each once.
 */

import { checkerboard, STRIDE, symbolCrc32 } from "./entropy_decoder.js";
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
  /**
   * @param {import("./entropy_decoder.js").EntropyDecoder} entropy The model's decoder
   *   (model.js loadModel's `entropy`): its tables, h_s and context model.
   */
  constructor(entropy) {
    this.parameters = entropy;
    this.zEncoder = new TableEncoder(entropy.zDecoder);
    this.yEncoder = new TableEncoder(entropy.yDecoder);
  }

  /**
   * Codes ẑ and y after computing every element's scale bin as the decoder will.
   *
   * @param {ArrayLike<number>} zHat Integer hyper-latent (N, h, w) flat.
   * @param {number[]} zShape [N, h, w].
   * @param {ArrayLike<number>} ySymbols Integer latent symbols (M, H, W) flat.
   * @param {number[]} yShape [M, H, W].
   * @returns {Promise<CodedSymbols>} Rejected with a RangeError for shapes that do not fit
   *   the model or each other, arrays not of their shape's size, or |ẑ| beyond the
   *   hyper-synthesis's input range.
   */
  async encodeSymbols(zHat, zShape, ySymbols, yShape) {
    checkShapes(this.parameters, zHat, zShape, ySymbols, yShape);
    const { mean, bins, logScale } = await this.parameters.entropyParametersAsync(zHat, zShape, yShape);
    if (this.parameters.context) await this.parameters.refineNonAnchorsAsync(ySymbols, mean, bins, logScale, yShape);
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
   * then the others, in the order entropy_decoder.js's `checkerboard` gives them (numpy's
   * `a[:, mask]`), each gathered as the coder reaches it.
   */
  *yPasses(ySymbols, bins, yShape) {
    if (!this.parameters.context) {
      yield [ySymbols, bins];
      return;
    }
    for (const positions of checkerboard(yShape)) {
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
