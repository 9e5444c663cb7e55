"""Fit and check the latent priors: a model's per-channel weights that predict an image's
PSNR and file-size curves from its latent before any rate-control trial.

Usage::

    python benchmarks/latent_priors.py [--train FOLDER] [--photos 40] [--val FOLDER] [--model ID]
        [--backend auto] [--out benchmarks/results] [--write-manifest]

Rate control (``aecodec compress --bpp/--size/--psnr``) starts where it expects the target,
and the model's typical curve misses an image's PSNR by 2.5 dB and its bits by a third in the
median. :mod:`aecodec.ratecontrol.predicted_curves` predicts the MSE at a quality as a weighted sum of the
per-channel rounding errors of the latent rounded without the entropy model's means, and the
file's bits as a weighted sum of those rounded channels' empirical entropies.

For ``--photos`` training photos (a fixed random sample of ``--train``) every quality of a
grid is compressed and decoded, and both sets of non-negative channel weights are fitted by
least squares on the relative error (scipy's NNLS). The fits are then checked on every
validation photo (``--val``) against the exact PSNR and file bits, next to the model's
typical curves (its validation curves in the manifest). Writes
``latent-priors-<model>.json``; with ``--write-manifest`` the non-zero weights go into the
model's ``latent_priors`` entry of weights/MANIFEST.json, which
:func:`aecodec.zoo.latent_prior_weights` reads.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
QUALITIES = (1, 3, 5, 8, 10, 13, 16, 20, 25, 30, 37, 45, 55, 65, 75, 85, 100)
SAMPLE_SEED = 3


class Curves:
    """One photo's exact PSNR-RGB and file bits at every quality of :data:`QUALITIES`, and the
    latent features that predict them: rounding errors and channel entropies, (qualities, M)."""

    def __init__(self, path: Path, model_id: str, backend: str) -> None:
        import aecodec
        from aecodec import assembly
        from aecodec.imageio import pad_edges
        from aecodec.metrics import psnr
        from aecodec.ratecontrol import predicted_curves
        from aecodec.train.data import load_rgb

        rgb = load_rgb(path)
        codec = assembly.load_codec(model_id, backend)
        latent = codec.analyze(pad_edges(rgb, codec.stride).transpose(2, 0, 1))
        self.pixels = rgb.shape[0] * rgb.shape[1]
        self.features = {"psnr": predicted_curves.rounding_errors(codec, latent, QUALITIES), "bits": predicted_curves.rounded_bits(codec, latent, QUALITIES)}
        psnrs, bits = [], []
        for quality in QUALITIES:
            data = aecodec.compress(rgb, quality=quality, model=model_id, backend=backend)
            bits.append(8.0 * len(data))
            psnrs.append(psnr(rgb, np.asarray(aecodec.decompress(data, backend=backend).convert("RGB"))))
        # What each fit predicts linearly: MSE (pixels in [0, 1]) and bits.
        self.targets = {"psnr": 10 ** (-np.array(psnrs) / 10), "bits": np.array(bits)}


def fit(curves: list[Curves], kind: str) -> np.ndarray:
    """Non-negative channel weights w minimising Σ (features·w / target − 1)² over every photo and quality."""
    from scipy.optimize import nnls

    features = np.concatenate([c.features[kind] for c in curves])
    targets = np.concatenate([c.targets[kind] for c in curves])
    weights, _ = nnls(features / targets[:, None], np.ones_like(targets))
    return weights


def errors(predicted: list[np.ndarray], curves: list[Curves], kind: str) -> dict[str, float]:
    """Median and 90th percentile of |predicted − exact|: dB for PSNR, |log ratio| for bits."""
    gaps = np.concatenate([np.log(p / c.targets[kind]) for p, c in zip(predicted, curves)])
    if kind == "psnr":
        gaps *= -10 / np.log(10)  # an MSE ratio in dB of PSNR
    return {"median_abs": float(np.median(np.abs(gaps))), "p90_abs": float(np.quantile(np.abs(gaps), 0.9))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, default=DATA / "train")
    parser.add_argument("--photos", type=int, default=40, help="Training photos to fit on (a fixed random sample).")
    parser.add_argument("--val", type=Path, default=DATA / "val")
    parser.add_argument("--model", default=None, help="Model id (default: the manifest's default).")
    parser.add_argument("--backend", default="auto", choices=["auto", "onnx", "torch"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--write-manifest", action="store_true", help="Record the weights in weights/MANIFEST.json.")
    args = parser.parse_args(argv)

    from aecodec import zoo
    from aecodec.train.data import list_photos

    model_id = args.model or zoo.default_model_id()
    training = list_photos(args.train)
    validation = list_photos(args.val)
    if len(training) < args.photos or not validation:
        parser.error(f"need {args.photos} photos in {args.train} and some in {args.val}")
    training = sorted(random.Random(SAMPLE_SEED).sample(training, args.photos))
    fitted_on = [Curves(path, model_id, args.backend) for path in training]
    checked = [Curves(path, model_id, args.backend) for path in validation]
    typical = zoo.validation_curves(model_id)
    typical_values = {
        "psnr": lambda c: 10 ** (-np.interp(QUALITIES, *zip(*typical["psnr"])) / 10),
        "bits": lambda c: np.interp(QUALITIES, *zip(*typical["bpp"])) * c.pixels,
    }
    result = {
        "model": model_id,
        "command": "python benchmarks/latent_priors.py" + (" --write-manifest" if args.write_manifest else ""),
        "qualities": list(QUALITIES),
        "fitted_on": {"folder": args.train.name, "photos": [path.name for path in training], "sample_seed": SAMPLE_SEED},
        "validation_photos": len(checked),
        "units": {"psnr": "dB", "bits": "|log ratio|"},
    }
    for kind in ("psnr", "bits"):
        weights = fit(fitted_on, kind)
        result[kind] = {
            "channel_weights": weights.tolist(),
            "channels_used": int((weights > 0).sum()),
            "training_error": errors([c.features[kind] @ weights for c in fitted_on], fitted_on, kind),
            "validation_error": errors([c.features[kind] @ weights for c in checked], checked, kind),
            "validation_error_typical_curve": errors([typical_values[kind](c) for c in checked], checked, kind),
        }
        report = result[kind]
        print(f"{model_id} {kind}: {report['channels_used']} of {len(weights)} channels; |predicted − exact| ({result['units'][kind]}) median / p90: "
              f"training {report['training_error']['median_abs']:.3f} / {report['training_error']['p90_abs']:.3f}, "
              f"validation {report['validation_error']['median_abs']:.3f} / {report['validation_error']['p90_abs']:.3f} "
              f"(typical curve {report['validation_error_typical_curve']['median_abs']:.3f} / {report['validation_error_typical_curve']['p90_abs']:.3f})")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"latent-priors-{model_id}.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.write_manifest:
        manifest_path = zoo.weights_dir() / zoo.MANIFEST_NAME
        manifest = json.loads(manifest_path.read_text())
        recorded = {
            "command": result["command"],
            "fitted_on": f"{len(training)} photos of {args.train.name}/, named in benchmarks/results/latent-priors-{model_id}.json",
        }
        for kind in ("psnr", "bits"):
            report = result[kind]
            recorded[kind] = {
                "validation_error": report["validation_error"],
                "validation_error_typical_curve": report["validation_error_typical_curve"],
                "units": result["units"][kind],
                "channel_weights": {str(channel): weight for channel, weight in enumerate(report["channel_weights"]) if weight > 0},
            }
        manifest["models"][model_id]["latent_priors"] = recorded
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
