/**
 * The whole decoder: .aec bytes → RGB pixels, the twin of aecodec.pipeline.decompress up to
 * the mode conversion.
 *
 *   readContainer ─► the header's mode and size ─► the model it names (WeightsMismatchError)
 *     ─► stream shapes ─► EntropyDecoder.decodeSymbolsAsync ─► alpha plane present?
 *     ─► deGainedLatent (inverse gains at the header's quality) ─► synthesizeRgb
 *
 * Python's checks in Python's order, each with its error class and message, so a page
 * reports a bad file exactly as `aecodec decompress` does.
 */

import { readContainer } from "./container.js";
import { FormatError, WeightsMismatchError } from "./errors.js";
import { deGainedLatent, inverseGain } from "./latent.js";
import { synthesizeRgb } from "./synthesis.js";

/** The modes a container records (aecodec/imageio.py MODES, ALPHA_MODES). */
export const MODES = ["RGB", "L", "RGBA", "LA"];
export const ALPHA_MODES = ["RGBA", "LA"];
/** Largest image decoded, in pixels (imageio.py MAX_PIXELS): bounds the decoder's memory. */
export const MAX_PIXELS = 64_000_000;

/**
 * A decoded image.
 *
 * @typedef {{width: number, height: number, mode: string, quality: number, rgb: Uint8Array,
 *   symbols: import("./entropy_decoder.js").DecodedSymbols}} DecodedImage
 *   `rgb` is (height, width, 3), the RGB image before Python converts it to the recorded
 *   `mode` (gray modes) and adds the alpha plane; `symbols` what the entropy decoder gave.
 */

/**
 * Decodes an .aec file.
 *
 * @param {Uint8Array} data The file's bytes.
 * @param {import("./model.js").Model} model The model the page carries (model.js loadModel).
 * @param {{onProgress?: (done: number, total: number) => void}} [options] `onProgress` is
 *   called after each synthesis tile.
 * @returns {Promise<DecodedImage>}
 * @throws {FormatError|ChecksumError|UnsupportedVersionError|DesyncError} A damaged or
 *   unsupported file, as Python raises them.
 * @throws {WeightsMismatchError} A file made with another model, or other weights of it.
 */
export async function decodeAec(data, model, { onProgress } = {}) {
  const container = readContainer(data);
  const { header } = container;
  if (!MODES.includes(header.mode)) throw new FormatError(`unsupported image mode '${header.mode}' in header`);
  if (header.width * header.height > MAX_PIXELS) {
    throw new FormatError(`declared image size ${header.width}×${header.height} is larger than this aecodec decodes`);
  }
  checkWeights(header, model);
  model.entropy.checkStreamShapes(header, container.streams);
  const symbols = await model.entropy.decodeSymbolsAsync(container.streams, container.symbolCrc);
  if (ALPHA_MODES.includes(header.mode) && container.alpha === null) {
    throw new FormatError(`${header.mode} file has no alpha plane`);
  }
  const latent = deGainedLatent(symbols.ySymbols, symbols.mean, symbols.yShape, inverseGain(model.gains, header.quality));
  const rgb = await synthesizeRgb(model.synthesis, latent, symbols.yShape, header.height, header.width, onProgress);
  return { width: header.width, height: header.height, mode: header.mode, quality: header.quality, rgb, symbols };
}

/**
 * Refuses a file that names another model, or other weights of this one, with the message
 * Python gives when that model is not installed (zoo.entry) or its weights differ
 * (assembly.codec_for): the page carries exactly one model.
 */
function checkWeights(header, model) {
  if (header.modelId !== model.modelId) {
    throw new WeightsMismatchError(`unknown model '${header.modelId}'; \`aecodec models\` lists the installed ones`);
  }
  const prefix = hex(header.weightsSha256Prefix);
  const installed = hex(model.weightsSha256Prefix);
  if (prefix !== installed) {
    throw new WeightsMismatchError(`file was coded with ${header.modelId} weights ${prefix}, installed are ${installed}`);
  }
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
