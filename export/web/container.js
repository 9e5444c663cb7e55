/**
 * Reader of the .aec container, format 1.x: the twin of aecodec/bitstream/reader.py.
 *
 * The normative specification is the docstring of aecodec/bitstream/__init__.py. This reader
 * makes every check the Python reader makes, in the same order, and raises the same error
 * class with the same message, so a page reports a bad file exactly as the CLI does
 * (tests/test_web.py holds the two readers to that over real, golden and hostile files).
 * The input is treated as hostile: every length is checked against the bytes present and
 * against the format's limits before anything is sliced. Byte fields of the result are
 * views into the input (`subarray`), not copies.
 */

import {
  AEND, BITS, CHUNK_OVERHEAD, CHUNK_PREFIX, FORMAT_MAJOR, FORMAT_MINOR, HEAD, MAX_CHUNK_LENGTH, MAX_CHUNKS, MAX_NDIM,
  MAX_QUALITY_HUNDREDTHS, MIN_QUALITY_HUNDREDTHS, MODE, MODEL_ID, SCRC, SIDE_CHUNKS, SIGNATURE, SINGLETONS, STREAM_NAME,
  WEIGHTS_PREFIX_LEN, shapeProblem, sizeProblem, textProblem,
} from "./container_spec.js";
import { ChecksumError, FormatError, UnsupportedVersionError } from "./errors.js";
import { pyRepr } from "./pythonic.js";

/** The signature every file starts with, which a page sniffs to tell an .aec file from an image. */
export { SIGNATURE };

const CHUNK_TYPE = /^[A-Za-z]{4}$/;

/**
 * Reads only the signature and the HEAD chunk (enough to pick a model); `data` may be a
 * prefix of the file as long as it holds the whole HEAD chunk.
 *
 * @param {Uint8Array} data
 * @returns {{modelId: string, weightsSha256Prefix: Uint8Array, width: number, height: number,
 *   mode: string, quality: number, formatVersion: number[]}}
 * @throws {FormatError|ChecksumError|UnsupportedVersionError} As read_header in Python.
 */
export function readHeader(data) {
  const view = checkedView(data);
  for (const [info, body] of chunks(view)) {
    return parseHead(info, body);
  }
  throw new FormatError("truncated file: no chunks after the signature");
}

/**
 * Parses and fully validates a complete .aec file.
 *
 * @param {Uint8Array} data
 * @returns {{header: object, streams: {name: string, shape: number[], payload: Uint8Array}[],
 *   symbolCrc: number, alpha: Uint8Array|null, iccProfile: Uint8Array|null,
 *   exif: Uint8Array|null, rateTarget: Uint8Array|null,
 *   chunks: {type: string, offset: number, length: number}[]}} The fields of Python's
 *   Container; `chunks` lists every chunk read, skipped ancillary ones included.
 * @throws {FormatError|ChecksumError|UnsupportedVersionError} As read_container in Python.
 */
