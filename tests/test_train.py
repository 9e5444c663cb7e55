"""Training: config parsing, a resumable run on generated photos, and freezing its result."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tests_support import installed_weights, write_manifest, write_photos

from aecodec.assembly import build_codec
from aecodec.codecs.config import HyperpriorConfig
from aecodec.codecs.freeze import freeze
from aecodec.codecs.hyperprior import MeanScaleHyperprior
from aecodec.errors import InputError
from aecodec.train.config import HeadTrainConfig, TrainConfig, is_head_config
from aecodec.train.loop import lambda_for, learning_rate, train


@pytest.mark.parametrize("recipe", sorted((Path(__file__).resolve().parent.parent / "weights").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_configs_parse_and_start_from_shipped_weights(recipe):
    if is_head_config(recipe):
        config = HeadTrainConfig.load(recipe)
        assert config.crop % 16 == 0 and (recipe.parent.parent / config.backbone).is_file()
    else:
        config = TrainConfig.load(recipe)
        assert config.model.knots >= 2 and config.crop % 64 == 0
    if config.init_from:  # a refinement starts from shipped weights, or a retired model whose recipe is here
        from aecodec import zoo

        parent = recipe.parent.parent / config.init_from
        retired = {entry["file"]: entry for entry in zoo._manifest().get("retired", {}).values()}
        assert parent.is_file() or (parent.name in retired and (recipe.parent.parent / retired[parent.name]["recipe"]).is_file())


def test_unknown_config_key_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('train_dir = "a"\nval_dir = "b"\nlearning_rat = 0.1\n')
    with pytest.raises(InputError, match="learning_rat"):
        TrainConfig.load(path)


def test_schedule_and_lambda_range():
    config = TrainConfig("a", "b", steps=1000, warmup=100, lr=1e-3, lr_final=1e-5)
    assert learning_rate(0, config) < learning_rate(99, config) <= 1e-3
    assert learning_rate(1000, config) == pytest.approx(1e-5)
    lambdas = lambda_for(torch.tensor([0.0, 7.0]), config, knots=8)
    assert lambdas[0] == pytest.approx(config.lambda_min) and lambdas[1] == pytest.approx(config.lambda_max)


def test_quality_100_maps_to_the_last_knot_or_at_most_one_knot_spacing_above():
    assert HyperpriorConfig(knots=8).top_rate_parameter == 7.0
    assert HyperpriorConfig(knots=8, highest_rate_parameter=7.3).top_rate_parameter == 7.3
    for beyond in (6.5, 8.5):
        with pytest.raises(InputError, match="highest_rate_parameter extrapolates the gains at most one knot spacing"):
            HyperpriorConfig(knots=8, highest_rate_parameter=beyond)


def test_detail_channels_pay_for_their_bits_only_after_a_warm_up():
    from aecodec.codecs.objective import rate_distortion
    from aecodec.train.loop import latent_charge

    config = TrainConfig("a", "b", model=HyperpriorConfig(m=3, detail_channels=2), detail_rate_warmup=100)
    weights = [latent_charge(step, config) for step in (0, 50, 75, 100)]
    assert weights[0].tolist() == [1, 1, 1, 0, 0] and weights[1].tolist() == [1, 1, 1, 0, 0]
    assert weights[2].tolist() == [1, 1, 1, 0.5, 0.5] and weights[3] is None
    assert latent_charge(0, replace(config, model=HyperpriorConfig(m=3))) is None
    out = {
        "x_hat": torch.zeros(1, 3, 4, 4),
        "y": torch.full((1, 5, 2, 2), 0.5),  # 1 bit per element: 4 per channel
        "z": torch.full((1, 2, 1, 1), 0.25),  # 2 bits per element
    }
    x, lmbda = torch.zeros(1, 3, 4, 4), torch.ones(1)
    full_loss, _, full_bpp = rate_distortion(out, x, lmbda)
    loss, _, bpp = rate_distortion(out, x, lmbda, weights[2])
    assert full_bpp == bpp == pytest.approx((5 * 4 + 4) / 16)
    assert full_loss == pytest.approx(bpp) and loss == pytest.approx((3 * 4 + 0.5 * 2 * 4 + 4) / 16)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    write_photos(root / "train", count=3, size=(80, 72))
    write_photos(root / "val", count=1, size=(64, 64), seed=9)
    config = TrainConfig(
        str(root / "train"), str(root / "val"), model=HyperpriorConfig(n=8, m=8, knots=2),
        crop=64, batch=2, steps=4, warmup=1, validate_every=2, precision="fp32", threads=1, checkpoint_minutes=0.0,
    )
    return root, config


def test_training_is_resumable_and_logs_a_learning_curve(tiny_run):
    root, config = tiny_run
    run_dir = root / "run"
    checkpoint = train(config, run_dir, log=lambda message: None)
    first = torch.load(checkpoint, weights_only=False)
    assert first["step"] == 4 and first["cpu_seconds"] > 0
    messages = []
    train(replace(config, steps=6), run_dir, log=messages.append)
    resumed = torch.load(checkpoint, weights_only=False)
    assert resumed["step"] == 6
    assert any("resumed from step 4" in m for m in messages)
    curve = [json.loads(line) for line in (run_dir / "curve.jsonl").read_text().splitlines()]
    assert [point["step"] for point in curve] == [2, 4, 6]
    assert sorted(path.name for path in run_dir.glob("ema-*.pt")) == ["ema-000002.pt", "ema-000004.pt", "ema-000006.pt"]
    snapshot = torch.load(run_dir / "ema-000004.pt", weights_only=False)
    assert snapshot["step"] == 4 and set(snapshot["ema"]) == set(resumed["ema"])
    assert all(p["bpp"] > 0 and np.isfinite(p["psnr"]) for point in curve for p in point["points"])


@pytest.mark.parametrize("context_channels", [0, 8])
def test_frozen_codec_roundtrips_and_matches_the_training_rate(tiny_run, context_channels):
    """update(): the integer tables (and context model) code the symbols at about the rate the float model estimates."""
    torch.manual_seed(0)
    model = MeanScaleHyperprior(HyperpriorConfig(n=8, m=8, knots=2, context_channels=context_channels)).eval()
    if context_channels:  # a context model that does something
        torch.nn.init.normal_(model.context.output.weight, std=0.1)
    codec = build_codec(freeze(model))
    image = np.asarray(Image.open(next((tiny_run[0] / "val").iterdir())).convert("RGB"), dtype=np.float32) / 255
    x = image.transpose(2, 0, 1)
    coded = codec.compress(x, quality=50.0)
    with torch.no_grad():
        out = model(torch.from_numpy(x)[None], torch.tensor([codec.rate_parameter(50.0)]))
    estimated_bits = float(-out["y"].log2().sum() - out["z"].log2().sum())
    coded_bits = 8 * sum(len(stream.payload) for stream in coded.streams if not stream.name.endswith("escape"))
    assert coded_bits == pytest.approx(estimated_bits, rel=0.15, abs=96)
    assert codec.decompress(coded, 50.0).shape == x.shape


def test_gains_interpolate_between_knots_and_extrapolate_beyond_the_first_and_last():
    """The training gains (torch) and the codec's gains (numpy) are the same function."""
    from aecodec.codecs.gain import GainUnit
    from aecodec.codecs.rounding import interpolate_gain

    table = [[0.0, 0.0], [1.0, 2.0], [3.0, 3.0]]
    unit = GainUnit(channels=2, knots=3)
    with torch.no_grad():
        unit.log_gain.copy_(torch.tensor(table))
    rates = [-1.0, 0.0, 0.5, 2.0, 2.5]
    gains = unit.gain(torch.tensor(rates))[:, :, 0, 0].log()
    expected = torch.tensor([[-1.0, -2.0], [0.0, 0.0], [0.5, 1.0], [3.0, 3.0], [4.0, 3.5]])
    assert torch.allclose(gains, expected, atol=1e-6)
    numpy_gains = np.stack([np.log(interpolate_gain(np.array(table, dtype=np.float32), t))[:, 0, 0] for t in rates])
    assert np.allclose(numpy_gains, expected.numpy(), atol=1e-6)


