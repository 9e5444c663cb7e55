"""The files of a model's ONNX folder: where it is, whether it is current, its cards.

``aecodec export`` writes one folder per model, ``weights/onnx/<model id>/``, holding the
four graphs (one per network; five with a checkerboard context model), a JSON model card
beside each graph, two data cards with the numbers an embedder needs besides the graphs
(``gains.json``: the per-channel gains and how quality selects them;
``entropy_tables.json``: the integer probability tables), and ``export.json``, which names
the weights (by sha256) everything was exported from. Files exported from other weights
would decode with the wrong transforms or tables, so every user of the folder checks that
record first; the check is cheap (nothing is hashed) because the weights file itself is
verified against the manifest whenever it is loaded.
Nothing here needs torch or onnxruntime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aecodec import zoo
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.frozen import DEADZONE_PER_RATE_UNIT, LATENT_SYMBOL_MAX, QUALITY_MAX, QUALITY_MIN
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.entropy.tables import ESCAPE_VALUE_BITS, PRECISION_BITS, SCALE_BIN_COUNT, SCALE_BIN_STEP, SCALE_LOG_MIN, PMFTables

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
ONNX_FOLDER = "onnx"

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

_FIXED_POINT = 2**ACTIVATION_FRACTION_BITS


def codec_graphs(context: bool) -> tuple[str, ...]:
    """The graphs of a codec: :data:`GRAPHS`, and :data:`CONTEXT` when it has a context model.

    A codec without a context model has no context.onnx at all (rather than a graph that
    changes nothing), so its folder stays what it was before context models existed.
    """
    return GRAPHS + (CONTEXT,) if context else GRAPHS


def codec_files(context: bool) -> tuple[str, ...]:
    """Every file of a codec's folder that export.json records a sha256 of: all a host reads apart from the graph cards."""
    return codec_graphs(context) + DATA_CARDS


def onnx_dir(model_id: str) -> Path:
    """Default folder of a model's graphs: ``<weights dir>/onnx/<model id>``."""
    return zoo.weights_dir() / ONNX_FOLDER / model_id


def read_record(folder: Path) -> dict:
    """The parsed ``export.json`` of a graph folder.

    Raises:
        OSError, ValueError: The record is missing or not JSON.
    """
    return json.loads((folder / EXPORT_RECORD).read_text(encoding="utf-8"))


def staleness(model_id: str, folder: Path | None = None, graphs: tuple[str, ...] | None = None) -> str | None:
    """Why the files in ``folder`` cannot stand in for ``model_id``'s weights, or None.

    Args:
        model_id: Model whose installed weights (as the manifest lists them) must match.
        folder: Graph folder; default :func:`onnx_dir`.
        graphs: Files that must be present: by default every graph and data card of a
            codec (context.onnx when the export record, written from these very weights,
            lists it) or the graph of a head; the backend passes only the graphs it runs.

    Returns:
        A one-line reason ("no ONNX graphs for …", "… exported from other weights …"), or
        None when the files are current.
    """
    folder = folder or onnx_dir(model_id)
    try:
        record = read_record(folder)
    except (OSError, ValueError):
        return f"no ONNX graphs for {model_id} in {folder}"
    if record.get("layout") != LAYOUT:
        return f"ONNX graphs of {model_id} in {folder} are from an older aecodec export layout"
    if record.get("model_id") != model_id:
        return f"{folder} holds graphs of {record.get('model_id')!r}, not {model_id!r}"
    entry = zoo.entry(model_id)
    if graphs is None:
        graphs = (HEAD,) if entry.task else codec_files(CONTEXT in record.get("files", {}))
    installed = entry.sha256
    exported = str(record.get("weights_sha256", ""))
    if exported != installed:
        return f"ONNX graphs of {model_id} were exported from weights {exported[:16]}…, installed are {installed[:16]}…"
    missing = [name for name in graphs if not (folder / name).is_file()]
    if missing:
        return f"ONNX graphs of {model_id} are incomplete: {', '.join(missing)} missing in {folder}"
    return None


