/**
 * Decoding of symbols coded under aecodec's integer tables: the twin of the decoder half of
 * aecodec/entropy/coder.py (TableCoder.decoder and PassDecoder).
 *
 * A stream holds one or more passes. Within a pass, symbols are visited in ascending table
 * order and, within a table, in ascending flat position; the caller knows the table of
 * every element, so it can reproduce that order. Table `t` codes the symbols
 * `minima[t] .. minima[t] + size - 1` directly; its last entry is the escape, whose true
 * value is the next one of the file's escape stream (in coding order).
 */

import { quantizedCdf } from "./categorical.js";
import { DesyncError } from "./errors.js";
import { RangeDecoder } from "./range_decoder.js";

export class TableDecoder {
  /**
   * @param {{pmf: ArrayLike<number>, offsets: ArrayLike<number>, minima: ArrayLike<number>}} tables
   *   The integer PMFs of a PMFTables (aecodec/entropy/tables.py), each table
   *   `pmf[offsets[t] .. offsets[t + 1]]` with its trailing escape entry.
   */
  constructor(tables) {
    this.pmf = tables.pmf;
    this.offsets = tables.offsets;
    this.minima = tables.minima;
    this.count = tables.minima.length;
    // CDFs are built on first use, as coder.py builds its constriction models.
    this.cdfs = new Array(this.count).fill(null);
  }

  /** The quantized CDF of table `index` (RangeError where constriction refuses the table). */
  cdf(index) {
    if (this.cdfs[index] === null) {
      const start = this.offsets[index];
      const end = this.offsets[index + 1];
      this.cdfs[index] = quantizedCdf(Array.prototype.slice.call(this.pmf, start, end));
    }
    return this.cdfs[index];
  }

  /**
   * The groups of one pass in coding order, tables ascending, each with its positions
   * (ascending), its table's CDF, escape symbol and minimum: the loop both coders run
   * (table_encoder.js too).
   *
   * @param {ArrayLike<number>} tableIndex The table of each element of the pass.
   * @returns {Iterable<{positions: Int32Array, cdf: Uint32Array, escape: number, minimum: number}>}
   * @throws {RangeError} "table index out of range", where Python raises ValueError.
   */
  *groups(tableIndex) {
    const members = groupByTable(tableIndex, this.count);
    for (let table = 0; table < this.count; table++) {
      const positions = members[table];
      if (!positions.length) continue;
      const cdf = this.cdf(table);
      yield { positions, cdf, escape: cdf.length - 2, minimum: this.minima[table] };
    }
  }

  /**
   * A decoder of a stream's passes.
   *
   * @param {Uint8Array} data The stream: little-endian u32 words.
   * @param {ArrayLike<number>} escapes The escaped values stored beside the stream.
   * @returns {PassDecoder}
   * @throws {DesyncError} If `data` is not a whole number of words.
   */
  decoder(data, escapes) {
    if (data.length % 4) {
      throw new DesyncError("entropy-coded stream length is not a whole number of words");
    }
    const words = new Uint32Array(data.length / 4);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, true);
    return new PassDecoder(this, words, escapes);
  }

  /** One pass, then the check that every escape was used (TableCoder.decode). */
  decode(data, tableIndex, escapes) {
    const decoder = this.decoder(data, escapes);
    const symbols = decoder.decode(tableIndex);
    decoder.finish();
    return symbols;
  }
}

export class PassDecoder {
  constructor(tables, words, escapes) {
    this.tables = tables;
    this.rangeDecoder = new RangeDecoder(words);
    this.escapes = escapes;
    this.used = 0;
  }

  /**
   * The next pass.
   *
   * @param {ArrayLike<number>} tableIndex The table of each element, in flat order.
   * @returns {Int32Array} The symbols, element k decoded with table `tableIndex[k]`.
   * @throws {DesyncError} If the stream is invalid for its tables or runs out of escapes.
   * @throws {RangeError} If a table index names no table.
   */
  decode(tableIndex) {
    const symbols = new Int32Array(tableIndex.length);
    for (const { positions, cdf, escape, minimum } of this.tables.groups(tableIndex)) {
      // The whole group is decoded before its escapes are counted, as coder.py does.
      const shifted = new Int32Array(positions.length);
      for (let k = 0; k < positions.length; k++) shifted[k] = this.rangeDecoder.decode(cdf);
      let outside = 0;
      for (let k = 0; k < positions.length; k++) outside += shifted[k] === escape;
      if (this.used + outside > this.escapes.length) {
        throw new DesyncError("entropy decoder needs more escape values than the file stores");
      }
      for (let k = 0; k < positions.length; k++) {
        symbols[positions[k]] = shifted[k] === escape ? this.escapes[this.used++] : shifted[k] + minimum;
      }
    }
    return symbols;
  }

  /** @throws {DesyncError} If the file stores escape values the passes did not use. */
  finish() {
    if (this.used !== this.escapes.length) {
      throw new DesyncError("file stores escape values the entropy decoder did not use");
    }
  }
}

/** The flat positions of each table, ascending, after checking every index names a table. */
function groupByTable(tableIndex, count) {
  const sizes = new Int32Array(count);
  for (let k = 0; k < tableIndex.length; k++) {
    const table = tableIndex[k];
    if (!(Number.isInteger(table) && table >= 0 && table < count)) throw new RangeError("table index out of range");
    sizes[table] += 1;
  }
  const members = Array.from(sizes, (size) => new Int32Array(size));
  const filled = new Int32Array(count);
  for (let k = 0; k < tableIndex.length; k++) {
    const table = tableIndex[k];
    members[table][filled[table]++] = k;
  }
  return members;
}
