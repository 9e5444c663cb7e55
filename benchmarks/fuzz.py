"""Seeded mutation fuzzer for the .aec reader and the whole decode path: ``--count N --seed S [--crashes DIR]``.

Why: ``aecodec.info``/``decompress`` read untrusted bytes; only ``AecodecError`` may escape, nothing may
hang, no declared size may blow up memory. Random damage mostly dies at the first chunk CRC, so besides
truncations, bit flips, chunk shuffles and length lies the fuzzer rewrites chunk *contents* field by field
and recomputes the CRC: that carries mutated data into the entropy decoder, shape checks and inflaters.
"""

from __future__ import annotations

import argparse
import random
import resource
import struct
import sys
import time
import traceback
import zlib
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:  # run as a script: fuzz *this* tree's aecodec
    sys.path.insert(0, str(_REPO_ROOT))

import aecodec  # noqa: E402
from aecodec.errors import AecodecError  # noqa: E402

SIGNATURE = b"\x8bAEC\r\n\x1a\n"
HANG_SECONDS = 5.0
MEMORY_BUDGET_MIB = 256.0
DEFLATE_BOMB = zlib.compress(bytes(1 << 25), 9)  # 32 MiB in ~32 KiB: inflate limits must refuse it
Rng = random.Random
Chunks = list[tuple[bytes, bytes]]  # (type, data) in file order
# HEAD/BITS data (spec sections 5, 6): "str" = u8 length + bytes, "shape" = u8 ndim + u32s, "rest" to the end.
HEAD = (("major", "B"), ("minor", "B"), ("model", "str"), ("sha", "8s"), ("width", "I"), ("height", "I"),
        ("mode", "str"), ("quality", "H"), ("flags", "H"), ("extra", "rest"))
BITS = (("name", "str"), ("shape", "shape"), ("payload", "rest"))


@dataclass
class Report:
    """Counters of one run; ``findings`` holds (kind, summary, input bytes); ru_maxrss is in KiB on Linux."""
    inputs: int = 0
    decoded: int = 0
    refused: int = 0
    findings: list[tuple[str, str, bytes]] = field(default_factory=list)
    slowest_ms: float = 0.0
    peak_rss_mib: float = field(default_factory=lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    def line(self) -> str:
        return (f"fuzz: {self.inputs} inputs, {self.decoded} decoded, {self.refused} refused with aecodec errors, "
                f"{len(self.findings)} findings, slowest {self.slowest_ms:.0f} ms, "
                f"peak RSS {self.peak_rss_mib:.0f} MiB")


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """Waves, an edge and noise (H, W, 3) uint8: codes like a photo without shipping test images."""
    rng, (yy, xx) = np.random.default_rng(seed), np.mgrid[0:height, 0:width, 0:1][:2]
    image = 128 + 60 * np.sin(xx / 7 + rng.uniform(0, 6, 3)) * np.cos(yy / 9) + 40 * (xx > yy)
    return np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)


def make_seeds() -> list[bytes]:
    """Real files for the RGB, RGBA (ALPH chunk) and gray paths, none with an ICC profile."""
    rgba = np.dstack([photo(40, 32, 2), photo(40, 32, 3)[..., 0]])
    return [aecodec.compress(photo(48, 40, 1), quality=30), aecodec.compress(rgba, quality=70),
            aecodec.compress(photo(33, 17, 4)[..., 0], quality=90)]


def split(data: bytes) -> Chunks | None:
    """The chunks of a file whose framing is intact (CRCs ignored), or None."""
    pos, chunks = len(SIGNATURE), []
    while data.startswith(SIGNATURE) and pos < len(data):
        length = struct.unpack_from(">I", data, pos)[0] if len(data) - pos >= 12 else -1
        if not 0 <= length <= len(data) - pos - 12:
            return None
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks or None


