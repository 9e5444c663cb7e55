/**
 * The error classes of aecodec (aecodec/errors.py), with the same names and hierarchy, so a
 * page can tell a corrupt file from a newer format, a desynced stream or a bad input (a
 * quality out of range, an image too large to encode) the way Python does.
 * Each class sets `name` to its Python class name; messages are Python's, word for word.
 */

/** Base class of every error aecodec raises on purpose. */
export class AecodecError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** An input (image, option, config) that aecodec cannot use. */
export class InputError extends AecodecError {}

/** Bytes that are not a well-formed .aec container. */
export class FormatError extends AecodecError {}

/** A chunk whose CRC-32 does not match its contents (corruption in storage or transfer). */
export class ChecksumError extends FormatError {}

/** A container written by a newer, incompatible major version of the format. */
export class UnsupportedVersionError extends FormatError {}

/** A file coded with weights that are not installed, or a weights file with a wrong hash. */
export class WeightsMismatchError extends AecodecError {}

/** Decoded symbols do not match the CRC the encoder stored: the entropy decoder desynced. */
export class DesyncError extends AecodecError {}