export function readContainer(data) {
  const view = checkedView(data);
  let header = null;
  const streams = [];
  const names = new Set();
  const blobs = new Map();
  const infos = [];
  let ended = false;
  for (const [info, body] of chunks(view)) {
    infos.push(info);
    const kind = info.type;
    if (header === null) {
      header = parseHead(info, body);
      continue;
    }
    if (SINGLETONS.has(kind) && (kind === HEAD || blobs.has(kind))) {
      throw new FormatError(`duplicate ${kind} chunk at offset ${info.offset}`);
    }
    if (kind === BITS) {
      const stream = parseBits(info, body);
      if (names.has(stream.name)) {
        throw new FormatError(
          `duplicate stream name ${pyRepr(stream.name)} in BITS chunk at offset ${info.offset}`);
      }
      names.add(stream.name);
      streams.push(stream);
    } else if (kind === SCRC) {
      if (info.length !== 4) {
        throw new FormatError(`bad SCRC chunk at offset ${info.offset}: ${info.length} bytes, expected 4`);
      }
      blobs.set(kind, body);
    } else if (SIDE_CHUNKS.has(kind)) {
      blobs.set(kind, body);
    } else if (kind === AEND) {
      if (info.length) {
        throw new FormatError(`bad AEND chunk at offset ${info.offset}: ${info.length} bytes, expected 0`);
      }
      const end = info.offset + CHUNK_OVERHEAD;
      if (end !== view.length) {
        throw new FormatError(`trailing data after AEND (${view.length - end} bytes at offset ${end})`);
      }
      ended = true;
      break;
    } else if (isUpper(kind[0])) {
      throw new FormatError(`unknown critical chunk ${pyRepr(kind)} at offset ${info.offset}`);
    }
    // Unknown ancillary chunks are safe to ignore; they stay listed in `infos`.
  }
  if (!ended) {
    if (header === null) throw new FormatError("truncated file: no chunks after the signature");
    throw new FormatError(`truncated file: no AEND chunk (file ends at offset ${view.length})`);
  }
  if (!streams.length) throw new FormatError("no BITS chunk: the file holds no coded streams");
  if (!blobs.has(SCRC)) throw new FormatError("missing SCRC chunk");
  const container = { header, streams, symbolCrc: u32(blobs.get(SCRC), 0) };
  for (const [kind, field] of SIDE_CHUNKS) container[field] = blobs.get(kind) ?? null;
  container.chunks = infos;
  return container;
}

/** CRC-32 of PNG, zip and gzip (zlib.crc32), continuing from `crc`. */
export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function checkedView(data) {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`expected Uint8Array, got ${data === null ? "null" : typeof data}`);
  }
  if (data.length === 0) throw new FormatError("empty file");
  if (data.length < SIGNATURE.length || SIGNATURE.some((byte, i) => data[i] !== byte)) {
    throw new FormatError("not an .aec file (bad signature)");
  }
  return data;
}

/**
 * Yields every chunk after the signature with its data, checking framing and CRC; the
 * first chunk must be HEAD (checked here so that the two readers cannot disagree).
 */
function* chunks(view) {
  let pos = SIGNATURE.length;
  const end = view.length;
  let count = 0;
  while (pos < end) {
    if (count === MAX_CHUNKS) throw new FormatError(`too many chunks (more than ${MAX_CHUNKS})`);
    if (end - pos < CHUNK_PREFIX) {
      throw new FormatError(`truncated file: incomplete chunk header at offset ${pos}`);
    }
    const length = u32(view, pos);
    const rawType = view.subarray(pos + 4, pos + CHUNK_PREFIX);
    if (length > MAX_CHUNK_LENGTH) {
      throw new FormatError(`chunk at offset ${pos} declares ${length} bytes (limit ${MAX_CHUNK_LENGTH})`);
    }
    if (length > end - pos - CHUNK_OVERHEAD) {
      throw new FormatError(
        `truncated file: chunk at offset ${pos} declares ${length} data bytes, needing ` +
        `${length + 4} bytes with its CRC, but only ${end - pos - CHUNK_PREFIX} remain`);
    }
    const kind = String.fromCharCode(...rawType);
    if (!CHUNK_TYPE.test(kind)) {
      throw new FormatError(`invalid chunk type ${pyRepr(rawType)} at offset ${pos}`);
    }
    const body = view.subarray(pos + CHUNK_PREFIX, pos + CHUNK_PREFIX + length);
    const stored = u32(view, pos + CHUNK_PREFIX + length);
    if (crc32(body, crc32(rawType)) !== stored) {
      throw new ChecksumError(`checksum mismatch in ${kind} chunk at offset ${pos} (the file is corrupt)`);
    }
    if (count === 0 && kind !== HEAD) {
      throw new FormatError(`first chunk must be HEAD, found ${pyRepr(kind)} at offset ${pos}`);
    }
    count += 1;
    yield [{ type: kind, offset: pos, length }, body];
    pos += CHUNK_OVERHEAD + length;
  }
}

/** Sequential reader over one chunk's data that reports short data as FormatError. */
class Fields {
  constructor(info, body) {
    this.info = info;
    this.body = body;
    this.pos = 0;
  }

