"""ONNX export and the onnxruntime backend: valid graphs and cards, agreement with torch,
exactness, cross-backend decoding and stale-graph detection.

The default model is exported once per module into a temporary folder; the
cross-backend tests and those of the context model's graph run the graphs committed in
weights/onnx/, which the staleness test holds current.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from conftest import synthetic_photo
from tests_support import CONTEXT_MODEL_ID, ONE_PASS_MODEL_ID, installed_weights, loaded_script

from aecodec import bitstream, pipeline, zoo
from aecodec.assembly import build_codec, load_codec, onnx_staleness
from aecodec.cli_export import export_command
from aecodec.codecs.rounding import interpolate_gain
from aecodec.codecs.streams import CodedLatents
from aecodec.entropy.integer_context import IntegerCheckerboardContext
from aecodec.errors import InputError, WeightsMismatchError
from aecodec.onnx_build.export import export_model
from aecodec.runtime import onnx_backend, onnx_files
from aecodec.runtime.onnx_backend import OnnxTransforms, inference_session
from aecodec.weights_format import FLOAT_PREFIX, ArchiveArrays, read_meta

CARD_FIELDS = {
    "graph", "model_id", "weights_sha256", "opset", "purpose", "inputs", "outputs", "padding_multiple", "hyper_latent_grid", "host_before", "host_after",
}
TENSOR_FIELDS = {"name", "dtype", "shape", "layout", "meaning"}
ODD_SIZES = ((37, 50), (70, 29))  # (height, width), padded to ×16 as the pipeline pads
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_id() -> str:
    return zoo.default_model_id()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, model_id) -> Path:
    folder = tmp_path_factory.mktemp("onnx") / model_id
    export_model(model_id, folder)
    return folder


@pytest.fixture(scope="module")
def torch_codec(model_id):
    return load_codec(model_id, "torch")


def _padded(height: int, width: int, seed: int) -> np.ndarray:
    rgb = synthetic_photo(width, height, seed=seed)
    rgb = np.pad(rgb, ((0, -height % 16), (0, -width % 16), (0, 0)), mode="edge")
    return rgb.transpose(2, 0, 1).astype(np.float32) / 255


def _coded(data: bytes) -> CodedLatents:
    container = bitstream.read_container(data)
    return CodedLatents(container.streams, container.symbol_crc)


def _io(graph: onnx.ModelProto) -> tuple[list[str], list[str]]:
    return [i.name for i in graph.graph.input], [o.name for o in graph.graph.output]


def _card(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def _gain_from_card(card: dict, table: str, t: float) -> np.ndarray:
    """gain(t) from gains.json alone, following its interpolation steps literally."""
    log_table = np.array(card[table], dtype=np.float64)
    k = int(min(max(np.floor(t), 0), card["knots"] - 2))
    f = t - k
    return np.exp(log_table[k] * (1 - f) + log_table[k + 1] * f).astype(np.float32)


def _assert_valid_folder(folder: Path, model_id: str, context: bool) -> None:
    """Every graph of ``folder`` passes the checker and matches its card; export.json records exactly the codec's files."""
    record = json.loads((folder / onnx_files.EXPORT_RECORD).read_text())
    assert record["model_id"] == model_id and record["weights_sha256"] == zoo.entry(model_id).sha256
    assert 17 <= record["opset"] <= 20
    assert sorted(path.name for path in folder.glob("*.onnx")) == sorted(onnx_files.codec_graphs(context))
    assert set(record["files"]) == set(onnx_files.codec_files(context))
    for name in onnx_files.codec_files(context):
        assert record["files"][name]["sha256"] == zoo.sha256_of(folder / name)
    for name in onnx_files.codec_graphs(context):
        path = folder / name
        onnx.checker.check_model(str(path), full_check=True)
        graph = onnx.load(str(path))
        assert graph.opset_import[0].version == record["opset"]
        assert not [n.op_type for n in graph.graph.node if n.op_type == "Pow"]  # GDN reparametrization folded
        card = _card(folder, onnx_files.card_name(name))
        assert CARD_FIELDS <= set(card) and card["graph"] == name and card["padding_multiple"] == 16
        assert card["weights_sha256"] == record["weights_sha256"] and card["host_before"] and card["host_after"]
        assert all(TENSOR_FIELDS <= set(t) for t in card["inputs"] + card["outputs"])
        assert _io(graph) == ([t["name"] for t in card["inputs"]], [t["name"] for t in card["outputs"]])
    assert (folder / onnx_files.card_name(onnx_files.CONTEXT)).exists() == context


