"""Serve the browser page (export/web/) and one model's export folder on this machine.

    python export/web/serve.py [--port 8000] [--model MODEL_ID]

The page is static: this server only maps ``/`` to export/web/ and ``/model/`` to the model's
``aecodec export`` folder (weights/onnx/<model id>/, the default model unless ``--model``
names another), with the MIME types the browser insists on for ES modules and WebAssembly.
It sends the two cross-origin-isolation headers, without which a page gets no
SharedArrayBuffer and onnxruntime-web runs on one thread. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

WEB_DIR = Path(__file__).resolve().parent
MODEL_PREFIX = "/model/"
MIME_TYPES = {
    ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".onnx": "application/octet-stream",
}
BROWSERS = ("chromium-headless-shell", "chromium")  # Debian's; the page's driver (drive.mjs) launches one
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp", "Cache-Control": "no-cache"}


class PageHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of export/web/, with ``/model/...`` answered from the model's export folder."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}

    def __init__(self, *args, model_dir: Path, **kwargs) -> None:
        self.model_dir = model_dir
        super().__init__(*args, directory=str(WEB_DIR), **kwargs)

    def translate_path(self, path: str) -> str:
        route = unquote(urlsplit(path).path)
        if route.startswith(MODEL_PREFIX):
            name = route[len(MODEL_PREFIX) :]
            if "/" in name or name in ("", ".", ".."):
                return str(self.model_dir / "missing")  # one flat folder: no way out of it
            return str(self.model_dir / name)
        return super().translate_path(path)

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class PageServer(http.server.ThreadingHTTPServer):
    """The page's server on 127.0.0.1; ``port`` 0 takes a free one (see ``server_address``)."""

    def __init__(self, model_dir: Path, port: int = 0, verbose: bool = False) -> None:
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), functools.partial(PageHandler, model_dir=model_dir))

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def browser_executable() -> str | None:
    """Path of the first of :data:`BROWSERS` on PATH, or None."""
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


def model_folder(model_id: str | None) -> Path:
    """The export folder of ``model_id`` (the default model when None), checked to hold an export.

    Raises:
        SystemExit: No such model, or it was never exported (with the command that exports it).
    """
    from aecodec import zoo
    from aecodec.errors import AecodecError

    try:
        model_id = model_id or zoo.default_model_id()
        folder = zoo.onnx_dir(model_id)
    except AecodecError as exc:
        raise SystemExit(f"Error: {exc}") from exc
    if not (folder / "export.json").is_file():
        raise SystemExit(f"Error: {folder} holds no export of {model_id}: run `aecodec export --model {model_id}`")
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--model", default=None, help="model id whose export the page loads (default: the default model)")
    args = parser.parse_args(argv)
    if not (WEB_DIR / "node_modules" / "onnxruntime-web").is_dir():
        raise SystemExit(f"Error: onnxruntime-web is not installed: run `npm ci` in {WEB_DIR}")
    server = PageServer(model_folder(args.model), args.port, verbose=True)
    print(f"aecodec page on {server.url} (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