  error(problem) {
    return new FormatError(`bad ${this.info.type} chunk at offset ${this.info.offset}: ${problem}`);
  }

  take(size, what) {
    if (size > this.body.length - this.pos) throw this.error(`too short (${what} missing)`);
    const piece = this.body.subarray(this.pos, this.pos + size);
    this.pos += size;
    return piece;
  }

  uint(size, what) {
    let value = 0;
    for (const byte of this.take(size, what)) value = value * 256 + byte;
    return value;
  }

  /** A u8-length-prefixed field, decoded as Latin-1 (never fails; the rule rejects non-ASCII). */
  text(rule) {
    const value = String.fromCharCode(...this.take(this.uint(1, `${rule.what} length`), rule.what));
    const problem = textProblem(rule, value);
    if (problem) throw this.error(problem);
    return value;
  }

  rest() {
    const piece = this.body.subarray(this.pos);
    this.pos = this.body.length;
    return piece;
  }
}

/** Parses HEAD data; the version is checked before the version-dependent fields. */
function parseHead(info, body) {
  const fields = new Fields(info, body);
  const major = fields.uint(1, "format major");
  const minor = fields.uint(1, "format minor");
  if (major > FORMAT_MAJOR) {
    throw new UnsupportedVersionError(
      `file needs aecodec format version ${major}.${minor}; ` +
      `this aecodec reads ${FORMAT_MAJOR}.x \u2014 upgrade aecodec`);
  }
  if (major < 1) throw fields.error(`invalid format version ${major}.${minor}`);
  const modelId = fields.text(MODEL_ID);
  const weightsSha256Prefix = fields.take(WEIGHTS_PREFIX_LEN, "weights hash");
  const width = fields.uint(4, "width");
  const height = fields.uint(4, "height");
  const sizeWrong = sizeProblem(width, height);
  if (sizeWrong) throw fields.error(sizeWrong);
  const mode = fields.text(MODE);
  const hundredths = fields.uint(2, "quality");
  if (!(MIN_QUALITY_HUNDREDTHS <= hundredths && hundredths <= MAX_QUALITY_HUNDREDTHS)) {
    throw fields.error(`quality ${twoDecimals(hundredths)} is outside 1.00..100.00`);
  }
  const flags = fields.uint(2, "flags");
  if (major < FORMAT_MAJOR || (major === FORMAT_MAJOR && minor <= FORMAT_MINOR)) {
    // A newer minor may define safe-to-ignore flags and append fields; 1.0 may not.
    if (flags) throw fields.error(`reserved flags 0x${flags.toString(16).padStart(4, "0")} are set`);
    const extra = fields.rest().length;
    if (extra) throw fields.error(`${extra} unexpected bytes after the flags field`);
  }
  return { modelId, weightsSha256Prefix, width, height, mode, quality: hundredths / 100, formatVersion: [major, minor] };
}

/** Parses BITS data; the shape is checked before the payload is taken. */
function parseBits(info, body) {
  const fields = new Fields(info, body);
  const name = fields.text(STREAM_NAME);
  const ndim = fields.uint(1, "ndim");
  if (!(1 <= ndim && ndim <= MAX_NDIM)) {
    throw fields.error(`stream ${pyRepr(name)} has ${ndim} dimensions (allowed 1..${MAX_NDIM})`);
  }
  const shape = [];
  for (let i = 0; i < ndim; i++) shape.push(fields.uint(4, "shape"));
  const problem = shapeProblem(shape);
  if (problem) throw fields.error(`stream ${pyRepr(name)}: ${problem}`);
  return { name, shape, payload: fields.rest() };
}

function u32(bytes, pos) {
  return ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>> 0;
}

function isUpper(letter) {
  return letter >= "A" && letter <= "Z";
}

/** Python's `f"{hundredths / 100:.2f}"`, from the integer (exact, no float formatting). */
function twoDecimals(hundredths) {
  return `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, "0")}`;
}
