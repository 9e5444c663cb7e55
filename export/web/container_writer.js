/**
 * Writer of the .aec container, format 1.0: the twin of aecodec/bitstream/writer.py
 * (`write_container`), and the inverse of container.js's `readContainer`.
 *
 * The normative specification is the docstring of aecodec/bitstream/__init__.py. Chunks go
 * in the canonical order HEAD, BITS (in stream order), SCRC, ALPH, iCCP, eXIf, tRGT, AEND,
 * each with its CRC-32 over type and data, so the bytes are Python's for the same container.
 * Like Python's writer it refuses every value the reader would refuse, checking the fields
 * in Python's order and throwing a RangeError with the message of Python's ValueError, so
 * a file this module returns always reads back, in Python and in container.js alike.
 */

import { crc32 } from "./container.js";
import {
  AEND, BITS, CHUNK_OVERHEAD, FORMAT_MAJOR, FORMAT_MINOR, HEAD, MAX_CHUNK_LENGTH, MAX_CHUNKS, MAX_U32, MODE, MODEL_ID, SCRC,
  SIDE_CHUNKS, SIGNATURE, STREAM_NAME, WEIGHTS_PREFIX_LEN, shapeProblem, sizeProblem, textProblem,
} from "./container_spec.js";
import { pyRepr, pyTuple, pyTypeName, roundHalfEven } from "./pythonic.js";

/**
 * Encodes a container as a complete .aec file.
 *
 * @param {{header: {modelId: string, weightsSha256Prefix: Uint8Array, width: number,
 *   height: number, mode: string, quality: number, formatVersion?: number[]},
 *   streams: {name: string, shape: number[], payload: Uint8Array}[], symbolCrc: number,
 *   alpha?: Uint8Array|null, iccProfile?: Uint8Array|null, exif?: Uint8Array|null,
 *   rateTarget?: Uint8Array|null}} container The fields readContainer returns (its `chunks`
 *   is ignored: the chunk table is a property of the bytes); `formatVersion` defaults to
 *   1.0, and side data that is null or absent is omitted.
 * @returns {Uint8Array} The file.
 * @throws {RangeError} A field the format cannot represent, with Python's message.
 */
export function writeContainer(container) {
  if (!isObject(container)) throw new RangeError(`expected a Container, got ${pyTypeName(container)}`);
  const chunks = [];
  for (const [type, data] of containerChunks(container)) {
    if (chunks.length === MAX_CHUNKS) throw new RangeError(`a container holds at most ${MAX_CHUNKS} chunks`);
    if (data.length > MAX_CHUNK_LENGTH) {
      throw new RangeError(`${type} chunk data is ${data.length} bytes (limit ${MAX_CHUNK_LENGTH})`);
    }
    chunks.push([ascii(type), data]);
  }
  const out = new Uint8Array(chunks.reduce((size, [, data]) => size + CHUNK_OVERHEAD + data.length, SIGNATURE.length));
  const view = new DataView(out.buffer);
  out.set(SIGNATURE);
  let pos = SIGNATURE.length;
  for (const [type, data] of chunks) {
    view.setUint32(pos, data.length);
    out.set(type, pos + 4);
    out.set(data, pos + 8);
    view.setUint32(pos + 8 + data.length, crc32(data, crc32(type)));
    pos += CHUNK_OVERHEAD + data.length;
  }
  return out;
}

/** Yields `[type, data]` for every chunk, validating the fields as it goes (_chunks). */
function* containerChunks(container) {
  yield [HEAD, headData(container.header)];
  const streams = Array.from(container.streams ?? []);
  if (!streams.length) throw new RangeError("a container needs at least one stream");
  const seen = new Set();
  for (const stream of streams) {
    const data = bitsData(stream);
    if (seen.has(stream.name)) throw new RangeError(`duplicate stream name ${pyRepr(stream.name)}`);
    seen.add(stream.name);
    yield [BITS, data];
  }
  const crc = container.symbolCrc;
  if (!isInt(crc) || crc < 0 || crc > MAX_U32) throw new RangeError(`symbol_crc ${pyRepr(crc)} is not a u32`);
  yield [SCRC, u32Bytes(crc)];
  for (const [type, field] of SIDE_CHUNKS) {
    const blob = container[field];
    if (blob === null || blob === undefined) continue;
    if (!(blob instanceof Uint8Array)) throw new RangeError(`${type} payload must be bytes, got ${pyTypeName(blob)}`);
    yield [type, blob];
  }
  yield [AEND, new Uint8Array(0)];
}

