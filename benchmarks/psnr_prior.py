"""Fit and check the PSNR prior: a model's per-channel weights that predict an image's PSNR
curve from its latent before any trial.

Usage::

    python benchmarks/psnr_prior.py [--train FOLDER] [--photos 40] [--val FOLDER] [--model ID]
        [--backend auto] [--out benchmarks/results] [--write-manifest]

A PSNR search (``aecodec compress --psnr``) starts where it expects the target, and the
model's typical curve misses an image's PSNR by 2.5 dB in the median. The decoded error
grows with the latent's rounding error, so the MSE at a quality is predicted as a weighted
sum of the per-channel rounding errors of the latent rounded without the entropy model's
means (:meth:`FrozenHyperprior.rounding_errors`, a few elementwise passes per quality).

For ``--photos`` training photos (a fixed random sample of ``--train``) every quality of a
grid is compressed and decoded, and the non-negative channel weights are fitted by least
squares on the relative MSE error (scipy's NNLS). The fit is then checked on every
validation photo (``--val``) against the exact PSNR, next to the model's typical curve
(its validation curve in the manifest). Writes ``psnr-prior-<model>.json``; with
``--write-manifest`` the weights go into the model's ``psnr_prior`` entry of
weights/MANIFEST.json, which :func:`aecodec.zoo.psnr_prior_weights` reads.
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


def curve_of(path: Path, model_id: str, backend: str) -> tuple[np.ndarray, np.ndarray]:
    """``(psnr, rounding_errors)`` of one photo at every quality of :data:`QUALITIES`:
    exact decoded PSNR-RGB (len(QUALITIES),) and the latent's errors (len(QUALITIES), M)."""
    import aecodec
    from aecodec import zoo
    from aecodec.imageio import pad_edges
    from aecodec.metrics import psnr
    from aecodec.train.data import load_rgb

    rgb = load_rgb(path)
    codec = zoo.load_codec(model_id, backend)
    errors = codec.rounding_errors(codec.analyse(pad_edges(rgb, codec.stride).transpose(2, 0, 1)), QUALITIES)
    decoded = []
    for quality in QUALITIES:
        data = aecodec.compress(rgb, quality=quality, model=model_id, backend=backend)
        decoded.append(psnr(rgb, np.asarray(aecodec.decompress(data, backend=backend).convert("RGB"))))
    return np.array(decoded), errors


def fit(curves: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Non-negative channel weights w minimising Σ (errors·w / mse − 1)² over every photo and quality."""
    from scipy.optimize import nnls

    errors = np.concatenate([e for _, e in curves])
    mse = np.concatenate([10 ** (-p / 10) for p, _ in curves])
    weights, _ = nnls(errors / mse[:, None], np.ones_like(mse))
    return weights


def prediction_errors(curves: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray) -> np.ndarray:
    """Predicted minus exact PSNR, (photos, qualities)."""
    return np.array([-10 * np.log10(np.maximum(e @ weights, 1e-10)) - p for p, e in curves])


def summary(errors: np.ndarray) -> dict[str, float]:
    """Median and 90th percentile of |error| in dB."""
    return {"median_abs_db": float(np.median(np.abs(errors))), "p90_abs_db": float(np.quantile(np.abs(errors), 0.9))}


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
    fitted_on = [curve_of(path, model_id, args.backend) for path in training]
    weights = fit(fitted_on)
    checked = [curve_of(path, model_id, args.backend) for path in validation]
    typical = dict(zoo.validation_curves(model_id)["psnr"])
    typical_errors = np.array([np.interp(QUALITIES, list(typical), list(typical.values())) - p for p, _ in checked])
    result = {
        "model": model_id,
        "command": "python benchmarks/psnr_prior.py" + (" --write-manifest" if args.write_manifest else ""),
        "qualities": list(QUALITIES),
        "fitted_on": {"folder": str(args.train.name), "photos": [path.name for path in training], "sample_seed": SAMPLE_SEED},
        "channel_weights": weights.tolist(),
        "channels_used": int((weights > 0).sum()),
        "training_error": summary(prediction_errors(fitted_on, weights)),
        "validation_error": summary(prediction_errors(checked, weights)),
        "validation_error_typical_curve": summary(typical_errors),
        "validation_photos": len(checked),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"psnr-prior-{model_id}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{model_id}: {result['channels_used']} of {len(weights)} channels; |predicted − exact| median / p90: "
          f"training {result['training_error']['median_abs_db']:.2f} / {result['training_error']['p90_abs_db']:.2f} dB, "
          f"validation {result['validation_error']['median_abs_db']:.2f} / {result['validation_error']['p90_abs_db']:.2f} dB "
          f"(typical curve {result['validation_error_typical_curve']['median_abs_db']:.2f} / {result['validation_error_typical_curve']['p90_abs_db']:.2f} dB)")
    if args.write_manifest:
        manifest_path = zoo.weights_dir() / zoo.MANIFEST_NAME
        manifest = json.loads(manifest_path.read_text())
        recorded = {key: result[key] for key in ("command", "qualities", "validation_error", "validation_error_typical_curve")}
        recorded["channel_weights"] = {str(channel): weight for channel, weight in enumerate(result["channel_weights"]) if weight > 0}
        recorded["fitted_on"] = f"{len(training)} photos of {args.train.name}/, named in benchmarks/results/psnr-prior-{model_id}.json"
        manifest["models"][model_id]["psnr_prior"] = recorded
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