def test_a_run_can_start_from_released_weights_and_release_records_its_lineage(tiny_run, tmp_path, monkeypatch):
    """init_from loads released float weights; release adds the parent's CPU-hours."""
    from aecodec.train.release import release

    root, config = tiny_run
    parent_checkpoint = train(config, root / "parent", log=lambda message: None)
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(tmp_path))
    parent = release(parent_checkpoint, "parent", "", "", 0.0, models={})
    assert [record["step"] for record in parent["training"]["learning_curve"]] == [2, 4]  # the run's curve.jsonl
    messages = []
    # Another seed: a random initialization would now differ from the parent's.
    child_config = replace(config, init_from=str(tmp_path / parent["file"]), steps=1, seed=1)
    child_checkpoint = train(child_config, root / "child", log=messages.append)
    assert any("initialized from" in m for m in messages)
    parent_ema = torch.load(parent_checkpoint, weights_only=False)["ema"]
    child_state = torch.load(child_checkpoint, weights_only=False)
    name = next(key for key, value in parent_ema.items() if value.ndim == 4)  # the first convolution
    moved = (child_state["model"][name] - parent_ema[name]).abs().max()  # one Adam step: ≤ lr per weight
    fresh = (MeanScaleHyperprior(config.model).state_dict()[name] - parent_ema[name]).abs().max()
    assert moved <= 2 * config.lr < fresh
    child = release(child_checkpoint, "child", "", "", 0.0, models={"parent": parent})
    lineage = child["training"]
    assert lineage["initialised_from"]["model"] == "parent"
    assert lineage["cpu_hours_total"] == pytest.approx(lineage["cpu_hours"] + parent["training"]["cpu_hours_total"], abs=2e-3)
    from aecodec.train.machine import machine_kind

    assert list(lineage["hours_by_machine"]) == [machine_kind(torch.device("cpu"))]
    assert sum(lineage["hours_by_machine"].values()) == pytest.approx(lineage["cpu_hours"], abs=2e-3)


