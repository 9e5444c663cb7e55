/**
 * Range coding of symbols under aecodec's integer tables: the twin of the encoder half of
 * aecodec/entropy/coder.py (TableCoder.encode and encode_passes), and of table_decoder.js.
 *
 * Each pass is coded in groups: tables ascending and, within a table, flat positions
 * ascending, the order the decoder can reproduce from the table indexes alone. Table `t`
 * codes `minima[t] .. minima[t] + size - 1` directly; any other value is coded as its last
 * (escape) entry and returned in the escape list, in coding order, for the caller to store.
 */

import { RangeEncoder } from "./range_encoder.js";
import { TableDecoder } from "./table_decoder.js";

export class TableEncoder {
  /**
   * @param {TableDecoder | {pmf: ArrayLike<number>, offsets: ArrayLike<number>, minima: ArrayLike<number>}} tables
   *   A model's TableDecoder, or the tables as TableDecoder takes them: the integer PMFs of
   *   a PMFTables, escape entry last.
   */
  constructor(tables) {
    // The decoder's tables, whose CDFs it builds on first use, so both sides code with the
    // very same CDF of each table (and a page that decodes and encodes builds each once).
    this.tables = tables instanceof TableDecoder ? tables : new TableDecoder(tables);
  }

  /**
   * One pass (TableCoder.encode).
   *
   * @param {ArrayLike<number>} symbols Flat integer symbols.
   * @param {ArrayLike<number>} tableIndex The table of each symbol.
   * @returns {{bytes: Uint8Array, escapes: Int32Array}}
   */
  encode(symbols, tableIndex) {
    return this.encodePasses([[symbols, tableIndex]]);
  }

  /**
   * Several passes, in order, into one stream (TableCoder.encode_passes).
   *
   * @param {Iterable<[ArrayLike<number>, ArrayLike<number>]>} passes `[symbols, tableIndex]`
   *   pairs; an iterable, so that only the pass being coded need exist.
   * @returns {{bytes: Uint8Array, escapes: Int32Array}} The stream (little-endian u32 words)
   *   and the escaped values, in coding order.
   * @throws {RangeError} A table index names no table ("table index out of range"), where
   *   Python raises ValueError; or a table constriction refuses.
   */
  encodePasses(passes) {
    const encoder = new RangeEncoder();
    const escapes = [];
    for (const [symbols, tableIndex] of passes) {
      if (symbols.length !== tableIndex.length) {
        throw new RangeError(`${symbols.length} symbols for ${tableIndex.length} table indexes`);
      }
      for (const { positions, cdf, escape, minimum } of this.tables.groups(tableIndex)) {
        for (const position of positions) {
          const value = symbols[position];
          const shifted = value - minimum;
          if (shifted >= 0 && shifted < escape) encoder.encode(shifted, cdf);
          else {
            escapes.push(value);
            encoder.encode(escape, cdf);
          }
        }
      }
    }
    return { bytes: littleEndianWords(encoder.words()), escapes: Int32Array.from(escapes) };
  }
}

/** Words as the bytes of numpy's `astype("<u4").tobytes()`. */
function littleEndianWords(words) {
  const bytes = new Uint8Array(4 * words.length);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => view.setUint32(4 * i, word, true));
  return bytes;
}
