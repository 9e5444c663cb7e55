"""Model zoo: the manifest, each model's weights file verified by sha256, and its graph folder.

Weights live in ``weights/`` beside the package in a source checkout, or inside the
installed package (``aecodec/_weights``, put there by the wheel build); the environment
variable ``AECODEC_WEIGHTS_DIR`` overrides both. ``MANIFEST.json`` there lists every model
with its file and sha256; a file whose hash differs is refused, never loaded. The zoo only
finds and verifies files: turning them into a model is :mod:`aecodec.assembly`'s job.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from aecodec.errors import WeightsMismatchError
from aecodec.weights_format import ArchiveArrays

MANIFEST_NAME = "MANIFEST.json"
ONNX_FOLDER = "onnx"
"""Folder of the weights folder that holds one graph folder per model."""


@dataclass(frozen=True)
class ModelEntry:
    """One shipped model as the manifest lists it."""

    model_id: str
    file: Path
    sha256: str
    architecture: str
    description: str
    task: str = ""
    """For a restoration head: ``denoise`` or ``colorize``."""

    @property
    def sha256_prefix(self) -> bytes:
        """The 8 bytes of the hash that containers record."""
        return bytes.fromhex(self.sha256)[:8]


def weights_dir() -> Path:
    """Folder holding MANIFEST.json and the weights files."""
    override = os.environ.get("AECODEC_WEIGHTS_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).parent / "_weights"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "weights"


def onnx_dir(model_id: str) -> Path:
    """Folder of a model's ONNX graphs, as ``aecodec export`` writes it: ``<weights dir>/onnx/<model id>``."""
    return weights_dir() / ONNX_FOLDER / model_id


def _manifest() -> dict:
    return _read_manifest(weights_dir() / MANIFEST_NAME)


@lru_cache(maxsize=4)
def _read_manifest(path: Path) -> dict:
    """The parsed manifest, read once per process (every compress and decompress asks for it)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsMismatchError(f"cannot read the model manifest {path}: {exc}") from exc


def _entries(section: str) -> list[ModelEntry]:
    return [
        ModelEntry(
            model_id=model_id,
            file=weights_dir() / entry["file"],
            sha256=entry["sha256"],
            architecture=entry["architecture"],
            description=entry.get("description", ""),
            task=entry.get("task", ""),
        )
        for model_id, entry in _manifest().get(section, {}).items()
    ]


def models() -> list[ModelEntry]:
    """Every codec in the manifest, default first."""
    default = _manifest().get("default")
    return sorted(_entries("models"), key=lambda e: e.model_id != default)


def heads() -> list[ModelEntry]:
    """Every restoration head in the manifest (section ``heads``)."""
    return _entries("heads")


def default_head_id(task: str) -> str:
    """Id of the head the manifest names for ``task`` (``denoise`` or ``colorize``)."""
    defaults = _manifest().get("default_heads", {})
    if task not in defaults:
        raise WeightsMismatchError(f"no {task} head is installed; the model manifest names none")
    return defaults[task]


def default_model_id() -> str:
    """Id of the model used when none is named."""
    manifest = _manifest()
    if "default" not in manifest:
        raise WeightsMismatchError("the model manifest names no default model")
    return manifest["default"]


def entry(model_id: str) -> ModelEntry:
    """The manifest entry of a codec or head.

    Raises:
        WeightsMismatchError: The model is not installed; for a model the manifest lists as
            retired (removed to keep the weights small), the message names the aecodec
            release that still ships it and so decodes its files.
    """
    for candidate in models() + heads():
        if candidate.model_id == model_id:
            return candidate
    retired = _manifest().get("retired", {}).get(model_id)
    if retired:
        raise WeightsMismatchError(f"model {model_id!r} is no longer shipped; files written with it decode with {retired['decoded_by']}")
    raise WeightsMismatchError(f"unknown model {model_id!r}; `aecodec models` lists the installed ones")


def validation_curves(model_id: str) -> dict[str, list[tuple[float, float]]] | None:
    """The model's mean bpp and PSNR-RGB per quality on the validation photos, as the
    manifest records them from ``benchmarks/rd.py``: ``{"bpp": [(quality, bpp), …], "psnr":
    […]}``, or None when the manifest has no measurement for it.

    Rate control starts its search from these typical curves.
    """
    validation = _manifest().get("models", {}).get(model_id, {}).get("validation")
    if not validation:
        return None
    qualities, results = validation["qualities"], validation["results"]
    return {kind: list(zip(map(float, qualities), map(float, results[key]))) for kind, key in (("bpp", "bpp"), ("psnr", "psnr-rgb"))}


def latent_prior_weights(model_id: str, kind: str, channels: int) -> np.ndarray | None:
    """Per-channel weights (``channels``,) that turn the latent's rounding errors (``kind``
    ``"psnr"``) or channel entropies (``"bits"``) into a predicted MSE or file size
    (:mod:`aecodec.ratecontrol.predicted_curves`), as ``benchmarks/latent_priors.py`` fitted them for the
    model and recorded the non-zero ones in the manifest; None when it has no fit.

    Rate control starts from the curve they predict for the image instead of the typical one.
    """
    fitted = _manifest().get("models", {}).get(model_id, {}).get("latent_priors", {}).get(kind)
    if not fitted:
        return None
    weights = np.zeros(channels)
    for channel, weight in fitted["channel_weights"].items():
        weights[int(channel)] = weight
    return weights


def trade_off_range(model_id: str) -> tuple[float, float]:
    """``(lambda_min, lambda_max)``: the rate–distortion trade-offs the codec was trained for,
    at its first and last gain knot, as the manifest records its training config.

    Encoder-side refinement optimizes each image for the trade-off its quality was trained at.

    Raises:
        WeightsMismatchError: The manifest does not record them for this model.
    """
    config = _manifest().get("models", {}).get(model_id, {}).get("training", {}).get("train_config", {})
    try:
        return float(config["lambda_min"]), float(config["lambda_max"])
    except KeyError as exc:
        raise WeightsMismatchError(f"the manifest records no training trade-off for {model_id!r}") from exc


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=4)
def load_arrays(model_id: str) -> ArchiveArrays:
    """Verified arrays of a model's weights file (cached per process).

    The file is read once and its sha256 checked on those very bytes; each array is then
    inflated only when a loader first reads it (:class:`~aecodec.weights_format.ArchiveArrays`),
    so a backend pays only for the arrays it uses.

    Raises:
        WeightsMismatchError: The file is missing, or its sha256 is not the manifest's.
    """
    found = entry(model_id)
    try:
        data = found.file.read_bytes()
    except OSError as exc:
        raise WeightsMismatchError(f"weights file of {model_id!r} is missing: {found.file}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != found.sha256:
        raise WeightsMismatchError(f"weights file {found.file.name} has sha256 {actual[:16]}…, manifest says {found.sha256[:16]}…")
    return ArchiveArrays(data)
