/**
 * Constants, limits and field rules of the .aec container, format 1.x: the twin of
 * aecodec/bitstream/spec.py, shared by the reader (container.js) and the writer
 * (container_writer.js) so that the two cannot drift apart, as in Python. Each `*Problem`
 * function returns a one-line description of what is wrong with a value, or null; the
 * caller decides whether that is a programmer error (the writer's RangeError, Python's
 * ValueError) or a malformed file (the reader's FormatError).
 */

import { pyRepr, pyTuple } from "./pythonic.js";

export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 0;
export const SIGNATURE = Uint8Array.of(0x8b, 0x41, 0x45, 0x43, 0x0d, 0x0a, 0x1a, 0x0a);

/** Chunk types; an uppercase first letter is critical, a lowercase one ancillary. */
export const HEAD = "HEAD";
export const BITS = "BITS";
export const SCRC = "SCRC";
export const AEND = "AEND";
/** The side-data chunks, in canonical order, with the container field each one stores. */
export const SIDE_CHUNKS = new Map([["ALPH", "alpha"], ["iCCP", "iccProfile"], ["eXIf", "exif"], ["tRGT", "rateTarget"]]);
/** Chunk types that may appear at most once (HEAD, SCRC and AEND exactly once). */
export const SINGLETONS = new Set([HEAD, SCRC, ...SIDE_CHUNKS.keys(), AEND]);

/** Framing around each chunk's data: u32 length + 4-byte type, then the u32 CRC. */
export const CHUNK_PREFIX = 8;
export const CHUNK_OVERHEAD = 12;
export const WEIGHTS_PREFIX_LEN = 8;

/** Limits, checked by the reader before it allocates or slices anything. */
export const MAX_CHUNK_LENGTH = 2 ** 31;
export const MAX_CHUNKS = 4096;
export const MAX_SIDE = 65535;
export const MAX_PIXELS = 2 ** 28;
export const MAX_NDIM = 4;
export const MAX_DIM = 2 ** 24;
export const MAX_ELEMENTS = 2 ** 32;
export const MIN_QUALITY_HUNDREDTHS = 100;
export const MAX_QUALITY_HUNDREDTHS = 10000;
export const MAX_U32 = 2 ** 32 - 1;

/**
 * The spelling rules of the short text fields (spec.py's TextRule): the name in messages,
 * the regular-expression character class, the most characters (the fewest is always 1).
 *
 * @typedef {{what: string, charset: string, maxLen: number, pattern: RegExp}} TextRule
 */
export const MODEL_ID = textRule("model id", "[a-z0-9._-]", 64);
export const MODE = textRule("image mode", "[A-Za-z0-9;]", 8);
export const STREAM_NAME = textRule("stream name", "[A-Za-z0-9._-]", 32);

/** Why `value` (a string) breaks `rule`, or null (TextRule.problem). */
export function textProblem(rule, value) {
  if (rule.pattern.test(value)) return null;
  return `${rule.what} ${pyRepr(value)} is not 1..${rule.maxLen} characters of ${rule.charset}`;
}

/** Why an image size is out of the format's range, or null (size_problem). */
export function sizeProblem(width, height) {
  if (width >= 1 && width <= MAX_SIDE && height >= 1 && height <= MAX_SIDE && width * height <= MAX_PIXELS) return null;
  return `image size ${width}x${height} is out of range (each side 1..${MAX_SIDE}, at most ${MAX_PIXELS} pixels)`;
}

/**
 * Why a stream shape (integers) is not 1..4 dimensions of 0..2^24 with at most 2^32
 * elements, or null (shape_problem). The product is exact where it matters: below 2^53
 * every product is exact, and one beyond that is far beyond 2^32.
 */
export function shapeProblem(shape) {
  if (shape.length < 1 || shape.length > MAX_NDIM) return `shape has ${shape.length} dimensions (allowed 1..${MAX_NDIM})`;
  if (shape.some((dim) => dim < 0 || dim > MAX_DIM)) return `shape ${pyTuple(shape)} has a dimension outside 0..${MAX_DIM}`;
  if (shape.reduce((product, dim) => product * dim, 1) > MAX_ELEMENTS) return `shape ${pyTuple(shape)} has more than ${MAX_ELEMENTS} elements`;
  return null;
}

function textRule(what, charset, maxLen) {
  return { what, charset, maxLen, pattern: new RegExp(`^${charset}{1,${maxLen}}$`) };
}