def card_name(graph: str) -> str:
    """File name of a graph's model card: ``synthesis.onnx`` → ``synthesis.json``."""
    return graph.removesuffix(".onnx") + ".json"


def _numeric(value: object) -> bool:
    if isinstance(value, list):
        return all(_numeric(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def card_text(card: object, depth: int = 0) -> str:
    """JSON indented for reading, except numeric arrays, which stay on one line.

    The data cards hold tens of thousands of numbers; one per line would triple their size
    and bury the prose fields between them.
    """
    if isinstance(card, dict) and card:
        inner = "  " * (depth + 1)
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {card_text(value, depth + 1)}" for key, value in card.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    if isinstance(card, list) and card and not _numeric(card):
        inner = "  " * (depth + 1)
        return "[\n" + ",\n".join(inner + card_text(item, depth + 1) for item in card) + "\n" + "  " * depth + "]"
    return json.dumps(card, ensure_ascii=False, separators=(", ", ": ") if not _numeric(card) else (",", ":"))


def _tensor(name: str, dtype: str, shape: list, meaning: str) -> dict:
    return {"name": name, "dtype": dtype, "shape": shape, "layout": "NCHW", "meaning": meaning}


@dataclass(frozen=True)
class _YSteps:
    """What a host does with the latent symbols after h_s, with or without a context model.

    Attributes:
        encoder: Steps of the encoder after the symbols are rounded with h_s's mean.
        decoder: How the decoder gets the symbols and ŷ_g from the container.
        tables: How each latent symbol selects its table.
    """

    encoder: list[str]
    decoder: str
    tables: str


def _y_steps(context: bool) -> _YSteps:
    """The host's steps for y: one pass with h_s's parameters, or the checkerboard's two passes.

    With a context model the decoder knows the non-anchors' parameters only after decoding
    the anchors, so encoder and decoder both code the anchors first and refine the rest with
    context.onnx in between (aecodec.codecs.frozen: quantize, _y_passes, _decode_y).
    """
    container = "write the .aec container (aecodec/bitstream)"
    if not context:
        return _YSteps(
            encoder=[f"range-code ẑ and the symbols with the tables of {ENTROPY_TABLES} and {container}"],
            decoder=f"read the .aec container, range-decode ẑ and the symbols ({ENTROPY_TABLES}); ŷ_g = float32(symbols + mean / {_FIXED_POINT})",
            tables=f"each latent symbol's table index from log_scale and each ẑ channel's table: see {ENTROPY_TABLES}",
        )
    return _YSteps(
        encoder=[
            f"anchors are the latent positions with (row + col) even, counted from 0 at the top left; anchors = symbols × {_FIXED_POINT} + mean "
            f"as int64 (mean cropped to the latent grid); run {CONTEXT} on anchors, mean and log_scale; round the symbols of the other positions again, "
            "the same way, from refined_mean (the anchors keep theirs)",
            f"range-code ẑ, then into one \"y\" stream the anchors' symbols (all channels, C order of y[:, anchor_mask]) followed by the "
            f"others' (C order of y[:, ~anchor_mask]), each with the y table its refined_log_scale selects ({ENTROPY_TABLES}); {container}",
        ],
        decoder=f"read the .aec container, range-decode ẑ, run hyper_decoder.onnx and crop; range-decode the anchors' symbols (tables from "
        f"log_scale), run {CONTEXT} on them, then range-decode the others' symbols (tables from refined_log_scale) from the same "
        f"\"y\" stream; ŷ_g = float32(symbols + refined_mean / {_FIXED_POINT})",
        tables=f"the anchors' table index from log_scale; then {CONTEXT} ({card_name(CONTEXT)}) refines mean and log_scale of the other "
        f"positions, and every latent symbol's table index comes from refined_log_scale; each ẑ channel's table: see {ENTROPY_TABLES}",
    )


def _context_card(latent: list[int | str], input_max: float, steps: _YSteps) -> tuple[str, list[dict], list[dict], list[str], list[str]]:
    """Purpose, inputs, outputs and host steps of context.onnx, on the latent grid."""
    limit = f"clip(log_scale, ±{input_max:g} × {_FIXED_POINT})"
    return (
        "exact integer checkerboard context model (He et al. 2021): refines mean and log-scale of the non-anchor latent elements "
        "((row + col) odd) from the anchors; bit-exact with aecodec.entropy.integer_context.IntegerCheckerboardContext on any machine",
        [
            _tensor("anchors", "int64", latent, f"fixed-point ŷ_g = symbols × {_FIXED_POINT} + mean; only anchor positions ((row + col) even) are read"),
            _tensor("mean", "int64", latent, "hyper_decoder.onnx's mean cropped to the latent grid"),
            _tensor("log_scale", "int64", latent, "hyper_decoder.onnx's log_scale cropped to the latent grid"),
        ],
        [
            _tensor("refined_mean", "int64", latent, f"mean at anchors, mean + Δμ elsewhere (units of 2^-{ACTIVATION_FRACTION_BITS})"),
            _tensor("refined_log_scale", "int64", latent, f"log_scale at anchors, {limit} + Δlog σ elsewhere (units of 2^-{ACTIVATION_FRACTION_BITS})"),
        ],
        [
            "crop hyper_decoder.onnx's mean and log_scale to the latent's height and width (height / 16, width / 16)",
            f"the anchors' symbols: rounded from mean as {card_name(HYPER_ANALYSIS)} says (encoder), or range-decoded (decoder)",
        ],
        [*(f"encoder: {step}" for step in steps.encoder), f"decoder: {steps.decoder}"],
    )


def model_cards(record: dict, config: HyperpriorConfig, input_max: int, context_input_max: float | None = None) -> dict[str, dict]:
    """The JSON model card of every graph, keyed by card file name.

    Each card says what a host in any language must feed the graph and do with its output;
    with the graphs and the two data cards, an embedder needs nothing from the weights file.

    Args:
        record: Model id, weights file and sha256 and opset, copied into every card.
        config: Architecture of the model (channel counts).
        input_max: Largest |ẑ| the integer hyper-decoder is exact for.
        context_input_max: Clip of the context model's inputs in real units, or None for a
            codec without a context model (no context card; y is coded in one pass).
    """
    m, n = config.latent_channels, config.n
    image = [1, 3, "height", "width"]
    latent = [1, m, "height / 16", "width / 16"]
    hyper = [1, config.hyper_channels, "ceil(height / 64)", "ceil(width / 64)"]
    gain = f"y_g = float32(latent × gain(t)) per channel, gain(t) as {GAINS} defines it"
    pad = "pad the RGB image on the bottom and right to multiples of 16 by repeating its last row and column; keep the original size"
    finish = "clip the image to [0, 1], multiply by 255 in float32, round half to even to uint8, crop to the original size"
    quantize = (
        f"ẑ = clip(round_half_to_even(hyper_latent), −{input_max}, {input_max}) as int64; run hyper_decoder.onnx on it; "
        f"r = float64(y_g) − mean / {_FIXED_POINT}; δ = the dead zone at t ({GAINS}: low_rate_deadzone); "
        f"symbols = clip(round_half_to_even(r) if δ = 0 else sign(r) × floor(|r| + 0.5 − δ), −{LATENT_SYMBOL_MAX}, {LATENT_SYMBOL_MAX})"
    )
    steps = _y_steps(context_input_max is not None)
    cards = {
        ANALYSIS: (
            "g_a: image → latent, independent of the rate (run once per image, then quantize at any quality)",
            [_tensor("image", "float32", image, "RGB / 255 in [0, 1]; height and width multiples of 16")],
            [
                _tensor(BACKBONE_OUTPUTS[0], "float32", [1, n, "height / 2", "width / 2"], "g_a stage 1 (after GDN); read by the restoration heads"),
                _tensor(BACKBONE_OUTPUTS[1], "float32", [1, n, "height / 4", "width / 4"], "g_a stage 2 (after GDN); read by the restoration heads"),
                _tensor(BACKBONE_OUTPUTS[2], "float32", [1, n, "height / 8", "width / 8"], "g_a stage 3 (after GDN); read by the restoration heads"),
                _tensor(BACKBONE_OUTPUTS[3], "float32", latent, "latent y before the gain; the codec needs only this output"),
            ],
            [pad],
            [gain, "then hyper_analysis.onnx on y_g"],
        ),
        HYPER_ANALYSIS: (
            "h_a: gained latent → hyper-latent; edge-pads the latent to a multiple of 4 inside the graph",
            [_tensor("gained_latent", "float32", latent, "y_g, the analysis latent × gain(t)")],
            [_tensor("hyper_latent", "float32", hyper, "hyper-latent z before rounding")],
            [gain],
            [quantize, *steps.encoder],
        ),
        SYNTHESIS: (
            "g_s: de-gained latent → image",
            [_tensor("latent", "float32", latent, "ŷ = float32(ŷ_g × inverse_gain(t)) per channel")],
            [_tensor("image", "float32", image, "RGB / 255, unclipped; height and width are 16 × the latent's")],
            [steps.decoder, f"ŷ = float32(ŷ_g × inverse_gain(t)) per channel, inverse_gain(t) as {GAINS} defines it"],
            [finish],
        ),
        HYPER_DECODER: (
            "exact integer hyper-decoder: ẑ → fixed-point mean and log-scale of every latent element; "
            "bit-exact with aecodec.entropy.integer_hyper.IntegerHyperSynthesis on any machine",
            [_tensor("quantized_hyper_latent", "int64", [1, config.hyper_channels, "hyper_height", "hyper_width"], f"ẑ, every |value| ≤ {input_max}")],
            [
                _tensor("mean", "int64", [1, m, "4 × hyper_height", "4 × hyper_width"], f"mean of the gained latent × {_FIXED_POINT}"),
                _tensor("log_scale", "int64", [1, m, "4 × hyper_height", "4 × hyper_width"], f"natural log of the Gaussian scale × {_FIXED_POINT}"),
            ],
            [f"refuse ẑ with any |value| > {input_max} (exactness is proven only within that bound)"],
            ["crop mean and log_scale to the latent's height and width (height / 16, width / 16)", steps.tables],
        ),
    }
    if context_input_max is not None:
        cards[CONTEXT] = _context_card(latent, context_input_max, steps)
    result = {
        card_name(graph): {
            "graph": graph,
            **record,
            "purpose": purpose,
            "inputs": inputs,
            "outputs": outputs,
            "padding_multiple": 16,
            "hyper_latent_grid": "ceil(height / 64) × ceil(width / 64)",
            "host_before": before,
            "host_after": after,
        }
        for graph, (purpose, inputs, outputs, before, after) in cards.items()
    }
    # The numbers a host computes with, not only reads about.
    result[card_name(HYPER_DECODER)].update(input_max=input_max, fraction_bits=ACTIVATION_FRACTION_BITS)
    if context_input_max is not None:
        result[card_name(CONTEXT)].update(input_max=context_input_max, fraction_bits=ACTIVATION_FRACTION_BITS)
    return result


def head_output(config) -> dict:
    """Name, dtype, shape and meaning of a head graph's output."""
    if config.task == "colorize":
        return _tensor(
            "chroma_logits", "float32", [1, config.out_channels, "height / 2", "width / 2"],
            f"scores of {config.chroma_bins}×{config.chroma_bins} (Cb, Cr) bins over ±{config.chroma_range}; bin i·{config.chroma_bins} + j is (Cb bin i, Cr bin j)",
        )
    return _tensor("restored", "float32", [1, 3, "height", "width"], "restored RGB / 255, unclipped")


def head_card(record: dict, config, temperature: float) -> dict:
    """The model card of a restoration head's graph."""
    pad = "pad the RGB image on the bottom and right to multiples of 16 by repeating its last row and column; keep the original size"
    backbone = f"run the backbone ({record['backbone']['model']}'s analysis.onnx) on the padded image; feed its four outputs and the image"
    inputs = [
        _tensor("image", "float32", [1, 3, "height", "width"], "RGB / 255 in [0, 1] (the backbone's input); height and width multiples of 16"),
        *({"name": name, "dtype": "float32", "from": f"analysis.onnx output {name}"} for name in BACKBONE_OUTPUTS),
    ]
    inputs[-1]["note"] = "the head reads its first M channels (g_a's last stage); a codec's detail channels follow them"
    if config.task == "colorize":
        purpose = "colorize head: gray image (luminance repeated in R, G and B) → chroma distribution at half resolution"
        before = ["luminance L = Pillow's convert('L') of the input; image = L / 255 in all three channels", pad, backbone]
        after = [
            f"chroma = annealed mean: softmax(logits / {temperature}) over bins, expectation of the bin centres −{config.chroma_range} + (k + 0.5)·{2 * config.chroma_range / config.chroma_bins:g}",
            "upsample chroma ×2 bilinearly, crop to the original size",
            "RGB = L + chroma through JPEG's YCbCr matrix, chroma scaled down per pixel to fit the gamut; after rounding, add L − luminance(RGB) to all three channels so the luminance is exactly L",
        ]
    else:
        purpose = "denoise head: noisy and/or JPEG-compressed RGB → restored RGB (blind, with an optional noise level)"
        inputs.append(_tensor("noise_level", "float32", [1, 1, 1, 1], "noise σ on the 0–255 scale / 50; aecodec estimates it (aecodec.heads.noise) when the user gives none"))
        before = [pad, backbone]
        after = ["clip to [0, 1], multiply by 255, round half to even to uint8, crop to the original size", "large images: tiles of 512 with 64-pixel margins (multiples of 16)"]
    return {
        "graph": HEAD,
        **record,
        "purpose": purpose,
        "inputs": inputs,
        "outputs": [head_output(config)],
        "padding_multiple": 16,
        "host_before": before,
        "host_after": after,
    }


def _exact_floats(values: np.ndarray) -> list:
    """float32 values as nested lists of the float64 numbers they equal.

    JSON then writes each as the shortest decimal that parses, as float64 *or* float32, to
    exactly that value, so hosts get the weights' gains bit for bit whatever they parse with.
    """
    return np.asarray(values, dtype=np.float32).astype(np.float64).tolist()


def gains_card(record: dict, config: HyperpriorConfig, log_gain: np.ndarray, log_inverse_gain: np.ndarray) -> dict:
    """The gains card: per-channel gain tables, quality → rate, and the interpolation, exactly.

    The steps restate :func:`aecodec.codecs.frozen.interpolate_gain` operation by operation
    (float64 throughout, one rounding to float32 at the end), so a host reproduces aecodec's
    gains bit for bit.
    """
    knots, lowest, highest = config.knots, config.lowest_rate_parameter, config.top_rate_parameter
    return {
        "card": GAINS,
        **record,
        "purpose": "per-latent-channel gains that make one model code every quality: the encoder multiplies the analysis latent by "
        "gain(t), the decoder multiplies the dequantized latent by inverse_gain(t)",
        "knots": knots,
        "channels": config.latent_channels,
        "lowest_rate_parameter": lowest,
        "highest_rate_parameter": highest,
        "quality_range": [QUALITY_MIN, QUALITY_MAX],
        "quality_to_rate": [
            "q = round_half_to_even(q × 100) / 100 (the container stores hundredths; the encoder codes with the value the decoder reads)",
            f"t = lowest_rate_parameter + (q − {QUALITY_MIN:g}) / {QUALITY_MAX - QUALITY_MIN:g} × (highest_rate_parameter − lowest_rate_parameter), in float64, "
            "evaluated left to right (aecodec.codecs.frozen.FrozenHyperprior.rate_parameter)",
        ],
        "interpolation": [
            "for table = log_gain (gain) or log_inverse_gain (inverse_gain), rate t (float64):",
            "k = min(max(floor(t), 0), knots − 2) as an integer: below 0 the first segment is extrapolated, above knots − 1 the last one",
            "f = t − k (float64)",
            "log_g[c] = float64(table[k][c]) × (1 − f) + float64(table[k + 1][c]) × f, in float64, evaluated left to right",
            "g[c] = float32(exp(log_g[c]))",
            "(aecodec.codecs.frozen.interpolate_gain)",
        ],
        "applied": {
            "gain": "encoder: y_g[c] = float32(latent[c] × gain[c]) on analysis.onnx's output, for every element of channel c; "
            "y_g feeds hyper_analysis.onnx and is what the symbols are rounded from",
            "inverse_gain": f"decoder: ŷ[c] = float32(float32(symbols[c] + mean[c] / {_FIXED_POINT}) × inverse_gain[c]); ŷ feeds synthesis.onnx",
        },
        "low_rate_deadzone": {
            "per_rate_unit": DEADZONE_PER_RATE_UNIT,
            "rule": "δ = per_rate_unit × min(1, max(0, −t)) in float64: 0 from knot 0 up, so only the extrapolated lowest qualities "
            "round with a dead zone (aecodec.codecs.frozen.low_rate_deadzone)",
            "why": "an encoder choice, never needed to decode: below knot 0 it saves more bits for the same distortion than "
            "extrapolating the gains further",
        },
        "number_format": "log_gain and log_inverse_gain are the weights' float32 values, each written as the shortest decimal that "
        "parses to it exactly as float64 (and so also as float32); shape knots × channels",
        "log_gain": _exact_floats(log_gain),
        "log_inverse_gain": _exact_floats(log_inverse_gain),
    }


def _table_arrays(tables: PMFTables) -> dict[str, list[int]]:
    return {"pmf": tables.pmf.tolist(), "offsets": tables.offsets.tolist(), "minima": tables.minima.tolist()}


def entropy_tables_card(record: dict, z_tables: PMFTables, y_tables: PMFTables) -> dict:
    """The entropy-tables card: the integer PMFs that code ẑ and the latent symbols.

    The same integers as the weights file (``z_tables.*``, ``y_tables.*``), in JSON so a host
    needs no reader for numpy archives.
    """
    return {
        "card": ENTROPY_TABLES,
        **record,
        "purpose": "integer probability tables of the range coder: one per hyper-latent channel (z) and one per Gaussian scale bin (y)",
        "precision_bits": PRECISION_BITS,
        "escape_value_bits": ESCAPE_VALUE_BITS,
        "latent_symbol_max": LATENT_SYMBOL_MAX,
        "layout": "table i is pmf[offsets[i] : offsets[i + 1]], summing to 2^precision_bits; entry j codes symbol minima[i] + j, "
        "the last entry is the escape: a symbol outside the table is coded as the escape and its value stored as int32 "
        "in the stream's escape stream",
        "z_table_index": "ẑ of channel c uses z table c",
        "scale_log_min": SCALE_LOG_MIN,
        "scale_bin_step": SCALE_BIN_STEP,
        "scale_bin_count": SCALE_BIN_COUNT,
        "y_table_index": "clip(floor((log_scale − scale_log_min) / scale_bin_step), 0, scale_bin_count − 1) in integers, "
        "log_scale from hyper_decoder.onnx (aecodec.entropy.tables.scale_bin)",
        "ideal_bits": "precision_bits − log2(entry) per symbol, the escape's entry for symbols outside the table, plus "
        "escape_value_bits for each escaped symbol (aecodec.entropy.tables.PMFTables.information); the range coder "
        "spends that plus a few bytes of flush per stream",
        "coding": "aecodec.entropy.coder: constriction's queue RangeEncoder, each table as Categorical(pmf / 2^precision_bits, "
        "perfect=False), elements grouped by table in ascending table order and in flat (C, H, W) order within a group "
        "(with a context model, context.json, y is two such passes in one stream: the anchors, then the others); "
        "constriction (Rust or Python) reads and writes .aec streams byte for byte, any other range coder fed these tables "
        "codes at the same ideal bits but not compatibly",
        "z_tables": _table_arrays(z_tables),
        "y_tables": _table_arrays(y_tables),
    }