def test_export_writes_valid_graphs_with_model_cards(exported, model_id):
    context = bool(read_meta(zoo.load_arrays(model_id))["config"].get("context_channels"))
    _assert_valid_folder(exported, model_id, context=context)
    assert onnx_staleness(model_id, exported) is None


def test_a_codec_without_context_model_has_no_context_graph_and_decodes_alike_on_both_backends(one_pass_weights):
    with installed_weights(one_pass_weights):
        folder = zoo.onnx_dir(ONE_PASS_MODEL_ID)
        _assert_valid_folder(folder, ONE_PASS_MODEL_ID, context=False)
        assert not (folder / onnx_files.card_name(onnx_files.CONTEXT)).exists()
        rgb = synthetic_photo(70, 50, seed=3)
        data = pipeline.encode(rgb, quality=100.0, model=ONE_PASS_MODEL_ID, backend="onnx").data  # t = 1.25, above the last knot
        pixels = [np.asarray(pipeline.decompress(data, backend=backend), dtype=int) for backend in ("torch", "onnx")]
        assert pixels[0].shape == rgb.shape and np.abs(pixels[0] - pixels[1]).max() <= 1


def test_a_context_model_has_a_bit_exact_context_graph_and_card(tmp_path):
    folder = zoo.onnx_dir(CONTEXT_MODEL_ID)
    _assert_valid_folder(folder, CONTEXT_MODEL_ID, context=True)
    network = IntegerCheckerboardContext.from_arrays(zoo.load_arrays(CONTEXT_MODEL_ID), "context_int")
    card = _card(folder, onnx_files.card_name(onnx_files.CONTEXT))
    assert card["input_max"] == network.input_max and card["fraction_bits"] == 8
    weights = [i for i in onnx.load(str(folder / onnx_files.CONTEXT)).graph.initializer if len(i.dims) == 2]
    assert weights and {onnx.helper.tensor_dtype_to_np_dtype(i.data_type).kind for i in weights} == {"i"}
    with loaded_script(REPO / "export" / "validate.py", "validate_export") as validate:
        rows = validate.context_rows(CONTEXT_MODEL_ID, np.random.default_rng(0), threads=1)
    assert rows and all(row["bit-exact"] == "yes" for row in rows)
    incomplete = tmp_path / CONTEXT_MODEL_ID
    shutil.copytree(folder, incomplete)
    (incomplete / onnx_files.CONTEXT).unlink()
    assert "context.onnx missing" in onnx_staleness(CONTEXT_MODEL_ID, incomplete)


def test_gains_card_reproduces_the_codec_gains_bit_for_bit(exported, torch_codec):
    card = _card(exported, onnx_files.GAINS)
    for table, weights in (("log_gain", torch_codec.log_gain), ("log_inverse_gain", torch_codec.log_inverse_gain)):
        as_float64 = np.array(card[table], dtype=np.float64)
        assert np.array_equal(as_float64, np.array(card[table], dtype=np.float32))  # the decimals are float32 values
        assert np.array_equal(as_float64.astype(np.float32), weights)
        for t in np.linspace(card["lowest_rate_parameter"], card["knots"], 41):
            assert np.array_equal(_gain_from_card(card, table, float(t)), interpolate_gain(weights, t)[:, 0, 0])
    lowest, highest = card["lowest_rate_parameter"], card["highest_rate_parameter"]
    for quality in (1.0, 33.33, 75.0, 100.0):
        assert lowest + (quality - 1) / 99 * (highest - lowest) == torch_codec.rate_parameter(quality)


def test_entropy_tables_card_holds_the_weights_tables(exported, model_id, torch_codec):
    card, arrays = _card(exported, onnx_files.ENTROPY_TABLES), zoo.load_arrays(model_id)
    for prefix in ("z_tables", "y_tables"):
        for field in ("pmf", "offsets", "minima"):
            assert np.array_equal(card[prefix][field], arrays[f"{prefix}.{field}"])
    hyper_card = _card(exported, onnx_files.card_name(onnx_files.HYPER_DECODER))
    assert hyper_card["input_max"] == torch_codec.hyper.input_max and hyper_card["fraction_bits"] == 8