@pytest.mark.parametrize("task", ["denoise", "colorize"])
def test_a_head_trains_resumably_over_the_shipped_backbone_and_releases(task, tmp_path, monkeypatch):
    """Degraded batches, resume, the learning curve, and a release that the zoo loads and checks."""
    import shutil

    from aecodec import zoo
    from aecodec.assembly import load_head
    from aecodec.heads.config import HeadConfig
    from aecodec.train.head_loop import train_head
    from aecodec.train.release_head import release_head

    write_photos(tmp_path / "train", count=2, size=(72, 64))
    write_photos(tmp_path / "val", count=1, size=(64, 64), seed=9)
    backbone = zoo.entry(zoo.default_model_id()).file
    config = HeadTrainConfig(
        str(tmp_path / "train"), str(tmp_path / "val"), str(backbone), head=HeadConfig(task=task, widths=(4, 4, 4, 4, 4)),
        crop=32, batch=2, steps=2, warmup=1, validate_every=2, precision="fp32", threads=1, checkpoint_minutes=0.0,
    )
    train_head(config, tmp_path / "run", log=lambda message: None)
    messages = []
    checkpoint = train_head(replace(config, steps=3), tmp_path / "run", log=messages.append)
    assert any("resumed from step 2" in m for m in messages)
    curve = [json.loads(line) for line in (tmp_path / "run" / "curve.jsonl").read_text().splitlines()]
    assert [point["step"] for point in curve] == [2, 3]
    assert ("sigma25" in curve[-1]) == (task == "denoise") and ("gray_psnr" in curve[-1]) == (task == "colorize")
    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(zoo.weights_dir() / zoo.MANIFEST_NAME, weights)
    (weights / backbone.name).symlink_to(backbone)
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(weights))
    manifest = json.loads((weights / zoo.MANIFEST_NAME).read_text())
    entry = release_head(checkpoint, f"tiny-{task}", "", "", 0.5, manifest)
    assert entry["backbone"]["model"] == zoo.default_model_id() and entry["training"]["steps"] == 3
    manifest.setdefault("heads", {})[f"tiny-{task}"] = entry
    manifest.setdefault("default_heads", {})[task] = f"tiny-{task}"
    (weights / zoo.MANIFEST_NAME).write_text(json.dumps(manifest))
    with installed_weights(weights):
        head = load_head(task, "torch")
        output = head.network(np.zeros((3, 32, 48), dtype=np.float32), 0.5 if task == "denoise" else None)
        assert output.shape == ((3, 32, 48) if task == "denoise" else (256, 16, 24))


