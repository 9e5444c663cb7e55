"""Check exported ONNX graphs against the torch reference and print the differences.

    python export/validate.py [--model ID] [--sizes 4] [--seed 0] [--threads 2] [--node]

Four checks, five with ``--node``, each printed as a table; the exit status is 1 if any
fails:

1. Float graphs: max |onnxruntime − torch| of every float graph output on crops of the
   bundled sample photo at random sizes (not multiples of 16, edge-padded as the pipeline
   pads) and several rate values (gains as the codec applies them), against
   ``TorchTransforms``.
2. Whole codec: files compressed with one backend and decompressed with the other must give
   identical symbols (``FrozenHyperprior.decode_symbols``) and pixels within ±1 of 255.
3. hyper_decoder.onnx must equal ``IntegerHyperSynthesis`` bit for bit on random ẑ, and for
   a model with a checkerboard context model, context.onnx must equal
   ``IntegerCheckerboardContext`` (as the codec applies it) bit for bit on random inputs.
4. Restoration heads: max |onnxruntime − torch| of each installed head's output (backbone
   graph, then head graph) on the same crops.
5. ``--node``: the Node.js example (export/node/roundtrip.js, after ``npm ci`` there) on the
   same crops and qualities against aecodec with the torch backend: decoded pixels within
   ±1 and ideal bits equal within 0.1 %.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import aecodec
from aecodec import assembly, bitstream, pipeline, zoo
from aecodec.codecs.rounding import interpolate_gain
from aecodec.codecs.streams import CodedLatents
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.entropy.integer_hyper import ACTIVATION_FRACTION_BITS
from aecodec.imageio import pad_edges
from aecodec.metrics import psnr
from aecodec.runtime import onnx_files
from aecodec.runtime.onnx_backend import OnnxTransforms, inference_session

FLOAT_TOLERANCE = 1e-3  # float32 transforms; observed differences are ~1e-5
HEAD_TOLERANCE = 1e-2  # logits and unclipped pixels / 255 after ~20 float32 layers
BITS_TOLERANCE = 1e-3  # relative; only symbols on a rounding boundary may differ
QUALITIES = (1.0, 50.0, 100.0)
SAMPLE = Path(aecodec.__file__).parent / "samples" / "astronaut.png"
NODE_EXAMPLE = Path(__file__).resolve().parent / "node"


def _crops(count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Crops (H, W, 3) uint8 of the sample photo, sides 17–200 and never multiples of 16."""
    with Image.open(SAMPLE) as image:
        photo = np.asarray(image.convert("RGB"))
    crops = []
    while len(crops) < count:
        height, width = rng.integers(17, 201, size=2)
        if height % 16 and width % 16:
            top, left = rng.integers(0, photo.shape[0] - height), rng.integers(0, photo.shape[1] - width)
            crops.append(photo[top : top + height, left : left + width])
    return crops


