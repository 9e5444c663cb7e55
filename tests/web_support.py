"""Runs the browser decoder's ES modules (export/web/) under Node for the test_web*.py files.

One Node process answers a whole batch of calls, so hundreds of cases cost one start-up.
Values cross the process boundary as JSON, with byte strings and typed arrays tagged
(``{"$bytes": base64}``, ``{"$typed": dtype, "b64": base64}``) in both directions. A call's
outcome is ``{"value": ...}`` or ``{"error": [class name, message]}``, the same shape
:func:`python_outcome` gives a Python call, so the two can be compared with ``==``.

Node is required: the modules must be tested wherever the suite runs, so a missing
``node`` fails these tests instead of skipping them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aecodec.errors import AecodecError

WEB_DIR = Path(__file__).resolve().parent.parent / "export" / "web"
NODE_TIMEOUT_S = 600

# The runner imports one module of export/web and calls its exports; it is the only code
# that uses Node's API (stdin, Buffer), so the modules themselves stay browser-clean.
_RUNNER = r"""
import { readFileSync } from "node:fs";
const TYPED = { int8: Int8Array, int16: Int16Array, int32: Int32Array, uint16: Uint16Array,
  uint32: Uint32Array, float32: Float32Array, float64: Float64Array };
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    if ("$bytes" in value) return new Uint8Array(Buffer.from(value.$bytes, "base64"));
    if ("$typed" in value) {
      const raw = Buffer.from(value.b64, "base64");
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      return new TYPED[value.$typed](copy.buffer);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}
function encode(value) {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    const name = Object.keys(TYPED).find((key) => value instanceof TYPED[key]);
    return { $typed: name, b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (typeof value === "bigint") return { $bigint: value.toString() };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value === undefined ? null : value;
}
const request = JSON.parse(readFileSync(0, "utf8"));
const module = await import(request.module);
const outcomes = [];
for (const [name, args] of request.calls) {
  try {
    outcomes.push({ value: encode(await module[name](...decode(args))) });
  } catch (error) {
    outcomes.push({ error: [error.name, error.message] });
  }
}
process.stdout.write(JSON.stringify(outcomes));
"""


# The head of a test's adapter module (see adapter_module) that runs export/web on
# onnxruntime-web from an `aecodec export` folder: the runtime on one thread (the test
# machine's cores are busy), the folder's files as model.js takes them (the page fetches the
# same names), and an asynchronous call's outcome in run_node's shape.
ONNX_ADAPTER = r"""
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { EXPORT_RECORD, modelFileNames } from "WEB/model.js";

const ort = createRequire("WEB/package.json")("onnxruntime-web");
ort.env.wasm.numThreads = 1;

// The files model.js names for the folder, and those `moreNames(record)` names.
function exportFiles(folder, moreNames = () => []) {
  const record = JSON.parse(readFileSync(`${folder}/${EXPORT_RECORD}`, "utf8"));
  const names = new Set([...modelFileNames(record), ...moreNames(record)]);
  return new Map([...names].map((name) => [name, new Uint8Array(readFileSync(`${folder}/${name}`))]));
}

async function outcome(run) {
  try {
    return { value: await run() };
  } catch (error) {
    return { error: [error.name, error.message] };
  }
}
"""


def node_executable() -> str:
    """Path of ``node``; fails (never skips) the calling test when Node.js is missing."""
    node = shutil.which("node")
    assert node, "Node.js (node, version 20 or newer) is needed to test the browser decoder in export/web/"
    return node


def npm_installed(folder: Path, package: str) -> Path:
    """``folder`` (a package.json with its package-lock.json) with its locked packages installed.

    Runs ``npm ci`` once, when ``package`` is missing from its node_modules, so a clean clone
    (and CI) installs exactly the locked versions and later runs reuse them. Fails, never
    skips, without Node.js and npm: the JavaScript must be tested wherever the suite runs.
    """
    assert shutil.which("node") and shutil.which("npm"), f"Node.js and npm are needed for the packages of {folder}"
    if not (folder / "node_modules" / package).is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=folder, check=True, capture_output=True, timeout=600)
    return folder


def encode(value: Any) -> Any:
    """A Python value as the runner's JSON: bytes and numpy arrays tagged, tuples as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return encode(value.tobytes())
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {"$typed": value.dtype.name, "b64": base64.b64encode(data.tobytes()).decode("ascii")}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, np.integer):
        return int(value)
    return value


