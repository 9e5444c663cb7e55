"""Range coding of integer symbols under integer PMF tables (constriction; no torch).

Symbols are grouped by the table that codes them, and each group is coded in one
vectorised call, so there is no per-symbol Python loop. Encoder and decoder visit groups
in ascending table order and symbols in flat order within a group; the decoder knows the
table index of every element (it is computed exactly from already-decoded data), so it can
reproduce that order. Symbols outside a table's range are coded as the table's escape
entry and returned separately, in coding order, for the caller to store.
"""

from __future__ import annotations

import constriction
import numpy as np

from aecodec.entropy.tables import PMFTables
from aecodec.errors import DesyncError


def _groups(table_index: np.ndarray) -> list[tuple[int, np.ndarray]]:
    order = np.argsort(table_index, kind="stable")
    sorted_index = table_index[order]
    starts = np.flatnonzero(np.diff(sorted_index, prepend=-1))
    ends = np.append(starts[1:], len(order))
    return [(int(sorted_index[s]), order[s:e]) for s, e in zip(starts, ends)]


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

    def _model(self, index: int):
        if self._models[index] is None:
            pmf = self.tables.table(index).astype(np.float64)
            self._models[index] = constriction.stream.model.Categorical(pmf / pmf.sum(), perfect=False)
        return self._models[index]

    def _check(self, table_index: np.ndarray) -> np.ndarray:
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
        symbols = np.asarray(symbols).ravel()
        table_index = self._check(table_index)
        encoder = constriction.stream.queue.RangeEncoder()
        escapes = []
        for index, members in _groups(table_index):
            escape = len(self.tables.table(index)) - 1
            values = symbols[members].astype(np.int64)
            shifted = values - self.tables.minima[index]
            outside = (shifted < 0) | (shifted >= escape)
            escapes.append(values[outside])
            shifted[outside] = escape
            encoder.encode(shifted.astype(np.int32), self._model(index))
        words = encoder.get_compressed().astype("<u4")
        return words.tobytes(), np.concatenate(escapes) if escapes else np.zeros(0, np.int64)

    def decode(self, data: bytes, table_index: np.ndarray, escapes: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode`; returns the flat int32 symbols.

        Raises:
            DesyncError: If the stream is not valid range-coder output, or needs more escape
                values than were stored, or fewer.
        """
        table_index = self._check(table_index)
        if len(data) % 4:
            raise DesyncError("entropy-coded stream length is not a whole number of words")
        decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
        symbols = np.empty(len(table_index), dtype=np.int32)  # |symbols| ≤ 2^31: escapes are i4
        used = 0
        for index, members in _groups(table_index):
            escape = len(self.tables.table(index)) - 1
            try:
                shifted = np.asarray(decoder.decode(self._model(index), len(members)), dtype=np.int64)
            except AssertionError as exc:  # constriction's signal for data no encoder produced
                raise DesyncError("entropy-coded stream is invalid for its probability tables") from exc
            values = shifted + self.tables.minima[index]
            outside = np.flatnonzero(shifted == escape)
            if used + len(outside) > len(escapes):
                raise DesyncError("entropy decoder needs more escape values than the file stores")
            values[outside] = escapes[used : used + len(outside)]
            used += len(outside)
            symbols[members] = values
        if used != len(escapes):
            raise DesyncError("file stores escape values the entropy decoder did not use")
        return symbols
