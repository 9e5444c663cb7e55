"""The model card beside each graph: what a host in any language feeds it and does with its output.

Each card names the graph's tensors (name, dtype, shape, layout, meaning) and lists, in
words, the steps a host takes before and after running it. With the graphs and the two data
cards (:mod:`aecodec.onnx_build.data_cards`), an embedder needs nothing from the weights file.
The step texts restate the Python codec operation by operation and name the functions they
restate, so a reader can check one against the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.rounding import LATENT_SYMBOL_MAX
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.heads.config import HeadConfig
from aecodec.runtime.onnx_files import ANALYSIS, BACKBONE_OUTPUTS, CONTEXT, ENTROPY_TABLES, GAINS, HEAD, HYPER_ANALYSIS, HYPER_DECODER, SYNTHESIS, card_name

_FIXED_POINT = 2**ACTIVATION_FRACTION_BITS


def _tensor(name: str, dtype: str, shape: list, meaning: str) -> dict:
    """A card's description of one graph input or output."""
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


def head_output(config: HeadConfig) -> dict:
    """Name, dtype, shape and meaning of a head graph's output: the card's and the export's one declaration of it."""
    if config.task == "colorize":
        return _tensor(
            "chroma_logits", "float32", [1, config.out_channels, "height / 2", "width / 2"],
            f"scores of {config.chroma_bins}×{config.chroma_bins} (Cb, Cr) bins over ±{config.chroma_range}; "
            f"bin i·{config.chroma_bins} + j is (Cb bin i, Cr bin j)",
        )
    return _tensor("restored", "float32", [1, 3, "height", "width"], "restored RGB / 255, unclipped")


def head_card(record: dict, config: HeadConfig, temperature: float) -> dict:
    """The model card of a restoration head's graph.

    Args:
        record: The head's export record (model id, weights, opset, backbone), copied into the card.
        config: The head's architecture and task.
        temperature: Softmax temperature of the colorize head's annealed mean (ignored by the denoise head).
    """
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
            f"chroma = annealed mean: softmax(logits / {temperature}) over bins, expectation of the bin centres "
            f"−{config.chroma_range} + (k + 0.5)·{2 * config.chroma_range / config.chroma_bins:g}",
            "upsample chroma ×2 bilinearly, crop to the original size",
            "RGB = L + chroma through JPEG's YCbCr matrix, chroma scaled down per pixel to fit the gamut; "
            "after rounding, add L − luminance(RGB) to all three channels so the luminance is exactly L",
        ]
    else:
        purpose = "denoise head: noisy and/or JPEG-compressed RGB → restored RGB (blind, with an optional noise level)"
        noise = "noise σ on the 0–255 scale / 50; aecodec estimates it (aecodec.heads.noise) when the user gives none"
        inputs.append(_tensor("noise_level", "float32", [1, 1, 1, 1], noise))
        before = [pad, backbone]
        after = [
            "clip to [0, 1], multiply by 255, round half to even to uint8, crop to the original size",
            "large images: tiles of 512 with 64-pixel margins (multiples of 16)",
        ]
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