def test_a_grown_head_starts_exactly_where_the_released_head_ended(tmp_path):
    """init_from loads a shipped head into one with more residual blocks: the added blocks
    start as the identity, so the outputs are equal; another task or architecture is refused."""
    from aecodec import zoo
    from aecodec.assembly import verified_backbone
    from aecodec.heads.backbone import backbone_sha256
    from aecodec.heads.config import HeadConfig
    from aecodec.heads.model import BackboneAndHead, RestorationHead, load_backbone
    from aecodec.train.head_loop import initialize_head_from, train_head
    from aecodec.weights_format import read_meta

    manifest = zoo._manifest()
    released = {task: zoo.weights_dir() / manifest["heads"][manifest["default_heads"][task]]["file"] for task in ("denoise", "colorize")}
    with np.load(released["denoise"]) as archive:
        arrays = {name: archive[name] for name in archive.files}
    shipped_config = HeadConfig(**read_meta(arrays)["config"])
    codec_id, codec_config, codec_arrays = verified_backbone(read_meta(arrays))
    n, m = codec_config["n"], codec_config["m"]
    backbone, backbone_hash = load_backbone(codec_arrays, n, m), backbone_sha256(codec_arrays)
    grown_config = replace(shipped_config, blocks=tuple(b + (i < 2) for i, b in enumerate(shipped_config.blocks)))
    shipped, grown = RestorationHead(shipped_config, n, m), RestorationHead(grown_config, n, m)
    assert initialize_head_from(shipped, arrays, backbone_hash) == []
    added = initialize_head_from(grown, arrays, backbone_hash)
    new_blocks = [f"level{level}.refine.{shipped_config.blocks[level]}" for level in (0, 1)]
    assert len(added) == 8 and sorted({name.split(".body")[0] for name in added}) == new_blocks
    x, level = torch.rand(1, 3, 32, 48), torch.full((1, 1, 1, 1), 0.4)
    with torch.no_grad():
        assert torch.equal(BackboneAndHead(backbone, shipped)(x, level), BackboneAndHead(backbone, grown)(x, level))
    with pytest.raises(InputError, match="another backbone"):
        initialize_head_from(grown, arrays, "0" * 64)
    with pytest.raises(InputError, match="do not fit"):
        initialize_head_from(RestorationHead(replace(shipped_config, widths=(16, 64, 96, 128, 160)), n, m), arrays, backbone_hash)
    with np.load(released["colorize"]) as archive:
        with pytest.raises(InputError, match="colorize head"):
            initialize_head_from(grown, {name: archive[name] for name in archive.files}, backbone_hash)
    write_photos(tmp_path / "train", count=2, size=(72, 64))
    write_photos(tmp_path / "val", count=1, size=(64, 64), seed=9)
    config = HeadTrainConfig(
        str(tmp_path / "train"), str(tmp_path / "val"), str(zoo.entry(codec_id).file), head=grown_config, init_from=str(released["denoise"]),
        crop=32, batch=1, steps=1, warmup=1, validate_every=100, precision="fp32", threads=1, checkpoint_minutes=0.0,
    )
    messages = []
    train_head(config, tmp_path / "run", log=messages.append)
    assert any("new: 8 tensors of added blocks" in message for message in messages)


