"""Architecture configuration of the restoration heads, importable without torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass

TASKS = ("denoise", "colorize")
HEAD_ARCHITECTURE = "restoration-head"
SIGMA_MAX = 55.0
"""Largest noise σ (0–255 scale) the denoise head is trained on: a little past the largest
supported σ (50), so 50 is not an edge case."""
NOISE_SCALE = 50.0
"""The noise-level input carries σ / 50 (σ on the 0–255 scale), so σ 0–50 spans [0, 1]."""


@dataclass(frozen=True)
class HeadConfig:
    """Architecture of a :class:`aecodec.heads.model.RestorationHead`.

    Attributes:
        task: ``denoise`` (blind denoising and JPEG-artifact removal, RGB residual at full
            resolution, with a noise-level input channel) or ``colorize`` (chroma-bin
            logits at half resolution from a gray image).
        widths: Decoder channels at 1, 1/2, 1/4, 1/8 and 1/16 resolution.
        blocks: Residual blocks per decoder level, same order as ``widths``.
        chroma_bins: Bins per chroma axis of the colorize head's classifier.
        chroma_range: The bins cover Cb, Cr ∈ [−chroma_range, chroma_range].
    """

    task: str = "denoise"
    widths: tuple[int, ...] = (32, 64, 96, 128, 160)
    blocks: tuple[int, ...] = (1, 1, 1, 1, 1)
    chroma_bins: int = 16
    chroma_range: float = 0.4

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown head task {self.task!r}; choose one of {', '.join(TASKS)}")
        object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "blocks", tuple(self.blocks))

    @property
    def noise_input(self) -> bool:
        """Whether the head takes a noise-level map (FFDNet-style) beside the image."""
        return self.task == "denoise"

    @property
    def output_stride(self) -> int:
        """Resolution divisor of the head's output: chroma is predicted at half resolution."""
        return 2 if self.task == "colorize" else 1

    @property
    def out_channels(self) -> int:
        return self.chroma_bins**2 if self.task == "colorize" else 3

    def to_dict(self) -> dict:
        return asdict(self)