def decode(value: Any) -> Any:
    """Inverse of the runner's ``encode``: bytes, numpy arrays and ints come back as such."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if "$typed" in value:
            return np.frombuffer(base64.b64decode(value["b64"]), dtype=np.dtype(value["$typed"]).newbyteorder("<"))
        if "$bigint" in value:
            return int(value["$bigint"])
        return {key: decode(item) for key, item in value.items()}
    return value


def run_node(module: str | Path, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict]:
    """Call exports of an ES module under one Node process.

    Args:
        module: A file name inside export/web, e.g. ``"container.js"``, or the path of a
            test's adapter module (written with :func:`adapter_module`).
        calls: ``(export name, arguments)`` pairs, run in order.

    Returns:
        One outcome per call: ``{"value": result}`` or ``{"error": [class name, message]}``.
    """
    path = module if isinstance(module, Path) else WEB_DIR / module
    request = {"module": path.as_uri(), "calls": [[name, encode(list(args))] for name, args in calls]}
    result = subprocess.run(
        [node_executable(), "--input-type=module", "-e", _RUNNER],
        input=json.dumps(request), capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
    )
    assert result.returncode == 0, f"node failed:\n{result.stderr}"
    return [_decode_outcome(outcome) for outcome in json.loads(result.stdout)]


def adapter_module(folder: Path, source: str) -> Path:
    """Write a test's adapter ES module, whose ``WEB/`` imports resolve into export/web.

    Adapters drive a stateful API (a decoder called symbol by symbol) in one call, so that
    the modules under test need no test-only exports.
    """
    path = folder / "adapter.mjs"
    path.write_text(source.replace('"WEB/', f'"{WEB_DIR.as_uri()}/'))
    return path


def _decode_outcome(outcome: dict) -> dict:
    if "error" in outcome:
        return {"error": outcome["error"]}
    return {"value": decode(outcome["value"])}


def python_outcome(function: Callable[..., Any], *args: Any, errors: type[BaseException] = AecodecError) -> dict:
    """Outcome of a Python call in :func:`run_node`'s shape (only ``errors`` are caught)."""
    try:
        return {"value": function(*args)}
    except errors as exc:
        return {"error": [type(exc).__name__, str(exc)]}


def assert_same_outcomes(labels: Sequence[str], expected: Sequence[dict], actual: Sequence[dict]) -> None:
    """Assert outcome lists are equal, naming the first few cases that differ."""
    assert len(expected) == len(actual) == len(labels)
    expected, actual = _plain(expected), _plain(actual)
    wrong = [f"{label}:\n  python {want}\n  js     {got}" for label, want, got in zip(labels, expected, actual) if want != got]
    assert not wrong, f"{len(wrong)} of {len(labels)} cases differ; first ones:\n" + "\n".join(wrong[:5])


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and integers turned into lists and ints, so ``==`` compares them."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def entropy_model(arrays: dict[str, np.ndarray], hyper_channels: int, latent_channels: int) -> dict:
    """The ``EntropyModel`` of export/web/entropy_decoder.js for a codec's weights-file arrays.

    The tables and integer layers as float64 arrays (every value is an integer below 2^53),
    the context model only where the weights' config has one, as aecodec.codecs.registry builds it.
    """
    from aecodec.entropy.integer_context import IntegerCheckerboardContext
    from aecodec.entropy.integer_hyper import IntegerHyperSynthesis
    from aecodec.weights_format import read_meta

    def layers(network) -> list[dict]:
        return [{"weight": weight, "bias": bias, "rows": weight.shape[0], "columns": weight.shape[1]}
                for weight, bias in zip(network.weights, network.biases)]

    def tables(prefix: str) -> dict:
        return {key: np.asarray(arrays[f"{prefix}.{key}"], dtype=np.float64) for key in ("pmf", "offsets", "minima")}

    hyper = IntegerHyperSynthesis.from_arrays(arrays, "h_s_int")
    context = None
    if read_meta(arrays)["config"].get("context_channels"):
        network = IntegerCheckerboardContext.from_arrays(arrays, "context_int")
        context = {"layers": layers(network), "inputMax": network.input_max, "activationMax": network.activation_max}
    return {
        "hyperChannels": hyper_channels, "latentChannels": latent_channels,
        "zTables": tables("z_tables"), "yTables": tables("y_tables"),
        "hyper": {"layers": layers(hyper), "activationMax": hyper.activation_max, "inputMax": hyper.input_max},
        "context": context,
    }