def test_fine_tuning_the_backbone_moves_g_a_resumes_from_a_frozen_run_and_cannot_ship(tmp_path):
    """The measuring option: g_a moves and is checkpointed, and the release refuses the result."""
    import click

    from aecodec import zoo
    from aecodec.heads.backbone import backbone_arrays
    from aecodec.heads.config import HeadConfig
    from aecodec.train.head_loop import train_head
    from aecodec.train.release_head import release_head

    write_photos(tmp_path / "train", count=2, size=(72, 64))
    write_photos(tmp_path / "val", count=1, size=(64, 64), seed=9)
    backbone = zoo.entry(zoo.default_model_id()).file
    frozen = HeadTrainConfig(
        str(tmp_path / "train"), str(tmp_path / "val"), str(backbone), head=HeadConfig(task="denoise", widths=(4, 4, 4, 4, 4)),
        crop=32, batch=2, steps=2, warmup=1, lr=1e-3, validate_every=100, precision="fp32", threads=1, checkpoint_minutes=0.0,
    )
    train_head(frozen, tmp_path / "run", log=lambda message: None)
    assert "backbone" not in torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    tuned = replace(frozen, steps=4, backbone_lr_scale=0.5)
    messages = []
    checkpoint = train_head(tuned, tmp_path / "run", log=messages.append)  # fine-tuning picks up the frozen run
    assert any("resumed from step 2" in m for m in messages)
    state = torch.load(checkpoint, weights_only=False)
    shipped = backbone_arrays(zoo.load_arrays(zoo.default_model_id()))
    moved = max(float((state["backbone"][name] - torch.from_numpy(np.array(value))).abs().max()) for name, value in shipped.items())
    assert 0 < moved <= 2 * 2 * 0.5 * tuned.lr  # two Adam steps at half the head's learning rate
    assert len(state["optimizer"]["param_groups"]) == 2
    train_head(replace(tuned, steps=5), tmp_path / "run", log=lambda message: None)  # and resumes as a fine-tuning run
    with pytest.raises(InputError, match="fine-tunes g_a"):
        train_head(replace(frozen, steps=6), tmp_path / "run", log=lambda message: None)
    with pytest.raises(click.ClickException, match="fine-tuned g_a"):
        release_head(checkpoint, "tiny", "", "", 0.5, {"models": {}})


def test_release_refuses_a_file_that_is_no_checkpoint_of_its_kind_and_leaves_the_weights_alone(tmp_path, monkeypatch):
    """``aecodec release codec|head``: a file that is no checkpoint, or a checkpoint of the
    other kind of run, gets one ``Error:`` line and exit 1; the weights folder is untouched."""
    from click.testing import CliRunner

    from aecodec.cli import main

    weights = tmp_path / "weights"
    weights.mkdir()
    write_manifest(weights, {"base": {"file": "base.npz", "sha256": "0" * 64, "architecture": "mean-scale-hyperprior-vr"}})
    before = {path.name: path.read_bytes() for path in weights.iterdir()}
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    codec_run, head_run, other_pickle = tmp_path / "codec.pt", tmp_path / "head.pt", tmp_path / "other.pt"
    torch.save({"config": {"model": {}}, "ema": {}, "step": 1, "cpu_seconds": 1.0}, codec_run)
    torch.save({"config": {"head": {}, "backbone": "base.npz"}, "ema": {}, "step": 1, "cpu_seconds": 1.0}, head_run)
    torch.save({"weights": [1, 2, 3]}, other_pickle)
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(weights))
    refused = [
        *((kind, path, "is not a training checkpoint") for kind in ("codec", "head") for path in (notes, empty, other_pickle)),
        ("codec", head_run, "is a checkpoint of a head run; `aecodec release head` releases it"),
        ("head", codec_run, "is a checkpoint of a codec run; `aecodec release codec` releases it"),
    ]
    for kind, path, message in refused:
        result = CliRunner().invoke(main, ["release", kind, str(path), "--id", "new"])
        assert result.exit_code == 1 and result.stdout == "", (kind, path, result.output)
        assert result.stderr.splitlines() == [f"Error: {path} {message}"]
        assert {path.name: path.read_bytes() for path in weights.iterdir()} == before


