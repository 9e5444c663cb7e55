/**
 * A model ready to decode, from the files of its `aecodec export` folder
 * (weights/onnx/<model id>/), given as a map of file name → contents, so a page can fetch
 * them and Node can read them: the twin of what aecodec.assembly loads for the onnx backend.
 *
 *   export.json ─► model id, weights sha256, which files there are (context.onnx or not)
 *   entropy_tables.json ─► TableDecoder tables      gains.json ─► latent.js's card
 *   hyper_decoder.onnx + .json, context.onnx + .json ─► EntropyDecoder's exact networks
 *   synthesis.onnx + .json ─► the tile synthesis
 *
 * The folder is checked as Python checks it before use (runtime/onnx_files.py staleness):
 * the export layout, every file present, and every card naming the weights export.json
 * names. Nothing is hashed, as in Python: the cards and graphs are written together.
 */

import { EntropyDecoder } from "./entropy_decoder.js";
import { WeightsMismatchError } from "./errors.js";
import { ContextGraph, FloatGraph, HyperDecoderGraph } from "./onnx_networks.js";

/** The export folder's record, and the layout this decoder reads (onnx_files.py LAYOUT). */
export const EXPORT_RECORD = "export.json";
export const LAYOUT = 5;
/** Bytes of the weights' sha256 a container names them by (bitstream WEIGHTS_PREFIX_LEN). */
export const WEIGHTS_PREFIX_BYTES = 8;
/** The options of every `ort.InferenceSession.create` unless the caller gives others. */
export const SESSION_OPTIONS = { executionProviders: ["wasm"] };

const GAINS = "gains.json";
const ENTROPY_TABLES = "entropy_tables.json";
const HYPER_DECODER = "hyper_decoder.onnx";
const CONTEXT = "context.onnx";
const SYNTHESIS = "synthesis.onnx";

/**
 * A loaded model.
 *
 * @typedef {{modelId: string, weightsSha256: string, weightsSha256Prefix: Uint8Array,
 *   gains: object, entropy: EntropyDecoder, synthesis: FloatGraph}} Model
 *   `weightsSha256` in hex; `gains` the parsed gains.json.
 */

/**
 * The names of the files loadModel reads, for the parsed export.json of a folder: the data
 * cards, the decoder's graphs and their cards (context.onnx only where the model has one).
 *
 * @param {object} record The parsed export.json.
 * @returns {string[]}
 */
export function modelFileNames(record) {
  const graphs = [HYPER_DECODER, SYNTHESIS, ...(CONTEXT in (record.files ?? {}) ? [CONTEXT] : [])];
  return [EXPORT_RECORD, GAINS, ENTROPY_TABLES, ...graphs.flatMap((graph) => [graph, cardName(graph)])];
}

/**
 * Loads a model from its export folder's files.
 *
 * @param {Map<string, Uint8Array | ArrayBuffer | string | object> | Object<string, *>} files
 *   File name → contents: bytes for a graph; bytes, text or the parsed object for a JSON file.
 * @param {object} ort The onnxruntime-web module (`InferenceSession`, `Tensor`), with its
 *   `env` set up by the caller (e.g. `ort.env.wasm.numThreads`).
 * @param {object} [sessionOptions] Options of every `ort.InferenceSession.create`.
 * @returns {Promise<Model>}
 * @throws {WeightsMismatchError} A folder of another export layout, a file missing, or a
 *   card written for other weights than export.json names.
 */
export async function loadModel(files, ort, sessionOptions = SESSION_OPTIONS) {
  const folder = openExport(files, ort, sessionOptions, modelFileNames);
  const { record, cards } = folder;
  const hyperCard = cards.get(cardName(HYPER_DECODER));
  const contextCard = cards.get(cardName(CONTEXT));
  const tables = cards.get(ENTROPY_TABLES);
  const entropy = new EntropyDecoder({
    hyperChannels: hyperCard.inputs[0].shape[1],
    latentChannels: hyperCard.outputs[0].shape[1],
    zTables: tables.z_tables,
    yTables: tables.y_tables,
    hyper: new HyperDecoderGraph(ort, await folder.session(HYPER_DECODER), hyperCard),
    context: contextCard ? new ContextGraph(ort, await folder.session(CONTEXT), contextCard) : null,
  });
  return {
    modelId: record.model_id,
    weightsSha256: record.weights_sha256,
    weightsSha256Prefix: hexBytes(record.weights_sha256.slice(0, 2 * WEIGHTS_PREFIX_BYTES)),
    gains: cards.get(GAINS),
    entropy,
    synthesis: new FloatGraph(ort, await folder.session(SYNTHESIS), cards.get(cardName(SYNTHESIS))),
  };
}

/**
 * An export folder's files, checked as Python checks the folder before use (onnx_files.py
 * staleness) for the files a loader reads: the export layout, every file present, and every
 * card naming the weights export.json names. Shared by loadModel and encoder.js's
 * loadEncoder, which read different files of one folder.
 *
 * @param {Map<string, *> | Object<string, *>} files As loadModel takes them.
 * @param {object} ort The onnxruntime-web module.
 * @param {object} sessionOptions Options of every `ort.InferenceSession.create`.
 * @param {(record: object) => string[]} fileNames The files the loader reads, for the parsed export.json.
 * @returns {{record: object, cards: Map<string, object>, session: (graph: string) => Promise<object>}}
 *   The parsed export.json, every JSON file of `fileNames` parsed, and a session factory for
 *   its graphs.
 * @throws {WeightsMismatchError} As loadModel.
 */
export function openExport(files, ort, sessionOptions, fileNames) {
  const read = (name) => (files instanceof Map ? files.get(name) : files[name]);
  const record = parsed(read(EXPORT_RECORD));
  const modelId = record.model_id;
  if (record.layout !== LAYOUT) {
    throw new WeightsMismatchError(`ONNX graphs of ${modelId} are from another aecodec export layout (${record.layout}, this decoder reads ${LAYOUT})`);
  }
  const names = fileNames(record);
  const missing = names.filter((name) => read(name) === undefined);
  if (missing.length) throw new WeightsMismatchError(`ONNX graphs of ${modelId} are incomplete: ${missing.join(", ")} missing`);
  const cards = new Map(names.filter((name) => name.endsWith(".json")).map((name) => [name, parsed(read(name))]));
  for (const [name, card] of cards) {
    if (card.model_id !== modelId || card.weights_sha256 !== record.weights_sha256) {
      throw new WeightsMismatchError(
        `${name} was exported for ${card.model_id} weights ${String(card.weights_sha256).slice(0, 16)}…, ` +
        `${EXPORT_RECORD} names ${modelId} weights ${String(record.weights_sha256).slice(0, 16)}…`);
    }
  }
  return { record, cards, session: (graph) => ort.InferenceSession.create(bytes(read(graph)), sessionOptions) };
}

/** A graph's model card: `synthesis.onnx` → `synthesis.json` (onnx_files.py card_name). */
export function cardName(graph) {
  return graph.replace(/\.onnx$/, ".json");
}

function parsed(contents) {
  if (typeof contents === "string") return JSON.parse(contents);
  if (contents instanceof Uint8Array || contents instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(contents));
  return contents;
}

function bytes(contents) {
  return contents instanceof ArrayBuffer ? new Uint8Array(contents) : contents;
}

function hexBytes(hex) {
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}