def join(chunks: Chunks) -> bytes:
    """A file of these chunks, each with its correct CRC (over type + data)."""
    framed = (struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d)) for k, d in chunks)
    return SIGNATURE + b"".join(framed)


def unpack(layout: tuple, data: bytes) -> dict | None:
    """Chunk data as a dict of fields, or None if too short; lenient where aecodec is strict."""
    fields, pos = {}, 0
    try:
        for name, kind in layout:
            if kind == "rest":
                fields[name], pos = data[pos:], len(data)
            elif kind == "str":
                fields[name], pos = data[pos + 1 : pos + 1 + data[pos]], pos + 1 + data[pos]
            elif kind == "shape":
                fields[name], pos = list(struct.unpack_from(f">{data[pos]}I", data, pos + 1)), pos + 1 + 4 * data[pos]
            else:
                fields[name], pos = struct.unpack_from(">" + kind, data, pos)[0], pos + struct.calcsize(">" + kind)
    except (IndexError, struct.error):
        return None
    return fields


def pack(layout: tuple, fields: dict) -> bytes:
    """Inverse of :func:`unpack` for any values that fit the field widths, valid or not."""
    out = b""
    for name, kind in layout:
        value = fields[name]
        if kind in ("str", "shape"):
            out += bytes([len(value) % 256]) + (value if kind == "str" else struct.pack(f">{len(value)}I", *(v & 0xFFFFFFFF for v in value)))
        else:
            out += value if kind == "rest" else struct.pack(">" + kind, value)
    return out


