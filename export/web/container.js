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

import { ChecksumError, FormatError, UnsupportedVersionError } from "./errors.js";

export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;
export const SIGNATURE = Uint8Array.of(0x8b, 0x41, 0x45, 0x43, 0x0d, 0x0a, 0x1a, 0x0a);

const HEAD = "HEAD";
const BITS = "BITS";
const SCRC = "SCRC";
const ALPH = "ALPH";
const ICCP = "iCCP";
const EXIF = "eXIf";
const TRGT = "tRGT";
const AEND = "AEND";
const SINGLETONS = new Set([HEAD, SCRC, ALPH, ICCP, EXIF, TRGT, AEND]);
const BLOB_FIELDS = new Map([[ALPH, "alpha"], [ICCP, "iccProfile"], [EXIF, "exif"], [TRGT, "rateTarget"]]);

const CHUNK_PREFIX = 8;
const CHUNK_OVERHEAD = 12;
const WEIGHTS_PREFIX_LEN = 8;
const MAX_CHUNK_LENGTH = 2 ** 31;
const MAX_CHUNKS = 4096;
const MAX_SIDE = 65535;
const MAX_PIXELS = 2 ** 28;
const MAX_NDIM = 4;
const MAX_DIM = 2 ** 24;
const MAX_ELEMENTS = 2n ** 32n;
const MIN_QUALITY_HUNDREDTHS = 100;
const MAX_QUALITY_HUNDREDTHS = 10000;

/** The spelling rules of the text fields (spec.py's TextRule): name, character class, length. */
const MODEL_ID = { what: "model id", charset: "[a-z0-9._-]", maxLen: 64 };
const MODE = { what: "image mode", charset: "[A-Za-z0-9;]", maxLen: 8 };
const STREAM_NAME = { what: "stream name", charset: "[A-Za-z0-9._-]", maxLen: 32 };
for (const rule of [MODEL_ID, MODE, STREAM_NAME]) {
  rule.pattern = new RegExp(`^${rule.charset}{1,${rule.maxLen}}$`);
}

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
    } else if (BLOB_FIELDS.has(kind)) {
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
  for (const [kind, field] of BLOB_FIELDS) container[field] = blobs.get(kind) ?? null;
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
      throw new FormatError(`invalid chunk type ${pyRepr(kind, true)} at offset ${pos}`);
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
    if (!rule.pattern.test(value)) {
      throw this.error(`${rule.what} ${pyRepr(value)} is not 1..${rule.maxLen} characters of ${rule.charset}`);
    }
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
  if (!(1 <= width && width <= MAX_SIDE && 1 <= height && height <= MAX_SIDE && width * height <= MAX_PIXELS)) {
    throw fields.error(
      `image size ${width}x${height} is out of range (each side 1..${MAX_SIDE}, at most ${MAX_PIXELS} pixels)`);
  }
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
  const shown = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  if (shape.some((dim) => dim > MAX_DIM)) {
    throw fields.error(`stream ${pyRepr(name)}: shape ${shown} has a dimension outside 0..${MAX_DIM}`);
  }
  if (shape.reduce((product, dim) => product * BigInt(dim), 1n) > MAX_ELEMENTS) {
    throw fields.error(`stream ${pyRepr(name)}: shape ${shown} has more than ${MAX_ELEMENTS} elements`);
  }
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

/**
 * Python's repr() of a str whose characters are all below U+0100 (a Latin-1 decoded field),
 * or with `asBytes` of a bytes object, so that messages quoting a bad field match Python's.
 */
function pyRepr(text, asBytes = false) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = (asBytes ? "b" : "") + quote;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f || (code > 0x7f && (asBytes || code <= 0xa0 || code === 0xad))) {
      // Not printable for Python: C0 and C1 controls, DEL, NO-BREAK SPACE, SOFT HYPHEN.
      out += "\\x" + code.toString(16).padStart(2, "0");
    } else out += ch;
  }
  return out + quote;
}