def test_backend_graphs_agree_with_torch(exported, model_id, torch_codec):
    onnx_transforms, reference = OnnxTransforms(exported, threads=1), torch_codec.transforms
    for seed, (height, width) in enumerate(ODD_SIZES):
        x = _padded(height, width, seed)
        latent = reference.analysis(x)
        np.testing.assert_allclose(onnx_transforms.analysis(x), latent, atol=1e-4)
        for t in (torch_codec.lowest_rate_parameter, 5.5):
            gained = latent * interpolate_gain(torch_codec.log_gain, t)
            z = onnx_transforms.hyper_analysis(gained)
            assert z.shape == (torch_codec.hyper_channels, -(-height // 64), -(-width // 64))
            np.testing.assert_allclose(z, reference.hyper_analysis(gained), atol=1e-4)
        np.testing.assert_allclose(onnx_transforms.synthesis(latent), reference.synthesis(latent), atol=1e-4)


def test_onnx_threads_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(onnx_backend.THREADS_VARIABLE, raising=False)
    assert onnx_backend.environment_threads() is None
    monkeypatch.setenv(onnx_backend.THREADS_VARIABLE, "2")
    assert onnx_backend.environment_threads() == 2
    for bad in ("0", "two"):
        monkeypatch.setenv(onnx_backend.THREADS_VARIABLE, bad)
        with pytest.raises(InputError, match=onnx_backend.THREADS_VARIABLE):
            onnx_backend.environment_threads()


def test_hyper_decoder_graph_is_bit_exact_with_integer_weights(exported, torch_codec):
    weights = [i for i in onnx.load(str(exported / onnx_files.HYPER_DECODER)).graph.initializer if len(i.dims) == 2]
    assert weights and {onnx.helper.tensor_dtype_to_np_dtype(i.data_type).kind for i in weights} == {"i"}
    session = inference_session(exported / onnx_files.HYPER_DECODER, threads=1)
    hyper, rng = torch_codec.hyper, np.random.default_rng(0)
    for bound, shape in ((6, (2, 3)), (hyper.input_max, (3, 2)), (hyper.input_max, (1, 1))):
        z_hat = rng.integers(-bound, bound + 1, size=(torch_codec.hyper_channels, *shape))
        mean, log_scale = session.run(None, {"quantized_hyper_latent": z_hat[None]})
        expected_mean, expected_log_scale = hyper(z_hat)
        assert mean.dtype == np.int64
        assert np.array_equal(mean[0], expected_mean) and np.array_equal(log_scale[0], expected_log_scale)


@pytest.mark.parametrize("context_tile", [64, 4])  # one block / many, each way
def test_the_onnx_backend_runs_the_integer_networks_with_the_numpy_integers(model_id, torch_codec, monkeypatch, context_tile):
    """The onnx codec runs h_s and the context model from their graphs (no numpy BLAS threads
    left spinning on the cores the synthesis needs) and quantizes to exactly what the numpy
    networks give, context blocks and all."""
    from aecodec.codecs import frozen
    from aecodec.runtime.onnx_backend import OnnxCheckerboardContext, OnnxHyperSynthesis

    monkeypatch.setattr(frozen, "CONTEXT_TILE", context_tile)
    onnx_codec = build_codec(zoo.load_arrays(model_id), "onnx", model_id)
    assert isinstance(onnx_codec.hyper, OnnxHyperSynthesis) and isinstance(onnx_codec.context, OnnxCheckerboardContext)
    latent = onnx_codec.analyze(_padded(200, 300, seed=4))
    for quality in (1.0, 60.0, 100.0):
        ours = onnx_codec.quantize(latent, quality)
        onnx_codec.hyper, onnx_codec.context, saved = torch_codec.hyper, torch_codec.context, (onnx_codec.hyper, onnx_codec.context)
        reference = onnx_codec.quantize(latent, quality)
        onnx_codec.hyper, onnx_codec.context = saved
        for field in ("z_hat", "y_symbols", "mean", "bins"):
            assert np.array_equal(getattr(ours, field), getattr(reference, field)), field
    with pytest.raises(ValueError, match="outside the range"):
        onnx_codec.hyper(np.full((onnx_codec.hyper_channels, 1, 1), onnx_codec.hyper.input_max + 1))


def _unread_arrays(model_id: str) -> ArchiveArrays:
    """The model's weights file as a fresh mapping: nothing inflated yet (the zoo's cached one has been read)."""
    return ArchiveArrays(zoo.entry(model_id).file.read_bytes())


def _weights_held_by_graphs(names: frozenset[str]) -> set[str]:
    """Of ``names``, the arrays the graphs hold: float tensors other than the gains, and the
    integer networks' weights (their ``.limits`` are the exactness bounds the backend needs)."""
    floats = {name for name in names if name.startswith(FLOAT_PREFIX) and not name.startswith(FLOAT_PREFIX + "gain.")}
    return floats | {name for name in names if name.startswith(("h_s_int.", "context_int.")) and not name.endswith(".limits")}


def test_the_onnx_backend_never_inflates_the_weights_its_graphs_hold(model_id):
    """Building, encoding and decoding on onnxruntime read the gains, the tables and the
    integer networks' bounds, never a tensor the graphs already hold (inflating those was
    most of a command's loading); torch, which needs them, reads them."""
    arrays = _unread_arrays(model_id)
    codec = build_codec(arrays, "onnx", model_id)
    assert codec.context is not None  # the default model has a context model: its graph runs too
    image = _padded(50, 70, seed=2)
    decoded = codec.reconstruct_rgb(codec.decode_symbols(codec.encode(codec.quantize(codec.analyze(image), 75.0))), 75.0, 50, 70)
    assert decoded.shape == (50, 70, 3)
    assert _weights_held_by_graphs(arrays.inflated) == set()
    assert {"h_s_int.limits", "context_int.limits", "y_tables.pmf"} <= arrays.inflated
    torch_arrays = _unread_arrays(model_id)
    build_codec(torch_arrays, "torch", model_id)
    assert _weights_held_by_graphs(torch_arrays.inflated) == _weights_held_by_graphs(frozenset(torch_arrays))


def test_archive_arrays_inflate_each_array_once_and_equal_the_file(model_id):
    path = zoo.entry(model_id).file
    arrays = ArchiveArrays(path.read_bytes())
    with np.load(path) as archive:
        assert list(arrays) == archive.files and len(arrays) == len(archive.files)
        name = archive.files[-1]
        assert arrays[name] is arrays[name] and np.array_equal(arrays[name], archive[name])
        assert arrays.inflated == {name} and "no such array" not in arrays
        with pytest.raises(KeyError):
            arrays["no such array"]
        for key in archive.files:
            assert np.array_equal(arrays[key], archive[key])
    assert arrays.inflated == set(arrays)


def test_onnx_sessions_are_created_only_for_the_graphs_that_run(model_id):
    """Loading creates no session; decoding creates those of the graphs it runs and never the
    analysis's, encoding those of its own graphs; a session is created once."""
    codec = build_codec(_unread_arrays(model_id), "onnx", model_id)
    transforms = codec.transforms
    assert transforms.created_sessions == set()
    coded = codec.encode(codec.quantize(codec.analyze(_padded(40, 60, seed=3)), 75.0))
    assert transforms.created_sessions == {onnx_files.ANALYSIS, onnx_files.HYPER_ANALYSIS, onnx_files.HYPER_DECODER, onnx_files.CONTEXT}
    decoder = build_codec(_unread_arrays(model_id), "onnx", model_id)
    decoding = {onnx_files.SYNTHESIS, onnx_files.HYPER_DECODER, onnx_files.CONTEXT}
    decoder.reconstruct_rgb(decoder.decode_symbols(coded), 75.0, 40, 60)
    assert decoder.transforms.created_sessions == decoding
    session = decoder.transforms._synthesis.session()
    decoder.reconstruct_rgb(decoder.decode_symbols(coded), 75.0, 40, 60)
    assert decoder.transforms._synthesis.session() is session


@pytest.mark.parametrize("encoder, decoder", [("torch", "onnx"), ("onnx", "torch")])
def test_files_decode_identically_across_backends(model_id, encoder, decoder):
    codecs = {name: load_codec(model_id, name) for name in (encoder, decoder)}
    assert codecs["onnx"].transforms.name == "onnx"
    for seed, (width, height) in enumerate(((40, 24), (70, 50), (33, 65))):
        rgb = synthetic_photo(width, height, seed=seed)
        for quality in (10.0, 90.0):
            data = pipeline.encode(rgb, quality=quality, model=model_id, backend=encoder).data
            coded = _coded(data)
            mine, theirs = (codecs[name].decode_symbols(coded) for name in (encoder, decoder))
            assert np.array_equal(mine.z_hat, theirs.z_hat) and np.array_equal(mine.y_symbols, theirs.y_symbols)
            pixels = [np.asarray(pipeline.decompress(data, backend=name), dtype=int) for name in (encoder, decoder)]
            assert pixels[1].shape == rgb.shape
            assert np.abs(pixels[0] - pixels[1]).max() <= 1


def test_committed_graphs_match_the_installed_weights():
    """Fails when weights change without `aecodec export` being run (or a graph was edited)."""
    assert zoo.models() and zoo.heads()
    for entry in zoo.models() + zoo.heads():
        assert onnx_staleness(entry.model_id) is None, "run `aecodec export` and commit weights/onnx/"
        folder = zoo.onnx_dir(entry.model_id)
        for name, file in onnx_files.read_record(folder)["files"].items():
            assert zoo.sha256_of(folder / name) == file["sha256"], f"{name} differs from the one exported"


def test_every_name_a_committed_card_cites_is_defined_there():
    """The cards name the aecodec function each host step restates; when one moves, the cards
    must be written again (`aecodec export`)."""
    import importlib
    import re

    cited = set()
    for entry in zoo.models() + zoo.heads():
        for path in zoo.onnx_dir(entry.model_id).glob("*.json"):
            cited.update(re.findall(r"aecodec(?:\.\w+)+", path.read_text(encoding="utf-8")))
    assert cited
    for name in sorted(cited):
        parts = name.split(".")
        for depth in range(len(parts), 0, -1):  # the longest prefix that is a module
            try:
                target = importlib.import_module(".".join(parts[:depth]))
                break
            except ImportError:
                continue
        module = target.__name__
        for attribute in parts[depth:]:
            assert hasattr(target, attribute), f"a card cites {name}, which does not exist: run `aecodec export`"
            target = getattr(target, attribute)
            assert getattr(target, "__module__", module) == module, f"a card cites {name}, defined in {target.__module__}: run `aecodec export`"


def test_stale_or_missing_graphs_are_refused_and_auto_falls_back(tmp_path, exported, model_id, monkeypatch):
    stale = tmp_path / model_id
    shutil.copytree(exported, stale)
    record = onnx_files.read_record(stale)
    record["weights_sha256"] = "0" * 64
    (stale / onnx_files.EXPORT_RECORD).write_text(json.dumps(record))
    arrays = zoo.load_arrays(model_id)
    for folder in (stale, tmp_path / "nothing"):
        monkeypatch.setattr(zoo, "onnx_dir", lambda _, folder=folder: folder)
        with pytest.raises(WeightsMismatchError, match="aecodec export"):
            build_codec(arrays, "onnx", model_id)
    monkeypatch.setattr(zoo, "onnx_dir", lambda _: stale)
    assert build_codec(arrays, "auto", model_id).transforms.name == "torch"
    with pytest.raises(WeightsMismatchError, match="exported from weights 0000"):
        build_codec(arrays, "onnx", model_id)
    monkeypatch.setattr(zoo, "onnx_dir", lambda _: exported)
    assert build_codec(arrays, "auto", model_id).transforms.name == "onnx"


def test_a_folder_without_its_data_cards_is_stale_for_export_but_runs_the_backend(tmp_path, exported, model_id, monkeypatch):
    folder = tmp_path / model_id
    shutil.copytree(exported, folder)
    (folder / onnx_files.GAINS).unlink()
    assert "gains.json missing" in onnx_staleness(model_id, folder)
    monkeypatch.setattr(zoo, "onnx_dir", lambda _: folder)
    assert build_codec(zoo.load_arrays(model_id), "onnx", model_id).transforms.name == "onnx"  # every graph is there


def test_export_command_skips_current_graphs_and_reports_errors(exported, model_id):
    runner = CliRunner()
    result = runner.invoke(export_command, ["--model", model_id, "--out", str(exported.parent)])
    assert result.exit_code == 0 and "up to date" in result.output
    result = runner.invoke(export_command, ["--model", "no-such-model"])
    assert result.exit_code == 1 and "Error: unknown model 'no-such-model'" in result.output


def test_depth_to_space_becomes_an_exact_interleave():
    """pixel_shuffle (the heads' upsampling) and its ConvTranspose rewrite agree bit for bit."""
    import onnxruntime
    import torch

    from aecodec.onnx_build.surgery import interleave_depth_to_space
    from aecodec.onnx_build.torch_graphs import TorchGraph, export_torch

    graph = TorchGraph(torch.nn.PixelShuffle(2), {"x": torch.randn(1, 12, 5, 7)}, {"x": [1, 12, "height", "width"], "y": [1, 3, "height2", "width2"]})
    model = interleave_depth_to_space(export_torch(graph))
    onnx.checker.check_model(model, full_check=True)
    assert [node.op_type for node in model.graph.node] == ["ConvTranspose"]
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    probe = torch.randn(1, 12, 6, 11) * 1e3
    (actual,) = session.run(None, {"x": probe.numpy()})
    np.testing.assert_array_equal(actual, torch.nn.functional.pixel_shuffle(probe, 2).numpy())


@pytest.mark.parametrize("out_channels", [16, 3])  # four phase convolutions / one combined convolution
def test_transposed_convolutions_are_split_into_phases_exactly(out_channels):
    import onnxruntime
    import torch

    from aecodec.layers import deconv
    from aecodec.onnx_build.surgery import interleave_depth_to_space, split_transposed_convolutions
    from aecodec.onnx_build.torch_graphs import TorchGraph, export_torch

    torch.manual_seed(0)
    layer = deconv(16, out_channels).eval()
    graph = TorchGraph(layer, {"x": torch.randn(1, 16, 7, 9)}, {"x": [1, 16, "height", "width"], "y": [1, out_channels, "height2", "width2"]})
    model = interleave_depth_to_space(split_transposed_convolutions(export_torch(graph)))
    onnx.checker.check_model(model, full_check=True)
    # What is left of the transposed convolution is the one-hot 2×2 interleave of the phases.
    (interleave,) = [node for node in model.graph.node if node.op_type == "ConvTranspose"]
    assert next(a.ints for a in interleave.attribute if a.name == "kernel_shape") == [2, 2]
    assert "DepthToSpace" not in {node.op_type for node in model.graph.node}
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for height, width in ((7, 9), (4, 13)):
        probe = torch.randn(1, 16, height, width)
        with torch.no_grad():
            expected = layer(probe).numpy()
        (actual,) = session.run(None, {"x": probe.numpy()})
        assert actual.shape == expected.shape == (1, out_channels, 2 * height, 2 * width)
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_subnormal_gdn_weights_are_zeroed_without_changing_outputs():
    """The shipped GDNs hold gamma entries below float32's smallest normal, which cost CPUs
    without flush-to-zero a slow path per product; zeroing them keeps every output bit."""
    import torch

    from aecodec.codecs.config import HyperpriorConfig
    from aecodec.codecs.freeze import float_state_dict
    from aecodec.codecs.hyperprior import MeanScaleHyperprior
    from aecodec.layers import GDN, flush_subnormal_gammas

    arrays = zoo.load_arrays(CONTEXT_MODEL_ID)
    model = MeanScaleHyperprior(HyperpriorConfig(**read_meta(arrays)["config"])).eval()
    model.load_state_dict(float_state_dict(arrays))
    tiny = torch.finfo(torch.float32).tiny

    def subnormal_count() -> int:
        gammas = [m.gamma_sqrt.square() for m in model.modules() if isinstance(m, GDN)]
        return sum(int(((g > 0) & (g < tiny)).sum()) for g in gammas)

    assert subnormal_count() > 0  # the shipped weights have them: the case this guards
    image = torch.from_numpy(synthetic_photo(96, 128, seed=3).transpose(2, 0, 1).astype(np.float32) / 255)[None]
    with torch.no_grad():
        before = model.g_a(image)
        decoded_before = model.g_s(before * 3)
        flush_subnormal_gammas(model)
        assert subnormal_count() == 0
        assert torch.equal(model.g_a(image), before)
        assert torch.equal(model.g_s(before * 3), decoded_before)
