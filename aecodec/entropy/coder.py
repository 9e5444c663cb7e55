"""Range coding of integer symbols under integer PMF tables (constriction; no torch).

Symbols are grouped by the table that codes them, and each group is coded in one
vectorised call, so there is no per-symbol Python loop. Encoder and decoder visit groups
in ascending table order and symbols in flat order within a group; the decoder knows the
table index of every element (it is computed exactly from already-decoded data), so it can
reproduce that order. A stream may hold several such passes in sequence, decoded one at a
time, when the tables of one pass depend on the symbols of the one before. Symbols outside a
table's range are coded as the table's escape entry and returned separately, in coding
order, for the caller to store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import constriction
import numpy as np

from aecodec.entropy.tables import PMFTables
from aecodec.errors import DesyncError

# Symbols are grouped by table one chunk of a pass at a time, so no index array spans the
# whole pass (a stable argsort of it would take 8 bytes per symbol, twice the symbols' own).
GROUP_CHUNK = 1 << 20


def _groups(table_index: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(table, positions)`` of the flat ``table_index`` in coding order: tables ascending,
    positions ascending within a table, in runs of positions from one :data:`GROUP_CHUNK` each.

    Coding a table's runs one after the other codes exactly what one call would: the range
    coder's state carries over from call to call.
    """
    if not table_index.size:
        return
    tables = int(table_index.max()) + 1
    chunks = [table_index[start : start + GROUP_CHUNK] for start in range(0, table_index.size, GROUP_CHUNK)]
    present = np.stack([np.bincount(chunk, minlength=tables) for chunk in chunks]) > 0  # (chunks, tables)
    for table in np.flatnonzero(present.any(axis=0)):
        for number in np.flatnonzero(present[:, table]):
            yield int(table), number * GROUP_CHUNK + np.flatnonzero(chunks[number] == table)


class TableCoder:
    """Codes symbols under a fixed set of integer tables.

    Building a constriction model from a large table costs milliseconds, so the models are
    built once per set of tables (once per loaded codec) and reused for every image.

    Args:
        tables: The integer PMFs, each with a trailing escape entry.
    """

    def __init__(self, tables: PMFTables) -> None:
        self.tables = tables
        self._models = [None] * len(tables)

    def model(self, index: int):
        """The constriction model of table ``index`` (built on first use)."""
        if self._models[index] is None:
            pmf = self.tables.table(index).astype(np.float64)
            self._models[index] = constriction.stream.model.Categorical(pmf / pmf.sum(), perfect=False)
        return self._models[index]

    def checked_index(self, table_index: np.ndarray) -> np.ndarray:
        """``table_index`` flattened, after checking every entry names a table."""
        # Kept in its own (often uint8) dtype: an int64 copy would cost 8 bytes per latent.
        table_index = np.asarray(table_index).ravel()
        if table_index.size and (table_index.min() < 0 or table_index.max() >= len(self.tables)):
            raise ValueError("table index out of range")
        return table_index

    def encode(self, symbols: np.ndarray, table_index: np.ndarray) -> tuple[bytes, np.ndarray]:
        """Range-code ``symbols`` (flat int), element k with table ``table_index[k]``.

        Returns:
            The compressed bytes and the escaped symbol values (int64, in coding order).
        """
        return self.encode_passes([(symbols, table_index)])

    def encode_passes(self, passes: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[bytes, np.ndarray]:
        """Range-code several ``(symbols, table_index)`` passes, in order, into one stream.

        A decoder may need the symbols of one pass to know the tables of the next (the
        checkerboard context model); one stream for all passes saves a stream's framing.
        ``passes`` may be a generator, so that only the pass being coded need exist.
        """
        encoder = constriction.stream.queue.RangeEncoder()
        escapes = []
        for symbols, table_index in passes:
            symbols = np.asarray(symbols).ravel()
            for index, members in _groups(self.checked_index(table_index)):
                escape = len(self.tables.table(index)) - 1
                values = symbols[members].astype(np.int64)
                shifted = values - self.tables.minima[index]
                outside = (shifted < 0) | (shifted >= escape)
                escapes.append(values[outside])
                shifted[outside] = escape
                encoder.encode(shifted.astype(np.int32), self.model(index))
        words = encoder.get_compressed().astype("<u4")
        return words.tobytes(), np.concatenate(escapes) if escapes else np.zeros(0, np.int64)

    def decode(self, data: bytes, table_index: np.ndarray, escapes: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode`; returns the flat int32 symbols.

        Raises:
            DesyncError: If the stream is not valid range-coder output, or needs more escape
                values than were stored, or fewer.
        """
        decoder = self.decoder(data, escapes)
        symbols = decoder.decode(table_index)
        decoder.finish()
        return symbols

    def decoder(self, data: bytes, escapes: np.ndarray) -> PassDecoder:
        """A decoder of a stream written by :meth:`encode_passes`, one pass at a time.

        Raises:
            DesyncError: If ``data`` is not a whole number of 32-bit words.
        """
        if len(data) % 4:
            raise DesyncError("entropy-coded stream length is not a whole number of words")
        return PassDecoder(self, np.frombuffer(data, dtype="<u4").astype(np.uint32), escapes)


class PassDecoder:
    """Decodes the passes of one stream in order; see :meth:`TableCoder.decoder`."""

    def __init__(self, coder: TableCoder, words: np.ndarray, escapes: np.ndarray) -> None:
        self._coder = coder
        self._decoder = constriction.stream.queue.RangeDecoder(words)
        self._escapes = escapes
        self._used = 0

    def decode(self, table_index: np.ndarray) -> np.ndarray:
        """The next pass: flat int32 symbols, element k decoded with table ``table_index[k]``.

        Raises:
            DesyncError: If the stream is invalid for its tables or runs out of escape values.
        """
        coder = self._coder
        table_index = coder.checked_index(table_index)
        symbols = np.empty(len(table_index), dtype=np.int32)  # |symbols| ≤ 2^31: escapes are i4
        for index, members in _groups(table_index):
            escape = len(coder.tables.table(index)) - 1
            try:
                shifted = np.asarray(self._decoder.decode(coder.model(index), len(members)), dtype=np.int64)
            except AssertionError as exc:  # constriction's signal for data no encoder produced
                raise DesyncError("entropy-coded stream is invalid for its probability tables") from exc
            values = shifted + coder.tables.minima[index]
            outside = np.flatnonzero(shifted == escape)
            if self._used + len(outside) > len(self._escapes):
                raise DesyncError("entropy decoder needs more escape values than the file stores")
            values[outside] = self._escapes[self._used : self._used + len(outside)]
            self._used += len(outside)
            symbols[members] = values
        return symbols

    def finish(self) -> None:
        """Check that every stored escape value was used.

        Raises:
            DesyncError: If the file stores escape values the passes did not use.
        """
        if self._used != len(self._escapes):
            raise DesyncError("file stores escape values the entropy decoder did not use")