def test_release_codec_records_the_weights_as_the_default_and_replaces_the_file_it_supersedes(tiny_run, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from aecodec.cli import main

    root, config = tiny_run
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(weights))
    files = []
    for steps in (4, 5):  # the second release resumes the run one step further: new weights, same id
        checkpoint = train(replace(config, steps=steps), root / "released-by-the-cli", log=lambda message: None)
        result = CliRunner().invoke(main, ["release", "codec", str(checkpoint), "--id", "tiny", "--description", "a tiny codec"])
        assert result.exit_code == 0, result.output
        manifest = json.loads((weights / "MANIFEST.json").read_text())
        entry = manifest["models"]["tiny"]
        assert result.stdout.startswith(f"wrote {entry['file']} ({steps} steps")
        assert manifest["default"] == "tiny" and entry["description"] == "a tiny codec" and entry["training"]["steps"] == steps
        files.append(entry["file"])
    assert files[0] != files[1] and sorted(path.name for path in weights.glob("*.npz")) == [files[1]]


def test_a_context_model_starts_from_released_weights_without_one(tiny_run, tmp_path, monkeypatch):
    """The added context model starts at zero, so the refined model begins exactly where its
    parent ended; with ``frozen_analysis`` its g_a (the heads' backbone) stays the parent's."""
    from aecodec.codecs.freeze import float_state_dict
    from aecodec.train.loop import initialize_from
    from aecodec.train.release import release

    root, config = tiny_run
    parent_checkpoint = train(config, root / "parent-of-context", log=lambda message: None)
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(tmp_path))
    parent_file = tmp_path / release(parent_checkpoint, "parent", "", "", 0.0, models={})["file"]
    child_config = replace(config, model=replace(config.model, context_channels=8), init_from=str(parent_file), steps=2, frozen_analysis=True)
    messages = []
    child_state = torch.load(train(child_config, root / "context-child", log=messages.append), weights_only=False)
    assert any("new: context.context.weight" in m for m in messages)
    with np.load(parent_file) as arrays:
        state = float_state_dict(arrays)
    for weights in (child_state["model"], child_state["ema"]):
        assert all(torch.equal(weights[name], state[name]) for name in state if name.startswith("g_a."))
    assert not torch.equal(child_state["model"]["g_s.net.0.weight"], state["g_s.net.0.weight"])
    parent, child = MeanScaleHyperprior(config.model).eval(), MeanScaleHyperprior(child_config.model).eval()
    parent.load_state_dict(state)
    assert all(name.startswith("context.") for name in initialize_from(child, state))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        before, after = parent(x, torch.tensor([0.5])), child(x, torch.tensor([0.5]))
    assert all(torch.equal(before[key], after[key]) for key in ("x_hat", "y", "z"))
    with pytest.raises(InputError, match="do not fit"):
        initialize_from(MeanScaleHyperprior(replace(config.model, m=16)), state)


