"""The data cards: the numbers besides the graphs that a host in any language needs.

``gains.json`` holds the per-channel gains and how quality selects them, ``entropy_tables.json``
the integer probability tables of the range coder. Both carry the weights' values exactly
(the same float32 and integers), so a host reproduces aecodec's gains and codes bit for bit.
"""

from __future__ import annotations

import numpy as np

from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.quality import QUALITY_MAX, QUALITY_MIN
from aecodec.codecs.rounding import DEADZONE_PER_RATE_UNIT, LATENT_SYMBOL_MAX
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.entropy.tables import ESCAPE_VALUE_BITS, PRECISION_BITS, SCALE_BIN_COUNT, SCALE_BIN_STEP, SCALE_LOG_MIN, PMFTables
from aecodec.runtime.onnx_files import ENTROPY_TABLES, GAINS


def _exact_floats(values: np.ndarray) -> list:
    """float32 values as nested lists of the float64 numbers they equal.

    JSON then writes each as the shortest decimal that parses, as float64 *or* float32, to
    exactly that value, so hosts get the weights' gains bit for bit whatever they parse with.
    """
    return np.asarray(values, dtype=np.float32).astype(np.float64).tolist()


def gains_card(record: dict, config: HyperpriorConfig, log_gain: np.ndarray, log_inverse_gain: np.ndarray) -> dict:
    """The gains card: per-channel gain tables, quality → rate, and the interpolation, exactly.

    The steps restate :func:`aecodec.codecs.rounding.interpolate_gain` operation by operation
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
            f"t = lowest_rate_parameter + (q − {QUALITY_MIN:g}) / {QUALITY_MAX - QUALITY_MIN:g} × (highest_rate_parameter − lowest_rate_parameter), "
            "in float64, "
            "evaluated left to right (aecodec.codecs.frozen.FrozenHyperprior.rate_parameter)",
        ],
        "interpolation": [
            "for table = log_gain (gain) or log_inverse_gain (inverse_gain), rate t (float64):",
            "k = min(max(floor(t), 0), knots − 2) as an integer: below 0 the first segment is extrapolated, above knots − 1 the last one",
            "f = t − k (float64)",
            "log_g[c] = float64(table[k][c]) × (1 − f) + float64(table[k + 1][c]) × f, in float64, evaluated left to right",
            "g[c] = float32(exp(log_g[c]))",
            "(aecodec.codecs.rounding.interpolate_gain)",
        ],
        "applied": {
            "gain": "encoder: y_g[c] = float32(latent[c] × gain[c]) on analysis.onnx's output, for every element of channel c; "
            "y_g feeds hyper_analysis.onnx and is what the symbols are rounded from",
            "inverse_gain": f"decoder: ŷ[c] = float32(float32(symbols[c] + mean[c] / {2**ACTIVATION_FRACTION_BITS}) × inverse_gain[c]); ŷ feeds synthesis.onnx",
        },
        "low_rate_deadzone": {
            "per_rate_unit": DEADZONE_PER_RATE_UNIT,
            "rule": "δ = per_rate_unit × min(1, max(0, −t)) in float64: 0 from knot 0 up, so only the extrapolated lowest qualities "
            "round with a dead zone (aecodec.codecs.rounding.low_rate_deadzone)",
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
        "escape_value_bits for each escaped symbol (aecodec.entropy.tables.PMFTables.symbol_bits); the range coder "
        "spends that plus a few bytes of flush per stream",
        "coding": "aecodec.entropy.coder: constriction's queue RangeEncoder, each table as Categorical(pmf / 2^precision_bits, "
        "perfect=False), elements grouped by table in ascending table order and in flat (C, H, W) order within a group "
        "(with a context model, context.json, y is two such passes in one stream: the anchors, then the others); "
        "constriction (Rust or Python) reads and writes .aec streams byte for byte, any other range coder fed these tables "
        "codes at the same ideal bits but not compatibly",
        "z_tables": _table_arrays(z_tables),
        "y_tables": _table_arrays(y_tables),
    }
