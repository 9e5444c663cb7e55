"""The files of a model's ONNX folder: their names, whether they are current, their cards.

``aecodec export`` writes one folder per model, ``weights/onnx/<model id>/``, holding the
four graphs (one per network; five with a checkerboard context model), a JSON model card
beside each graph, two data cards with the numbers an embedder needs besides the graphs
(``gains.json``: the per-channel gains and how quality selects them;
``entropy_tables.json``: the integer probability tables), and ``export.json``, which names
the weights (by sha256) everything was exported from. Files exported from other weights
would decode with the wrong transforms or tables, so the folder is checked against that
record before it is used (:func:`staleness`, called by :mod:`aecodec.assembly`); the check
is cheap (nothing is hashed) because the weights file itself is verified against the
manifest whenever it is loaded. Where the folder lies is the zoo's business
(:func:`aecodec.zoo.onnx_dir`).
Nothing here needs torch or onnxruntime.
"""

from __future__ import annotations

import json
from pathlib import Path

EXPORT_RECORD = "export.json"
LAYOUT = 5
"""Version of what a graph folder holds, bumped whenever graphs or cards change meaning.

2: analysis.onnx outputs all four backbone stages; 3: gains.json gained low_rate_deadzone;
4: a model with a checkerboard context model has context.onnx, and its cards describe the
two-pass quantization and coding of y, which a host following a layout-3 folder of such a
model would get wrong (and every model's entropy_tables.json now tells how passes are ordered);
5: a head graph takes the backbone codec's whole latent output and reads its first M channels,
so a codec with detail channels (appended after them) can be a head's backbone; gains.json
gained highest_rate_parameter (quality 100's rate, which may lie above the last knot, where
the gains now extrapolate the last segment instead of holding the last knot).
"""

# One graph per network; the float ones are rate-free (the host applies the gains), so the
# onnx backend and embedders run the same graphs. Every codec has the four of GRAPHS; a
# codec with a checkerboard context model also has CONTEXT (see codec_graphs).
ANALYSIS = "analysis.onnx"
HYPER_ANALYSIS = "hyper_analysis.onnx"
SYNTHESIS = "synthesis.onnx"
HYPER_DECODER = "hyper_decoder.onnx"
CONTEXT = "context.onnx"
GRAPHS = (ANALYSIS, HYPER_ANALYSIS, SYNTHESIS, HYPER_DECODER)

# A restoration head is one graph fed by the backbone graph (the codec's analysis.onnx),
# whose outputs are all four g_a stages: one backbone, run once, for the codec and heads.
HEAD = "head.onnx"
BACKBONE_OUTPUTS = ("features_2", "features_4", "features_8", "latent")

# Data cards: the numbers besides the graphs that a host in any language needs.
GAINS = "gains.json"
ENTROPY_TABLES = "entropy_tables.json"
DATA_CARDS = (GAINS, ENTROPY_TABLES)


def codec_graphs(context: bool) -> tuple[str, ...]:
    """The graphs of a codec: :data:`GRAPHS`, and :data:`CONTEXT` when it has a context model.

    A codec without a context model has no context.onnx at all (rather than a graph that
    changes nothing), so its folder stays what it was before context models existed.
    """
    return GRAPHS + (CONTEXT,) if context else GRAPHS


def codec_files(context: bool) -> tuple[str, ...]:
    """Every file of a codec's folder that export.json records a sha256 of: all a host reads apart from the graph cards."""
    return codec_graphs(context) + DATA_CARDS


def read_record(folder: Path) -> dict:
    """The parsed ``export.json`` of a graph folder.

    Raises:
        OSError, ValueError: The record is missing or not JSON.
    """
    return json.loads((folder / EXPORT_RECORD).read_text(encoding="utf-8"))


def staleness(folder: Path, model_id: str, sha256: str, graphs: tuple[str, ...] | None = None) -> str | None:
    """Why the files in ``folder`` cannot stand in for ``model_id``'s weights, or None.

    Args:
        folder: The graph folder.
        model_id: Model the folder must have been exported for.
        sha256: Hex sha256 of that model's installed weights, which the export record must name.
        graphs: Files that must be present: by default every file of the folder's kind, as
            the export record (written from these very weights) tells it: the graph of a
            head, or every graph and data card of a codec (context.onnx when it has a context
            model); a backend passes only the graphs it runs.

    Returns:
        A one-line reason ("no ONNX graphs for …", "… exported from other weights …"), or
        None when the files are current.
    """
    try:
        record = read_record(folder)
    except (OSError, ValueError):
        return f"no ONNX graphs for {model_id} in {folder}"
    if record.get("layout") != LAYOUT:
        return f"ONNX graphs of {model_id} in {folder} are from an older aecodec export layout"
    if record.get("model_id") != model_id:
        return f"{folder} holds graphs of {record.get('model_id')!r}, not {model_id!r}"
    if graphs is None:
        listed = record.get("files", {})
        graphs = (HEAD,) if HEAD in listed else codec_files(CONTEXT in listed)
    exported = str(record.get("weights_sha256", ""))
    if exported != sha256:
        return f"ONNX graphs of {model_id} were exported from weights {exported[:16]}…, installed are {sha256[:16]}…"
    missing = [name for name in graphs if not (folder / name).is_file()]
    if missing:
        return f"ONNX graphs of {model_id} are incomplete: {', '.join(missing)} missing in {folder}"
    return None


def card_name(graph: str) -> str:
    """File name of a graph's model card: ``synthesis.onnx`` → ``synthesis.json``."""
    return graph.removesuffix(".onnx") + ".json"