@pytest.mark.parametrize("depth", [1, 2])  # the branch reads the 1/8- or the 1/4-resolution stage
def test_detail_channels_grow_a_released_codec_without_changing_what_it_decodes(tiny_run, tmp_path, monkeypatch, depth):
    """A codec widened by detail channels starts decoding exactly what its parent did, trains
    only the detail branch of g_a (the heads' backbone keeps its hash), and releases, exports
    and codes like any codec."""
    from aecodec.codecs.freeze import float_state_dict
    from aecodec.heads.backbone import backbone_sha256
    from aecodec.train.loop import initialize_from
    from aecodec.train.release import release

    root, config = tiny_run
    parent_config = replace(config, model=replace(config.model, context_channels=8))
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(tmp_path))
    parent = release(train(parent_config, root / "parent-of-detail", log=lambda message: None), "parent", "", "", 0.0, models={})
    with np.load(tmp_path / parent["file"]) as arrays:
        parent_arrays = dict(arrays)
    state = float_state_dict(parent_arrays)
    wide = replace(parent_config.model, detail_channels=4, detail_depth=depth)
    child_config = replace(parent_config, model=wide, init_from=str(tmp_path / parent["file"]), steps=2, frozen_analysis=True)
    messages = []
    child_checkpoint = train(child_config, root / f"detail-child-{depth}", log=messages.append)
    first_detail = "g_a.detail.weight" if depth == 1 else "g_a.detail.0.weight"
    assert any(first_detail in m for m in messages)
    child_state = torch.load(child_checkpoint, weights_only=False)
    assert all(torch.equal(child_state["model"][name], state[name]) for name in state if name.startswith("g_a.stages."))
    assert not torch.equal(child_state["model"][first_detail], child_state["ema"][first_detail])  # it trained

    parent_model, grown = MeanScaleHyperprior(parent_config.model).eval(), MeanScaleHyperprior(wide).eval()
    parent_model.load_state_dict(state)
    initialize_from(grown, state)
    x = torch.rand(1, 3, 64, 64)
    for t in (0.0, 1.0):
        with torch.no_grad():
            before, after = parent_model(x, torch.tensor([t])), grown(x, torch.tensor([t]))
        assert torch.allclose(after["x_hat"], before["x_hat"], atol=1e-6)
        assert torch.allclose(after["z"], before["z"], atol=1e-6)
        assert torch.allclose(after["y"][:, : wide.m], before["y"], atol=1e-6)
        assert after["y"].shape[1] == wide.m + 4
    with pytest.raises(InputError, match="widening grows"):
        initialize_from(MeanScaleHyperprior(replace(wide, m=16)), state)  # another backbone
    with pytest.raises(InputError, match="detail_depth is the detail branch's stride-2 convolutions, 1 to 3, not 4"):
        replace(wide, detail_depth=4)  # deeper than the stages it could read

    child = release(child_checkpoint, "child", "", "", 0.0, models={"parent": parent})
    with np.load(tmp_path / child["file"]) as arrays:
        assert backbone_sha256(dict(arrays)) == backbone_sha256(parent_arrays)
    assert_exports_and_codes(tmp_path, "child", child)


def assert_exports_and_codes(folder: Path, model_id: str, entry: dict) -> None:
    """A released codec installed alone in ``folder`` exports, and torch and onnxruntime decode its file alike."""
    from conftest import synthetic_photo

    from aecodec import assembly, pipeline
    from aecodec.onnx_build.export import export_model

    write_manifest(folder, {model_id: entry})
    with installed_weights(folder):
        export_model(model_id)
        rgb = synthetic_photo(70, 50, seed=3)
        data = pipeline.encode(rgb, quality=90.0, model=model_id, backend="torch").data
        pixels = [np.asarray(pipeline.decompress(data, backend=backend), dtype=int) for backend in ("torch", "onnx")]
        assert assembly.load_codec(model_id, "onnx").transforms.name == "onnx"
        assert pixels[0].shape == rgb.shape and np.abs(pixels[0] - pixels[1]).max() <= 1


def test_hidden_width_grows_without_changing_what_the_codec_computes():
    """g_a and g_s grown wider start computing exactly what the narrower codec did, and the
    new channels learn: their outgoing weights get gradients from the first step."""
    from aecodec.train.loop import initialize_from

    torch.manual_seed(0)
    narrow = MeanScaleHyperprior(HyperpriorConfig(n=8, m=8, knots=2, context_channels=8, detail_channels=4, detail_depth=2)).eval()
    wide = MeanScaleHyperprior(replace(narrow.config, n=12, hyper_channels=8))
    grown = initialize_from(wide, narrow.state_dict())
    assert {"g_a.stages.0.0.weight", "g_s.net.6.weight", "g_a.detail.2.weight"} <= set(grown)
    assert not any(name.startswith(("h_a.", "h_s.", "context.")) for name in grown)
    x, t = torch.rand(2, 3, 64, 64), torch.tensor([0.2, 0.9])
    with torch.no_grad():
        before, after = narrow(x, t), wide.eval()(x, t)
    assert all(torch.allclose(before[key], after[key], atol=1e-5) for key in ("x_hat", "y", "z"))
    wide.train()
    out = wide(x, t)
    (out["x_hat"] - x).square().mean().backward()
    assert wide.g_s.net[6].weight.grad[8:].abs().sum() > 0  # reads the new channels, which start at zero
    with pytest.raises(InputError, match="do not fit"):
        initialize_from(MeanScaleHyperprior(replace(narrow.config, n=12, hyper_channels=12)), narrow.state_dict())