def _padded(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 → (3, H', W') float32 in [0, 1], edge-padded to ×16 like the pipeline."""
    return pad_edges(rgb, 16).transpose(2, 0, 1).astype(np.float32) / 255


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def _size(rgb: np.ndarray) -> str:
    return f"{rgb.shape[1]}×{rgb.shape[0]}"


def float_rows(model_id: str, crops: list[np.ndarray], rates: list[float], threads: int) -> list[dict]:
    """Max abs differences of every float graph output, per crop and rate."""
    codec = assembly.load_codec(model_id, "torch")
    reference, backend = codec.transforms, OnnxTransforms(zoo.onnx_dir(model_id), threads=threads)
    rows = []
    for rgb in crops:
        x = _padded(rgb)
        latent = reference.analysis(x)
        analysis = _diff(backend.analysis(x), latent)
        for t in rates:
            gained = latent * interpolate_gain(codec.log_gain, t)
            y_hat = np.round(gained).astype(np.float32) * interpolate_gain(codec.log_inverse_gain, t)  # a decodable ŷ
            rows.append(
                {
                    "size": _size(rgb),
                    "rate": t,
                    "analysis": analysis,
                    "hyper_analysis": _diff(backend.hyper_analysis(gained), reference.hyper_analysis(gained)),
                    "synthesis": _diff(backend.synthesis(y_hat), reference.synthesis(y_hat)),
                }
            )
    return rows


def head_rows(crops: list[np.ndarray], threads: int) -> list[dict]:
    """Every installed head: max |onnxruntime − torch| of its raw output per crop."""
    from aecodec.assembly import load_head
    from aecodec.heads.config import NOISE_SCALE

    rows = []
    for entry in zoo.heads():
        torch_head, onnx_head = (load_head(entry.task, backend) for backend in ("torch", "onnx"))
        level = 25 / NOISE_SCALE if torch_head.config.noise_input else None
        for rgb in crops:
            x = _padded(rgb)
            rows.append({"head": entry.model_id, "size": _size(rgb), "output": _diff(onnx_head.network(x, level), torch_head.network(x, level))})
    return rows


def _coded(data: bytes) -> CodedLatents:
    container = bitstream.read_container(data)
    return CodedLatents(container.streams, container.symbol_crc)


def codec_rows(model_id: str, crops: list[np.ndarray]) -> list[dict]:
    """Cross-backend decoding: symbols and pixels of each file under both backends."""
    codecs = {name: assembly.load_codec(model_id, name) for name in ("torch", "onnx")}
    rows = []
    for rgb in crops:
        for quality in QUALITIES:
            files = {name: pipeline.encode(rgb, quality=quality, model=model_id, backend=name).data for name in codecs}
            row = {"size": _size(rgb), "quality": quality}
            for encoded_by, data in files.items():
                decoded_by = "onnx" if encoded_by == "torch" else "torch"
                mine, theirs = (codecs[name].decode_symbols(_coded(data)) for name in (encoded_by, decoded_by))
                same = np.array_equal(mine.z_hat, theirs.z_hat) and np.array_equal(mine.y_symbols, theirs.y_symbols)
                pixels = [np.asarray(pipeline.decompress(data, backend=name), dtype=int) for name in (encoded_by, decoded_by)]
                row[f"{encoded_by}→{decoded_by} symbols"] = "identical" if same else "DIFFER"
                row[f"{encoded_by}→{decoded_by} max |Δpixel|"] = int(np.abs(pixels[0] - pixels[1]).max())
            torch_symbols, onnx_symbols = (codecs[name].decode_symbols(_coded(files[name])).y_symbols for name in ("torch", "onnx"))
            row["y symbols the encoders disagree on"] = int((torch_symbols != onnx_symbols).sum())
            rows.append(row)
    return rows


def hyper_rows(model_id: str, rng: np.random.Generator, threads: int) -> list[dict]:
    """hyper_decoder.onnx vs the numpy integer network on random ẑ, small and extreme."""
    codec = assembly.load_codec(model_id, "torch")
    session = inference_session(zoo.onnx_dir(model_id) / onnx_files.HYPER_DECODER, threads)
    rows = []
    for shape in [(1, 1), (3, 5), (8, 6)]:
        for bound in (8, codec.hyper.input_max):
            z_hat = rng.integers(-bound, bound + 1, size=(codec.hyper_channels, *shape))
            mean, log_scale = codec.hyper(z_hat)
            onnx_mean, onnx_log_scale = session.run(None, {"quantized_hyper_latent": z_hat[None]})
            exact = np.array_equal(onnx_mean[0], mean) and np.array_equal(onnx_log_scale[0], log_scale)
            rows.append({"ẑ grid": f"{shape[1]}×{shape[0]}", "|ẑ| ≤": bound, "bit-exact": "yes" if exact else "NO"})
    return rows


def refined_parameters(
    network: IntegerCheckerboardContext, anchors: np.ndarray, mean: np.ndarray, log_scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What context.onnx must output for int64 inputs (M, H, W): the inputs at the anchors and,
    at the other positions, μ + Δμ and clip(log σ) + Δlog σ, as ``FrozenHyperprior._refine_non_anchors``
    applies the numpy network.
    """
    refined_mean, refined_log_scale = network.refine(anchors.astype(np.float64), mean, log_scale, slice(0, anchors.shape[1]))
    return refined_mean.astype(np.int64), refined_log_scale


def context_rows(model_id: str, rng: np.random.Generator, threads: int) -> list[dict]:
    """context.onnx vs the numpy integer network on random inputs, within and far beyond its clip; none without a context model."""
    codec = assembly.load_codec(model_id, "torch")
    if codec.context is None:
        return []
    session = inference_session(zoo.onnx_dir(model_id) / onnx_files.CONTEXT, threads)
    limit = int(codec.context.input_max * 2**ACTIVATION_FRACTION_BITS)
    rows = []
    for shape in [(1, 1), (1, 2), (3, 5), (8, 6)]:
        for bound in (16 * 2**ACTIVATION_FRACTION_BITS, 4 * limit):
            anchors, mean, log_scale = (rng.integers(-bound, bound + 1, size=(codec.latent_channels, *shape)) for _ in range(3))
            expected = refined_parameters(codec.context, anchors, mean, log_scale)
            actual = session.run(None, {"anchors": anchors[None], "mean": mean[None], "log_scale": log_scale[None]})
            exact = all(np.array_equal(onnx_output[0], numpy_output) for onnx_output, numpy_output in zip(actual, expected))
            rows.append({"latent grid": f"{shape[1]}×{shape[0]}", "|inputs| ≤": bound, "bit-exact": "yes" if exact else "NO"})
    return rows


def _node_roundtrip(source: Path, decoded: Path, quality: float, model_id: str, threads: int) -> dict:
    """Run export/node/roundtrip.js on one PNG; returns the report it prints."""
    command = [
        "node",
        str(NODE_EXAMPLE / "roundtrip.js"),
        str(source),
        str(decoded),
        f"--quality={quality:g}",
        f"--model-dir={zoo.onnx_dir(model_id)}",
        f"--threads={threads}",
    ]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def node_rows(model_id: str, crops: list[np.ndarray], threads: int) -> list[dict]:
    """The Node example against aecodec (torch backend): ideal bits, PSNR and pixels per crop and quality."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, rgb in enumerate(crops):
            source, decoded = Path(scratch) / f"{index}.png", Path(scratch) / f"{index}-node.png"
            Image.fromarray(rgb).save(source)
            for quality in QUALITIES:
                report = _node_roundtrip(source, decoded, quality, model_id, threads)
                data = pipeline.encode(rgb, quality=quality, model=model_id, backend="torch").data
                reference = pipeline.bit_map(data, backend="torch")  # bits and pixels of the file as decoded
                with Image.open(decoded) as image:
                    node_rgb = np.asarray(image.convert("RGB"))
                bits, node_bits = float(reference.bits.sum()), report["ideal_bits"]["total"]
                rows.append(
                    {
                        "size": _size(rgb),
                        "quality": quality,
                        "aecodec bits": bits,
                        "node bits": node_bits,
                        "Δbits (relative)": abs(node_bits - bits) / bits,
                        "file bits": 8 * len(data),
                        "aecodec PSNR": psnr(rgb, reference.rgb),
                        "node PSNR": report["psnr"],
                        "max |Δpixel|": int(np.abs(node_rgb.astype(int) - reference.rgb).max()),
                    }
                )
    return rows


def _node_problem() -> str | None:
    """Why the Node example cannot run here, or None."""
    if shutil.which("node") is None:
        return "--node needs Node.js (node) on the PATH"
    if not (NODE_EXAMPLE / "node_modules").is_dir():
        return f"--node needs the example's packages: run `npm ci` in {NODE_EXAMPLE}"
    return None


def _cell(key: str, value) -> str:
    if not isinstance(value, float):
        return str(value)
    if key in ("rate", "quality"):
        return f"{value:g}"
    return f"{value:.2f}" if key.endswith(("bits", "PSNR")) else f"{value:.2e}"


def print_table(title: str, rows: list[dict]) -> None:
    """Print rows as an aligned text table; differences in scientific notation."""
    cells = [[_cell(key, value) for key, value in row.items()] for row in rows]
    headers = list(rows[0])
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="Model id (default: the default model).")
    parser.add_argument("--sizes", type=int, default=4, help="Number of random image sizes.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of sizes, crops and ẑ.")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads.")
    parser.add_argument("--node", action="store_true", help="Also check the Node.js example against aecodec.")
    args = parser.parse_args()
    problem = _node_problem() if args.node else None
    if problem:
        parser.error(problem)
    model_id = args.model or zoo.default_model_id()
    codec = assembly.load_codec(model_id, "torch")
    rates = sorted({codec.lowest_rate_parameter, 0.0, (codec.knots - 1) / 2, codec.knots - 1.0})
    rng = np.random.default_rng(args.seed)
    crops = _crops(args.sizes, rng)
    floats = float_rows(model_id, crops, rates, args.threads)
    codecs = codec_rows(model_id, crops)
    hyper = hyper_rows(model_id, rng, args.threads)
    context = context_rows(model_id, rng, args.threads)
    heads = head_rows(crops, args.threads)
    node = node_rows(model_id, crops, args.threads) if args.node else []
    print_table(f"{model_id}: max |onnxruntime − torch| of the float graphs", floats)
    print_table(f"{model_id}: cross-backend decoding (pixels in 0–255)", codecs)
    print_table(f"{model_id}: hyper_decoder.onnx vs IntegerHyperSynthesis", hyper)
    if context:
        print_table(f"{model_id}: context.onnx vs IntegerCheckerboardContext", context)
    if heads:
        print_table("restoration heads: max |onnxruntime − torch| of the head outputs", heads)
    if node:
        print_table(f"{model_id}: Node.js example vs aecodec (torch backend), ideal bits", node)
    failures = [r for r in floats if max(v for k, v in r.items() if k not in ("size", "rate")) > FLOAT_TOLERANCE]
    failures += [r for r in codecs if "DIFFER" in r.values() or max(v for k, v in r.items() if "pixel" in k) > 1]
    failures += [r for r in hyper + context if r["bit-exact"] != "yes"]
    failures += [r for r in heads if r["output"] > HEAD_TOLERANCE]
    failures += [r for r in node if r["max |Δpixel|"] > 1 or r["Δbits (relative)"] > BITS_TOLERANCE]
    print(f"\n{'FAILED: ' + str(len(failures)) + ' rows' if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
