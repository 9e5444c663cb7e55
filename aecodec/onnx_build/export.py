"""Export one model of the manifest: read its weights, build its graphs and cards, write its folder.

A codec's folder holds its graphs (:func:`aecodec.runtime.onnx_files.codec_graphs`), a model
card beside each, the two data cards and ``export.json``; a head's holds ``head.onnx``, its
card and ``export.json``. ``export.json`` names the weights everything was exported from and
the sha256 of every file a host reads, which is what the runtime's staleness check reads.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch

from aecodec import __version__, zoo
from aecodec.assembly import verified_backbone
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import float_state_dict
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import IntegerHyperSynthesis
from aecodec.entropy.tables import PMFTables
from aecodec.heads.config import HEAD_ARCHITECTURE, HeadConfig
from aecodec.heads.model import RestorationHead
from aecodec.onnx_build import OPSET, data_cards, graph_cards, integer_graphs, surgery, torch_graphs
from aecodec.runtime import onnx_files
from aecodec.weights_format import read_meta


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


def _write_card(folder: Path, name: str, card: dict) -> None:
    (folder / name).write_text(card_text(card) + "\n", encoding="utf-8")


def _record(model_id: str) -> dict:
    """The start of a model's export record: what every card copies (model, weights, layout, opset)."""
    found = zoo.entry(model_id)
    return {"model_id": model_id, "layout": onnx_files.LAYOUT, "weights_file": found.file.name, "weights_sha256": found.sha256, "opset": OPSET}


def _finish_record(record: dict, folder: Path, files: tuple[str, ...]) -> None:
    """Add the tool versions and the sha256 and size of ``files``, then write ``export.json``."""
    record["exported_with"] = {"aecodec": __version__, "torch": torch.__version__, "onnx": onnx.__version__}
    record["files"] = {name: {"sha256": zoo.sha256_of(folder / name), "bytes": (folder / name).stat().st_size} for name in files}
    (folder / onnx_files.EXPORT_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def _save_graph(graph: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(graph, full_check=True)
    onnx.save_model(graph, path)


def _codec_cards(record: dict, config: HyperpriorConfig, arrays: dict[str, np.ndarray], input_max: int, context_input_max: float | None) -> dict[str, dict]:
    """Every JSON card of a codec's folder: one per graph, then the gains and entropy-tables cards."""
    return {
        **graph_cards.model_cards(record, config, input_max, context_input_max),
        onnx_files.GAINS: data_cards.gains_card(record, config, arrays["float.gain.log_gain"], arrays["float.gain.log_inverse_gain"]),
        onnx_files.ENTROPY_TABLES: data_cards.entropy_tables_card(
            record, PMFTables.from_arrays(arrays, "z_tables"), PMFTables.from_arrays(arrays, "y_tables")
        ),
    }


def _write_codec(model_id: str, folder: Path) -> None:
    """Export every graph of codec ``model_id`` with its cards, then the export record."""
    record = _record(model_id)
    arrays = zoo.load_arrays(model_id)
    config = HyperpriorConfig(**read_meta(arrays)["config"])
    model = MeanScaleHyperprior(config).eval()
    model.load_state_dict(float_state_dict(arrays))
    torch_graphs.fold_gdn(model)
    graphs = {name: torch_graphs.export_torch(graph) for name, graph in torch_graphs.codec_graphs(model).items()}
    graphs[onnx_files.SYNTHESIS] = surgery.interleave_depth_to_space(surgery.split_transposed_convolutions(graphs[onnx_files.SYNTHESIS]))
    network = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    graphs[onnx_files.HYPER_DECODER] = integer_graphs.hyper_decoder_graph(network, config.hyper_channels, config.latent_channels)
    context = IntegerCheckerboardContext.from_arrays(arrays, "context_int") if config.context_channels else None
    if context is not None:
        graphs[onnx_files.CONTEXT] = integer_graphs.context_graph(context, config.latent_channels)
    for name, graph in graphs.items():
        _save_graph(graph, folder / name)
    for name, card in _codec_cards(record, config, arrays, network.input_max, context.input_max if context is not None else None).items():
        _write_card(folder, name, card)
    _finish_record(record, folder, onnx_files.codec_files(context is not None))


def _write_head(head_id: str, folder: Path) -> None:
    """Export a head's graph and model card, then the export record."""
    record = _record(head_id)
    arrays = zoo.load_arrays(head_id)
    meta = read_meta(arrays)
    backbone_id, codec_config, _ = verified_backbone(meta)
    config = HeadConfig(**meta["config"])
    n, m = codec_config["n"], codec_config["m"]
    head = RestorationHead(config, n, m).eval()
    head.load_state_dict(float_state_dict(arrays))
    output = graph_cards.head_output(config)
    graph = torch_graphs.head_graph(head, n, m, config.noise_input, (output["name"], output["shape"]))
    _save_graph(surgery.interleave_depth_to_space(torch_graphs.export_torch(graph)), folder / onnx_files.HEAD)
    record["backbone"] = {"model": backbone_id, "sha256": meta["backbone"]["sha256"]}
    _write_card(folder, onnx_files.card_name(onnx_files.HEAD), graph_cards.head_card(record, config, float(meta.get("temperature", 1.0))))
    _finish_record(record, folder, (onnx_files.HEAD,))


def _replace_folder(staging: Path, target: Path) -> None:
    """Put ``staging`` in place of ``target``; the old folder is moved aside first, then deleted."""
    if not target.exists():
        os.rename(staging, target)
        return
    graveyard = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rename(target, graveyard / target.name)
    os.rename(staging, target)
    shutil.rmtree(graveyard)


def export_model(model_id: str, out_dir: Path | None = None) -> list[Path]:
    """Export a model's (or a head's) graphs, cards and ``export.json`` into ``out_dir``, all or nothing.

    Args:
        model_id: A codec or head of the manifest; its weights file is verified before export.
        out_dir: Target folder (replaced if it exists); default ``weights/onnx/<model_id>``.

    Returns:
        The files written, sorted by name.
    """
    out_dir = Path(out_dir) if out_dir is not None else zoo.onnx_dir(model_id)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; installed graphs must be readable by all
        is_head = zoo.entry(model_id).architecture == HEAD_ARCHITECTURE
        (_write_head if is_head else _write_codec)(model_id, staging)
        _replace_folder(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return sorted(out_dir.iterdir())