def test_a_codec_grown_wider_trains_releases_exports_and_codes(tiny_run, tmp_path, monkeypatch):
    from aecodec.train.release import release

    root, config = tiny_run
    monkeypatch.setenv("AECODEC_WEIGHTS_DIR", str(tmp_path))
    parent = release(train(config, root / "parent-of-wide", log=lambda message: None), "parent", "", "", 0.0, models={})
    wide = replace(config, model=replace(config.model, n=12, hyper_channels=config.model.n), init_from=str(tmp_path / parent["file"]), steps=2)
    child = release(train(wide, root / "wide-child", log=lambda message: None), "wide", "", "", 0.0, models={"parent": parent})
    assert child["config"]["n"] == 12 and child["config"]["hyper_channels"] == 8
    assert_exports_and_codes(tmp_path, "wide", child)


def test_a_campaign_resumes_from_its_compact_checkpoint_when_the_run_folder_is_gone(tiny_run, tmp_path):
    """The compact checkpoint (half-precision EMA, step, hours) is rewritten at the best
    validation loss, and a run folder lost with its machine resumes from it at its step."""
    root, config = tiny_run
    compact = tmp_path / "campaign" / "codec.pt"
    config = replace(config, resume_from=str(compact), steps=4)
    train(config, tmp_path / "machine-1", log=lambda message: None)
    saved = torch.load(compact, weights_only=True)
    curve = [json.loads(line) for line in (tmp_path / "machine-1" / "curve.jsonl").read_text().splitlines()]
    best = min(curve, key=lambda point: point["validation_loss"])
    assert saved["step"] == best["step"] and saved["validation_loss"] == pytest.approx(best["validation_loss"])
    assert all(value.dtype == torch.float16 for value in saved["ema"].values() if value.is_floating_point())
    assert sum(saved["hours"].values()) > 0
    messages = []
    resumed = torch.load(train(replace(config, steps=saved["step"] + 2), tmp_path / "machine-2", log=messages.append), weights_only=False)
    assert any(f"compact checkpoint {compact} at step {saved['step']}" in m for m in messages)
    assert resumed["step"] == saved["step"] + 2
    assert resumed["cpu_seconds"] > sum(saved["hours"].values()) * 3600


def test_precision_follows_the_hardware_unless_the_recipe_names_one(monkeypatch):
    from aecodec.train import machine

    cpu = torch.device("cpu")
    for native in (True, False):
        monkeypatch.setattr(machine, "native_bf16", lambda native=native: native)
        assert machine.uses_bf16("auto", cpu) is native
        assert machine.uses_bf16("bf16", cpu) and not machine.uses_bf16("fp32", cpu)
    with pytest.raises(InputError, match="precision is one of"):
        machine.uses_bf16("fp16", cpu)
    assert machine.machine_kind(cpu)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            machine.resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device"):
        machine.resolve_device("abacus")


def test_two_processes_share_each_batch_under_torchrun_and_a_single_process_resumes_their_run(tiny_run, tmp_path):
    import subprocess
    import sys

    root, config = tiny_run
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(
        f'train_dir = "{config.train_dir}"\nval_dir = "{config.val_dir}"\ncrop = 64\nbatch = 2\nsteps = 4\nwarmup = 1\n'
        'validate_every = 2\nthreads = 1\nprecision = "fp32"\ncheckpoint_minutes = 0.0\n[model]\nn = 8\nm = 8\nknots = 2\n'
    )
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "aecodec.train", "--config", str(recipe), "--run-dir", str(run_dir),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    log = (run_dir / "train.log").read_text()
    assert "2 process(es) × 1 thread(s)" in log and log.count("validate step 4") == 1  # only the first process reports
    assert torch.load(run_dir / "checkpoint.pt", weights_only=False)["step"] == 4
    messages = []
    resumed = torch.load(train(replace(TrainConfig.load(recipe), steps=6), run_dir, log=messages.append), weights_only=False)
    assert any("resumed from step 4" in m for m in messages) and resumed["step"] == 6
