"""Decode and encode time of the browser page (headless Chromium) beside Python's aecodec, in one run.

    python benchmarks/web_speed.py [DIR] [--images 2] [--repeats 3] [--size 768x512] [--quality 75] [--out benchmarks/results]

Photos are picked from DIR (default ``../shared/data/val``) and fitted to the size as
``speed.py`` fits them. Python codes each with ``aecodec.compress`` / ``aecodec.decompress``
(default backend, every core); the page (export/web/, served by its ``serve.py``, driven by
``drive.mjs``) decodes Python's file and encodes the photo on onnxruntime-web's WebAssembly
backend, with 2 threads where the page is cross-origin isolated. Each side codes every photo
once untimed, then ``--repeats`` times; the table gives medians and the page-to-Python ratio.
The page times decoding from the file's bytes to its pixels and encoding from the photo's
pixels to the file's bytes, as Python's calls do. Needs ``npm ci`` in export/web and
Debian's chromium-headless-shell. Writes ``web-speed.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rd import list_images  # noqa: E402
from speed import fit, parse_size, pick  # noqa: E402

import aecodec  # noqa: E402
from aecodec.processor import cpu_kind  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WEB_DIR = REPO / "export" / "web"


def _serve_module():
    spec = importlib.util.spec_from_file_location("aecodec_web_serve", WEB_DIR / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def python_ms(photo: Image.Image, data: bytes, quality: int, repeats: int) -> tuple[list[float], list[float]]:
    """Milliseconds of ``repeats`` compressions and decompressions, after one untimed each."""
    encode, decode = [], []
    for run in range(repeats + 1):
        start = time.perf_counter()
        aecodec.compress(photo, quality=quality)
        middle = time.perf_counter()
        aecodec.decompress(data)
        end = time.perf_counter()
        if run:
            encode.append(1000 * (middle - start))
            decode.append(1000 * (end - middle))
    return encode, decode


def page_ms(files: list[tuple[Path, Path]], quality: int, repeats: int) -> tuple[list[float], list[float], bool]:
    """The page's encode and decode milliseconds over every photo (first of each untimed), and whether it was isolated."""
    serve = _serve_module()
    browser = serve.browser_executable()
    if browser is None:
        raise SystemExit("Error: headless Chromium is missing: apt-get install chromium-headless-shell")
    server = serve.PageServer(serve.model_folder(None))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    steps = []
    for photo, aec in files:
        steps += [{"file": str(aec)}] * (repeats + 1) + [{"file": str(photo), "quality": quality}] * (repeats + 1)
    try:
        run = subprocess.run(["node", "drive.mjs"], input=json.dumps({"url": server.url, "browser": browser, "steps": steps}),
                             capture_output=True, text=True, cwd=WEB_DIR, check=False, timeout=3600)
    finally:
        server.shutdown()
        server.server_close()
    if run.returncode:
        raise SystemExit(f"Error: the page driver failed:\n{run.stderr[-2000:]}")
    report = json.loads(run.stdout)
    results = report["results"]
    failed = [result["error"] for result in results if result["state"] != "done"]
    if failed:
        raise SystemExit(f"Error: the page failed: {failed[0]}")
    decode, encode = [], []
    per_photo = 2 * (repeats + 1)
    for index in range(len(files)):
        decodes = results[index * per_photo : index * per_photo + repeats + 1]
        encodes = results[index * per_photo + repeats + 1 : (index + 1) * per_photo]
        decode += [result["decodeMs"] for result in decodes[1:]]
        encode += [result["encodeMs"] for result in encodes[1:]]
    return encode, decode, report["isolated"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REPO.parent / "shared" / "data" / "val")
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=(768, 512), metavar="WxH")
    parser.add_argument("--quality", type=int, default=75)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    width, height = args.size
    paths = pick(list_images(args.folder), args.images)
    python_encode, python_decode, files = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for index, path in enumerate(paths):
            with Image.open(path) as image:
                photo = Image.fromarray(fit(image.convert("RGB"), width, height))
            photo_path, aec_path = Path(scratch) / f"photo{index}.png", Path(scratch) / f"photo{index}.aec"
            photo.save(photo_path)
            data = aecodec.compress(photo, quality=args.quality)
            aec_path.write_bytes(data)
            model = aecodec.info(data)["model"]
            files.append((photo_path, aec_path))
            encode, decode = python_ms(photo, data, args.quality, args.repeats)
            python_encode += encode
            python_decode += decode
        page_encode, page_decode, isolated = page_ms(files, args.quality, args.repeats)
    rows = {
        "python": {"decode_ms": statistics.median(python_decode), "encode_ms": statistics.median(python_encode)},
        "page": {"decode_ms": statistics.median(page_decode), "encode_ms": statistics.median(page_encode), "threads": 2 if isolated else 1},
    }
    document = {
        "name": "web-speed", "cpu": cpu_kind(), "model": model,
        "settings": {
            "folder": str(args.folder), "images": [path.name for path in paths], "size": f"{width}x{height}", "quality": args.quality, "repeats": args.repeats,
        },
        "results": rows,
        "ratios": {kind: rows["page"][kind] / rows["python"][kind] for kind in ("decode_ms", "encode_ms")},
    }
    print(f"{document['cpu']}, {width}×{height}, quality {args.quality}, {len(paths)} photos × {args.repeats}\n")
    print("| | decode ms (median) | encode ms (median) |\n|---|---:|---:|")
    print(f"| Python aecodec | {rows['python']['decode_ms']:.0f} | {rows['python']['encode_ms']:.0f} |")
    print(f"| page, headless Chromium, {rows['page']['threads']} thread(s) | {rows['page']['decode_ms']:.0f} | {rows['page']['encode_ms']:.0f} |")
    print(f"| page / Python | {document['ratios']['decode_ms']:.2f}× | {document['ratios']['encode_ms']:.2f}× |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web-speed.json").write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