def damage(rng: Rng, data: bytes) -> bytes:
    """Storage/transfer damage: truncation, 1-8 flipped bits or overwritten bytes, a splice."""
    buf, at, action = bytearray(data), rng.randrange(len(data)), rng.choice(("cut", "flip", "set", "insert", "delete"))
    if action == "insert":
        return data[:at] + rng.randbytes(rng.randint(1, 16)) + data[at:]
    if action in ("cut", "delete"):
        return data[:at] + data[at + (len(data) if action == "cut" else rng.randint(1, 16)) :]
    for _ in range(rng.randint(1, 8)):
        if action == "flip":
            bit = rng.randrange(8 * len(buf))
            buf[bit // 8] ^= 1 << bit % 8
        else:
            buf[rng.randrange(len(buf))] = rng.choice((0, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    return bytes(buf)


def reframe(rng: Rng, chunks: Chunks) -> bytes:
    """Whole chunks duplicated, dropped or swapped (CRCs valid), or a length/CRC field that lies."""
    out, i, j = list(chunks), rng.randrange(len(chunks)), rng.randrange(len(chunks))
    action = rng.choice(("duplicate", "drop", "swap", "length", "crc"))
    if action == "duplicate":
        out.insert(j, out[i])
    elif action == "drop":
        del out[i]
    elif action == "swap":
        out[i], out[j] = out[j], out[i]
    data, at = bytearray(join(out)), len(SIGNATURE) + sum(12 + len(d) for _, d in out[:i])
    if action == "length":
        true = len(out[i][1])
        lie = rng.choice((0, max(true - 1, 0), true + 1, true + 4, 2**31, 2**31 + 1, 2**32 - 1, rng.randrange(2**32)))
        data[at : at + 4] = struct.pack(">I", lie)
    elif action == "crc":
        data[at + 8 + len(out[i][1]) + rng.randrange(4)] ^= 1 << rng.randrange(8)
    return bytes(data)


def plant_chunk(rng: Rng, chunks: Chunks) -> bytes:
    """Replaces the chunk of its type or adds one: SCRC values, bad ALPH planes, ICC, unknown types."""
    if rng.random() < 0.05:
        return join(chunks[:1] + [(b"teXt", b"")] * 4100 + chunks[1:])
    plane = zlib.compress(bytes(rng.choice((0, 1, 1279, 1281, 561, 1280 * 64))))
    new = rng.choice([
        (b"SCRC", rng.randbytes(4)), (b"SCRC", rng.randbytes(4)), (b"SCRC", rng.randbytes(rng.choice((0, 3, 5)))),
        (b"ALPH", plane), (b"ALPH", plane[:-3]), (b"ALPH", plane + b"junk"), (b"ALPH", DEFLATE_BOMB),
        (b"ALPH", rng.randbytes(40)), (b"iCCP", zlib.compress(rng.randbytes(rng.randint(0, 64)))),
        (b"iCCP", rng.randbytes(20)), (b"iCCP", DEFLATE_BOMB), (b"eXIf", rng.randbytes(9)),
        (b"abcd", rng.randbytes(8)), (b"ABCD", b""), (b"AEND", b""), chunks[0]])
    same = [i for i, (kind, _) in enumerate(chunks) if kind == new[0]]
    at = rng.choice(same) if same and rng.random() < 0.7 else rng.randrange(len(chunks) + 1)
    return join(chunks[:at] + [new] + chunks[at + (at in same) :])


def resize_image(rng: Rng, chunks: Chunks) -> bytes:
    """A new HEAD size with z/y shapes that agree with it, so that the entropy decoder runs."""
    width, height, out = rng.randint(1, 1024), rng.randint(1, 1024), []
    for kind, data in chunks:
        f = unpack(HEAD, data) if kind == b"HEAD" else unpack(BITS, data) if kind == b"BITS" else None
        if kind == b"HEAD" and f:
            data = pack(HEAD, {**f, "width": width, "height": height})
        elif f and f["name"] in (b"z", b"y") and f["shape"]:
            stride = 64 if f["name"] == b"z" else 16
            data = pack(BITS, {**f, "shape": [f["shape"][0], -(-height // stride), -(-width // stride)]})
        out.append((kind, data))
    return join(out)


HEAD_VALUES = {  # wrong or boundary values per HEAD field (the seeds are 48x40, 40x32 and 33x17)
    "major": (0, 2, 255), "minor": (1, 255), "flags": (1, 0x8000), "extra": (b"\0", b"\0\0\0\0"),
    "width": (0, 1, 33, 41, 49, 65, 4096, 65535, 65536, 100000, 2**32 - 1), "sha": (bytes(8), b"\xd8\xbf\x66\xdc" * 2),
    "height": (0, 1, 16, 18, 41, 65, 4096, 65536, 100000), "quality": (0, 99, 100, 101, 9999, 10000, 10001, 65535),
    "model": (b"", b"hyperprior-v9", b"Hyperprior-v1", b"x" * 65, b"hyperprior-v1\xff"),
    "mode": (b"RGB", b"L", b"RGBA", b"LA", b"P", b"CMYK", b"I;16", b"", b"RGBAXXXXX"),
}


def mutate_bits(rng: Rng, f: dict) -> dict:
    """A BITS name, shape (one dim, or ndim) or payload (cut mostly at word boundaries, extended, replaced)."""
    key, payload, shape = rng.choice(("name", "shape", "shape", "payload", "payload")), f["payload"], f["shape"]
    if key == "name":
        f[key] = rng.choice((b"z", b"y", b"z.escape", b"y.escape", b"q", b"", b"y/escape"))
    elif key == "shape" and shape:  # one dimension changed, then maybe one dropped or added
        i = rng.randrange(len(shape))
        shape[i] = rng.choice((0, 1, shape[i] - 1, shape[i] + 1, 4 * shape[i], 2**24, 2**24 + 1, 2**32 - 1))
        f["shape"] = rng.choice((shape, shape, shape[:-1], shape + [1], [], [1] * 5, [2**24] * 3, [4096, 4096, 256]))
    elif payload:
        cut = rng.randrange(len(payload) + 1)
        f[key] = rng.choice((payload[: cut & ~3], payload[:cut], b"", payload + bytes(4 * rng.randint(1, 8)),
                             payload + rng.randbytes(4), rng.randbytes(len(payload)), damage(rng, payload)))
    return f


def recrc(rng: Rng, chunks: Chunks) -> bytes:
    """One chunk's data mutated (HEAD/BITS field-aware 70 % of the time), written with a valid CRC."""
    i = rng.randrange(len(chunks))
    kind, data = chunks[i]
    layout = {b"HEAD": HEAD, b"BITS": BITS}.get(kind)
    fields = unpack(layout, data) if layout and rng.random() < 0.7 else None
    if fields is not None and layout is HEAD:
        key = rng.choice(list(HEAD_VALUES))
        data = pack(HEAD, {**fields, key: rng.choice(HEAD_VALUES[key])})
    elif fields is not None:
        data = pack(BITS, mutate_bits(rng, fields))
    else:
        data = damage(rng, data) if data else rng.randbytes(4)
    return join(chunks[:i] + [(kind, data)] + chunks[i + 1 :])


def mutate(rng: Rng, seed: bytes) -> bytes:
    """One to three stacked mutations; half are CRC-fixed so that most get past the CRCs."""
    data = seed
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        chunks, roll = split(data), rng.random()
        if chunks and roll < 0.7:
            data = (recrc if roll < 0.5 else rng.choice((reframe, plant_chunk, plant_chunk, resize_image)))(rng, chunks)
        elif data:
            data = damage(rng, data)
    return data


def check(data: bytes, report: Report) -> tuple[str, str] | None:
    """Runs info and decompress on one input, counts it and returns its (kind, summary) finding, if any."""
    rss_before, start, finding = report.peak_rss_mib, time.perf_counter(), None
    report.inputs += 1
    try:
        with suppress(AecodecError):  # info may refuse, but only with an AecodecError
            aecodec.info(data)
        aecodec.decompress(data)
        report.decoded += 1
    except AecodecError:
        report.refused += 1
    except Exception as exc:  # anything that is not an AecodecError is what we hunt for
        frames = traceback.extract_tb(exc.__traceback__)[:-4:-1]  # the innermost three
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames)
        finding = ("exception", f"{type(exc).__name__}: {str(exc)[:160]} at {where}")
    report.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elapsed, grown = time.perf_counter() - start, report.peak_rss_mib - rss_before
    report.slowest_ms = max(report.slowest_ms, 1000 * elapsed)
    if finding is None and elapsed > HANG_SECONDS:
        finding = ("hang", f"took {elapsed:.1f} s (budget {HANG_SECONDS:g} s)")
    if finding is None and grown > MEMORY_BUDGET_MIB:
        finding = ("memory", f"peak RSS grew by {grown:.0f} MiB (budget {MEMORY_BUDGET_MIB:g} MiB)")
    return finding


def fuzz(count: int, seed: int, crashes: Path | None = None) -> Report:
    """``count`` mutants of the seed files, reproducible from ``seed``; logs each distinct finding once."""
    for data in (seeds := make_seeds()):  # warm up (model load): it must count neither as slow nor as growth
        aecodec.decompress(data)
    report, seen = Report(), set()  # after the warm-up, so that RSS growth is measured from there
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")  # one stream per input: input i replays alone
        data = mutate(rng, rng.choice(seeds))
        finding = check(data, report)
        if finding is None:
            continue
        report.findings.append((*finding, data))
        if crashes is not None:
            crashes.mkdir(parents=True, exist_ok=True)
            (crashes / f"{finding[0]}-{zlib.crc32(data):08x}.aec").write_bytes(data)
        if finding not in seen:
            seen.add(finding)
            print(f"finding: input {index}, {finding[0]}: {finding[1]}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="number of mutated inputs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations")
    parser.add_argument("--crashes", type=Path, help="folder to save the inputs of findings to")
    args = parser.parse_args(argv)
    report = fuzz(args.count, args.seed, args.crashes)
    print(report.line())
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
