"""Overlapping tiles, so the float networks run on any image size in bounded memory.

The transforms are convolutional: an output element depends only on inputs within the
network's receptive field. A tile read with a margin at least half that field, and cropped
back to its interior, therefore computes the same values as the whole image would (up to
float summation order), so tiles leave no seams and the bitstream does not depend on the
tiling: a file coded in tiles decodes untiled and the reverse. Only the peak memory changes:
the full-resolution activations of one tile instead of the whole image.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One tile along one axis: the range read (with margins) and the range kept.

    Attributes:
        read_start: First index read.
        read_end: One past the last index read.
        keep_start: First index whose result this tile provides.
        keep_end: One past the last such index.
    """

    read_start: int
    read_end: int
    keep_start: int
    keep_end: int

    def kept(self, scale: int = 1) -> slice:
        """The kept range within the tile's own output, whose elements are ``scale`` inputs apart."""
        return slice((self.keep_start - self.read_start) // scale, (self.keep_end - self.read_start) // scale)


def spans(length: int, tile: int, margin: int) -> list[Span]:
    """Tiles of ``tile`` elements covering ``length``, each read with ``margin`` more per side.

    A length up to ``tile`` is one span without margins: small images run exactly as before.
    """
    return [
        Span(max(0, start - margin), min(length, start + tile + margin), start, min(length, start + tile))
        for start in range(0, length, tile)
    ]