/** The HEAD chunk data (section 5), its fields checked in Python's order. */
function headData(header) {
  if (!isObject(header)) throw new RangeError(`expected a Header, got ${pyTypeName(header)}`);
  const version = header.formatVersion ?? [FORMAT_MAJOR, FORMAT_MINOR];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== FORMAT_MAJOR || version[1] !== FORMAT_MINOR) {
    const shown = Array.isArray(version) ? pyTuple(version) : pyRepr(version);
    throw new RangeError(
      `this writer produces format ${FORMAT_MAJOR}.${FORMAT_MINOR}, not ${shown} (restamp with dataclasses.replace)`);
  }
  const sha = header.weightsSha256Prefix;
  if (!(sha instanceof Uint8Array) || sha.length !== WEIGHTS_PREFIX_LEN) {
    throw new RangeError(`weights_sha256_prefix must be exactly ${WEIGHTS_PREFIX_LEN} bytes, got ${pyRepr(sha)}`);
  }
  const { width, height, quality } = header;
  if (!isInt(width) || !isInt(height)) {
    throw new RangeError(`width and height must be ints, got ${pyRepr(width)} and ${pyRepr(height)}`);
  }
  const sizeWrong = sizeProblem(width, height);
  if (sizeWrong) throw new RangeError(sizeWrong);
  if (typeof quality !== "number" || !Number.isFinite(quality)) {
    throw new RangeError(`quality must be a finite number, got ${pyRepr(quality)}`);
  }
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`quality ${pyRepr(quality)} is outside 1.0..100.0`);
  const modelId = text(MODEL_ID, header.modelId);
  const mode = text(MODE, header.mode);
  const fixed = new Uint8Array(8);
  const view = new DataView(fixed.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint16(0, roundHalfEven(quality * 100)); // flags: 0
  return concat([Uint8Array.of(FORMAT_MAJOR, FORMAT_MINOR), modelId, sha, fixed, mode, tail]);
}

/** One BITS chunk data (section 6), its fields checked in Python's order. */
function bitsData(stream) {
  if (!isObject(stream)) throw new RangeError(`expected a Stream, got ${pyTypeName(stream)}`);
  const name = text(STREAM_NAME, stream.name);
  const shape = Array.from(stream.shape ?? []);
  if (!shape.every(isInt)) throw new RangeError(`stream ${pyRepr(stream.name)} shape ${pyTuple(shape)} must hold ints`);
  const problem = shapeProblem(shape);
  if (problem) throw new RangeError(`stream ${pyRepr(stream.name)}: ${problem}`);
  if (!(stream.payload instanceof Uint8Array)) {
    throw new RangeError(`stream ${pyRepr(stream.name)} payload must be bytes, got ${pyTypeName(stream.payload)}`);
  }
  return concat([name, Uint8Array.of(shape.length), ...shape.map(u32Bytes), stream.payload]);
}

/** A short text field as u8 length + ASCII, after checking its rule (_text). */
function text(rule, value) {
  if (typeof value !== "string") throw new RangeError(`${rule.what} must be a str, got ${pyTypeName(value)}`);
  const problem = textProblem(rule, value);
  if (problem) throw new RangeError(problem);
  return concat([Uint8Array.of(value.length), ascii(value)]);
}

/** Python's is_int for a JS value: a whole number (JS has no separate int type; bool is excluded). */
function isInt(value) {
  return typeof value === "number" && Number.isInteger(value);
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function ascii(value) {
  return Uint8Array.from(value, (ch) => ch.charCodeAt(0));
}

function u32Bytes(value) {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
