/**
 * The whole encoder: RGB pixels → .aec bytes, the twin of aecodec.pipeline.encode for an
 * RGB uint8 image without alpha, ICC profile or EXIF, at a quality.
 *
 *   checkedQuality ─► the image's size (imageio.check_pixels)
 *     ─► analyzeRgb: g_a on Python's tiles of the image edge-padded to ×16 ─► y
 *     ─► quantize: y_g = y × gain(t) ─h_a─► ẑ ─h_s, context model─► symbols and bins
 *     ─► EntropyEncoder.encode ─► streams, symbol CRC ─► writeContainer with Python's header
 *
 * Every step after the analysis is Python's bit for bit (tests/test_web_encode.py); the
 * analysis is float arithmetic in another runtime, so a few symbols may round the other way,
 * and the file then differs from aecodec.compress's by those symbols only
 * (tests/test_web_encoder_glue.py). Python decodes it as any other file of the model.
 */

import { analyzeRgb } from "./analysis.js";
import { writeContainer } from "./container_writer.js";
import { MAX_PIXELS } from "./decoder.js";
import { EntropyEncoder } from "./entropy_encoder.js";
import { InputError, WeightsMismatchError } from "./errors.js";
import { cardName, EXPORT_RECORD, openExport, SESSION_OPTIONS } from "./model.js";
import { FloatGraph } from "./onnx_networks.js";
import { checkedQuality } from "./quality.js";
import { quantize } from "./quantize.js";

const ANALYSIS = "analysis.onnx";
const HYPER_ANALYSIS = "hyper_analysis.onnx";
/** The analysis graph's output the codec reads (onnx_files.py BACKBONE_OUTPUTS[-1]); the others feed the restoration heads. */
const LATENT_OUTPUT = "latent";
/** The mode of every file this encoder writes (an RGB image without alpha). */
const MODE = "RGB";

/**
 * A model ready to encode.
 *
 * @typedef {{modelId: string, weightsSha256Prefix: Uint8Array, gains: object,
 *   entropy: import("./entropy_decoder.js").EntropyDecoder, entropyEncoder: EntropyEncoder,
 *   analysis: FloatGraph, hyperAnalysis: FloatGraph}} Encoder
 *   The decoder's model, id, weights, gains card and entropy decoder shared, with the
 *   encoder's two graphs and its entropy encoder.
 */

/**
 * The files loadEncoder reads beyond model.js modelFileNames: the analysis and
 * hyper-analysis graphs with their cards.
 *
 * @param {object} record The parsed export.json, asked for as modelFileNames asks; every
 *   export of layout 5 has both graphs (onnx_files.py GRAPHS), so the names do not depend on it.
 * @returns {string[]}
 */
export function encoderFileNames(record) {
  return [ANALYSIS, HYPER_ANALYSIS].flatMap((graph) => [graph, cardName(graph)]);
}

/**
 * Loads the encoder's part of a model from its export folder's files, beside the decoder's.
 *
 * @param {Map<string, Uint8Array | ArrayBuffer | string | object> | Object<string, *>} files
 *   As model.js loadModel takes them; export.json and encoderFileNames's files are read.
 * @param {object} ort The onnxruntime-web module, its `env` set up by the caller.
 * @param {import("./model.js").Model} model loadModel's result for the same folder, whose
 *   gains card and entropy decoder (tables, h_s and context sessions) the encoder reuses.
 * @param {object} [sessionOptions] Options of every `ort.InferenceSession.create`.
 * @returns {Promise<Encoder>}
 * @throws {WeightsMismatchError} As loadModel (layout, a file missing, a card of other
 *   weights), or a `model` of other weights than the folder's.
 */
export async function loadEncoder(files, ort, model, sessionOptions = SESSION_OPTIONS) {
  const folder = openExport(files, ort, sessionOptions, encoderFileNames);
  const { record, cards } = folder;
  if (record.model_id !== model.modelId || record.weights_sha256 !== model.weightsSha256) {
    throw new WeightsMismatchError(
      `${EXPORT_RECORD} names ${record.model_id} weights ${String(record.weights_sha256).slice(0, 16)}…, ` +
      `the decoder's model is ${model.modelId} weights ${model.weightsSha256.slice(0, 16)}…`);
  }
  return {
    modelId: model.modelId,
    weightsSha256Prefix: model.weightsSha256Prefix,
    gains: model.gains,
    entropy: model.entropy,
    entropyEncoder: new EntropyEncoder(model.entropy),
    analysis: new FloatGraph(ort, await folder.session(ANALYSIS), cards.get(cardName(ANALYSIS)), LATENT_OUTPUT),
    hyperAnalysis: new FloatGraph(ort, await folder.session(HYPER_ANALYSIS), cards.get(cardName(HYPER_ANALYSIS))),
  };
}

/**
 * Encodes an RGB image at a quality (aecodec.compress of an (H, W, 3) uint8 array).
 *
 * @param {Uint8Array | Uint8ClampedArray} rgb The pixels, (height, width, 3) flat.
 * @param {number} width Image width in pixels.
 * @param {number} height Image height in pixels.
 * @param {number} quality 1 (smallest) to 100 (best); continuous, stored to 1/100.
 * @param {Encoder} encoder loadEncoder's result.
 * @param {{onProgress?: (done: number, total: number) => void}} [options] `onProgress` is
 *   called after each analysis tile.
 * @returns {Promise<Uint8Array>} The .aec file.
 * @throws {InputError} A quality not from 1 to 100, pixels that are not width × height × 3
 *   bytes or none at all, or an image over 64 megapixels, in Python's words where Python
 *   has them.
 * @throws {RangeError} A side over 65535 pixels, which the container cannot record (the
 *   ValueError Python's writer raises).
 */
export async function encodeAec(rgb, width, height, quality, encoder, { onProgress } = {}) {
  const checked = checkedQuality(quality);
  checkImage(rgb, width, height);
  const { latent, shape } = await analyzeRgb(encoder.analysis, encoder.entropy.latentChannels, rgb, width, height, onProgress);
  const hyperAnalysis = (gained, gainedShape) => encoder.hyperAnalysis.run(gained, gainedShape);
  const quantized = await quantize(latent, shape, checked, encoder.gains, hyperAnalysis, encoder.entropy);
  const { streams, symbolCrc } = encoder.entropyEncoder.encode(quantized);
  const header = { modelId: encoder.modelId, weightsSha256Prefix: encoder.weightsSha256Prefix, width, height, mode: MODE, quality: checked };
  return writeContainer({ header, streams, symbolCrc });
}

/** The checks of imageio.prepare and check_pixels that an array of pixels can fail. */
function checkImage(rgb, width, height) {
  if (!(rgb instanceof Uint8Array || rgb instanceof Uint8ClampedArray) || !Number.isInteger(width) || !Number.isInteger(height) ||
      width < 0 || height < 0 || rgb.length !== 3 * width * height) {
    const held = ArrayBuffer.isView(rgb) ? `${rgb.length} values of a ${rgb.constructor.name}` : String(rgb);
    throw new InputError(`RGB pixels must be ${width}×${height}×3 bytes (a Uint8Array), got ${held}`);
  }
  if (width * height === 0) throw new InputError("image has no pixels");
  if (width * height > MAX_PIXELS) {
    throw new InputError(`image is ${width}×${height}; aecodec codes images of up to ${MAX_PIXELS / 1_000_000} megapixels`);
  }
}
