"""Tests of aecodec.imageio: every input kind → what the codec codes, metadata, side payloads.

Most tests are pure imageio (no model); the last group runs small images through the codec
(``aecodec.compress``/``aecodec.decompress``) once per module and checks the mode, alpha and
metadata that come back.
"""

from __future__ import annotations

import functools
import io
import warnings
import zlib

import numpy as np
import pytest
from conftest import synthetic_photo
from PIL import Image, ImageOps

import aecodec
from aecodec import imageio
from aecodec.errors import AecodecWarning, FormatError, InputError
from aecodec.metrics import psnr

W, H = 24, 16


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return synthetic_photo(W, H, seed=3)


@pytest.fixture(scope="module")
def alpha_plane() -> np.ndarray:
    # Every value 0..255 appears, so an off-by-one or premultiplication would show.
    return (np.arange(W * H) % 256).astype(np.uint8).reshape(H, W)


def _prepare_quietly(source):
    with warnings.catch_warnings():
        warnings.simplefilter("error", AecodecWarning)  # an unexpected warning fails the test
        return imageio.prepare(source)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


# ---------------------------------------------------------------------------------------
# prepare: Pillow modes
# ---------------------------------------------------------------------------------------


def test_rgb_is_coded_as_is(rgb):
    prepared = _prepare_quietly(Image.fromarray(rgb, "RGB"))
    assert prepared.mode == "RGB"
    assert prepared.alpha is None
    assert prepared.rgb.dtype == np.uint8 and prepared.rgb.shape == (H, W, 3)
    np.testing.assert_array_equal(prepared.rgb, rgb)
    assert (prepared.width, prepared.height) == (W, H)


def test_gray_is_replicated_and_mode_l_recorded(rgb):
    gray = _gray(rgb)
    prepared = _prepare_quietly(Image.fromarray(gray, "L"))
    assert prepared.mode == "L"
    assert prepared.alpha is None
    for channel in range(3):
        np.testing.assert_array_equal(prepared.rgb[:, :, channel], gray)


def test_rgba_alpha_plane_is_exact(rgb, alpha_plane):
    image = Image.fromarray(np.dstack([rgb, alpha_plane]), "RGBA")
    prepared = _prepare_quietly(image)
    assert prepared.mode == "RGBA"
    np.testing.assert_array_equal(prepared.alpha, alpha_plane)
    # Colour is not premultiplied or altered where alpha is 0.
    np.testing.assert_array_equal(prepared.rgb, rgb)


def test_la_keeps_gray_and_alpha(rgb, alpha_plane):
    gray = _gray(rgb)
    image = Image.fromarray(np.dstack([gray, alpha_plane]), "LA")
    prepared = _prepare_quietly(image)
    assert prepared.mode == "LA"
    np.testing.assert_array_equal(prepared.alpha, alpha_plane)
    for channel in range(3):
        np.testing.assert_array_equal(prepared.rgb[:, :, channel], gray)


def _palette_image(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(rgb).quantize(colors=16)


def test_palette_without_transparency_is_expanded_to_rgb(rgb):
    image = _palette_image(rgb)
    assert image.mode == "P" and "transparency" not in image.info
    prepared = _prepare_quietly(image)
    assert prepared.mode == "RGB"
    assert prepared.alpha is None
    np.testing.assert_array_equal(prepared.rgb, np.asarray(image.convert("RGB")))
    # Really expanded: pixels are colours, not palette indices.
    assert len(np.unique(prepared.rgb.reshape(-1, 3), axis=0)) > 1
    assert not np.array_equal(prepared.rgb[:, :, 0], np.asarray(image))


def test_palette_with_transparency_becomes_rgba(rgb):
    image = _palette_image(rgb)
    transparent_index = int(np.asarray(image)[0, 0])
    image.info["transparency"] = transparent_index
    prepared = _prepare_quietly(image)
    assert prepared.mode == "RGBA"
    indices = np.asarray(image)
    np.testing.assert_array_equal(prepared.alpha, np.where(indices == transparent_index, 0, 255))
    np.testing.assert_array_equal(prepared.rgb, np.asarray(image.convert("RGB")))


def test_palette_transparency_survives_a_png_file(rgb, tmp_path):
    image = _palette_image(rgb)
    path = tmp_path / "p.png"
    image.save(path, transparency=int(np.asarray(image)[0, 0]))
    prepared = _prepare_quietly(path)
    assert prepared.mode == "RGBA"
    assert prepared.alpha[0, 0] == 0 and prepared.alpha.max() == 255


def test_bilevel_becomes_gray(rgb):
    bits = np.zeros((H, W), dtype=bool)
    bits[::2, ::3] = True
    image = Image.fromarray(bits).convert("1")
    assert image.mode == "1"
    prepared = _prepare_quietly(image)
    assert prepared.mode == "L"
    np.testing.assert_array_equal(prepared.rgb[:, :, 1], np.where(bits, 255, 0))


def test_cmyk_warns_and_becomes_rgb(rgb):
    image = Image.fromarray(rgb).convert("CMYK")
    with pytest.warns(AecodecWarning, match="CMYK"):
        prepared = imageio.prepare(image)
    assert prepared.mode == "RGB"
    assert prepared.alpha is None
    np.testing.assert_array_equal(prepared.rgb, np.asarray(image.convert("RGB")))


def test_sixteen_bit_gray_is_scaled_to_eight_bits():
    k = np.arange(256, dtype=np.uint16)
    values = np.concatenate([[0, 65535], 257 * k]).astype(np.uint16)
    image = Image.fromarray(values.reshape(2, -1))
    assert image.mode.startswith("I;16")
    with pytest.warns(AecodecWarning, match="8-bit"):
        prepared = imageio.prepare(image)
    assert prepared.mode == "L"
    flat = prepared.rgb[:, :, 0].reshape(-1)
    assert flat[0] == 0 and flat[1] == 255
    np.testing.assert_array_equal(flat[2:], np.arange(256))
    np.testing.assert_array_equal(prepared.rgb[:, :, 0], prepared.rgb[:, :, 2])


def test_sixteen_bit_png_file_is_scaled(tmp_path):
    values = np.array([[0, 257 * 10, 257 * 200, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    with pytest.warns(AecodecWarning):
        prepared = imageio.prepare(path)
    np.testing.assert_array_equal(prepared.rgb[0, :, 0], [0, 10, 200, 255])


def test_32_bit_integer_gray_is_scaled_and_clipped():
    image = Image.fromarray(np.array([[0, 257 * 7, 65535, 100_000, -5]], dtype=np.int32))
    assert image.mode == "I"
    with pytest.warns(AecodecWarning):
        prepared = imageio.prepare(image)
    assert prepared.mode == "L"
    np.testing.assert_array_equal(prepared.rgb[0, :, 0], [0, 7, 255, 255, 0])


def test_float_gray_in_unit_range_is_scaled():
    image = Image.fromarray(np.array([[0.0, 0.2, 1.0, -0.5]], dtype=np.float32))
    assert image.mode == "F"
    with pytest.warns(AecodecWarning):
        prepared = imageio.prepare(image)
    assert prepared.mode == "L"
    np.testing.assert_array_equal(prepared.rgb[0, :, 0], [0, 51, 255, 0])


def test_float_gray_in_byte_range_is_clipped():
    image = Image.fromarray(np.array([[0.0, 100.0, 300.0]], dtype=np.float32))
    with pytest.warns(AecodecWarning):
        prepared = imageio.prepare(image)
    np.testing.assert_array_equal(prepared.rgb[0, :, 0], [0, 100, 255])


# ---------------------------------------------------------------------------------------
# prepare: numpy arrays, paths and refusals
# ---------------------------------------------------------------------------------------


def test_numpy_gray(rgb):
    gray = _gray(rgb)
    prepared = _prepare_quietly(gray)
    assert prepared.mode == "L"
    np.testing.assert_array_equal(prepared.rgb[:, :, 2], gray)


def test_numpy_rgb(rgb):
    prepared = _prepare_quietly(rgb)
    assert prepared.mode == "RGB"
    np.testing.assert_array_equal(prepared.rgb, rgb)


def test_numpy_rgb_non_contiguous(rgb):
    view = rgb[:, ::-1]  # negative stride
    prepared = _prepare_quietly(view)
    np.testing.assert_array_equal(prepared.rgb, view)


def test_numpy_rgba(rgb, alpha_plane):
    prepared = _prepare_quietly(np.dstack([rgb, alpha_plane]))
    assert prepared.mode == "RGBA"
    np.testing.assert_array_equal(prepared.rgb, rgb)
    np.testing.assert_array_equal(prepared.alpha, alpha_plane)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int64])
def test_numpy_non_uint8_is_refused(rgb, dtype):
    array = rgb.astype(dtype)
    if np.issubdtype(dtype, np.floating):
        array /= 255.0
    with pytest.raises(InputError, match="uint8"):
        imageio.prepare(array)


@pytest.mark.parametrize("shape", [(8,), (4, 5, 2), (4, 5, 5), (2, 4, 5, 3)])
def test_numpy_wrong_shape_is_refused(shape):
    with pytest.raises(InputError, match="shape"):
        imageio.prepare(np.zeros(shape, dtype=np.uint8))


@pytest.mark.parametrize("source", [b"\x89PNG", 42, None, [[0, 1], [2, 3]]])
def test_non_image_object_is_refused(source):
    with pytest.raises(InputError) as info:
        imageio.prepare(source)
    assert type(source).__name__ in str(info.value)


def test_prepare_accepts_str_and_path(rgb, tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(rgb).save(path)
    for source in (path, str(path)):
        np.testing.assert_array_equal(_prepare_quietly(source).rgb, rgb)


# ---------------------------------------------------------------------------------------
# EXIF orientation and metadata
# ---------------------------------------------------------------------------------------


def _oriented_file(rgb: np.ndarray, image_format: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "aecodec test camera"  # Make: must survive orientation handling
    buffer = io.BytesIO()
    options = {"quality": 100, "subsampling": 0} if image_format == "JPEG" else {}
    Image.fromarray(rgb).save(buffer, image_format, exif=exif.tobytes(), **options)
    return buffer.getvalue()


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_exif_orientation_is_applied(rgb, image_format):
    data = _oriented_file(rgb, image_format, orientation=6)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (W, H)
        assert image.getexif().get(0x0112) == 6
        prepared = _prepare_quietly(image)
    with Image.open(io.BytesIO(data)) as image:
        upright = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    assert (prepared.width, prepared.height) == (H, W)  # swapped
    assert upright.shape == (W, H, 3)
    np.testing.assert_array_equal(prepared.rgb, upright)
    if image_format == "PNG":  # lossless: also check against a plain 270° rotation
        np.testing.assert_array_equal(prepared.rgb, np.rot90(rgb, k=-1))
    # The carried EXIF no longer says "rotate" (the pixels already are), but keeps the rest.
    assert prepared.exif is not None
    carried = Image.Exif()
    carried.load(prepared.exif)
    assert carried.get(0x0112, 1) == 1
    assert carried.get(0x010F) == "aecodec test camera"


def test_exif_orientation_is_applied_to_rgba(rgb, alpha_plane):
    exif = Image.Exif()
    exif[0x0112] = 3  # 180°
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha_plane]), "RGBA").save(buffer, "PNG", exif=exif.tobytes())
    with Image.open(buffer) as image:
        prepared = _prepare_quietly(image)
    np.testing.assert_array_equal(prepared.rgb, rgb[::-1, ::-1])
    np.testing.assert_array_equal(prepared.alpha, alpha_plane[::-1, ::-1])


def test_prepare_does_not_modify_the_callers_image(rgb):
    data = _oriented_file(rgb, "PNG", orientation=6)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        _prepare_quietly(image)
        assert image.size == (W, H)
        assert image.getexif().get(0x0112) == 6


def test_image_without_metadata_carries_none(rgb):
    prepared = _prepare_quietly(Image.fromarray(rgb))
    assert prepared.icc_profile is None
    assert prepared.exif is None
    image = imageio.to_pil(prepared.rgb, prepared.mode)
    assert "icc_profile" not in image.info and "exif" not in image.info


@functools.cache
def _icc_profile() -> bytes:
    # Cached: the profile embeds its creation time, so two calls can differ.
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_icc_profile_and_exif_are_carried_to_the_decoded_image(rgb, tmp_path):
    icc = _icc_profile()
    exif = Image.Exif()
    exif[0x010F] = "aecodec test camera"
    path = tmp_path / "meta.png"
    Image.fromarray(rgb).save(path, icc_profile=icc, exif=exif.tobytes())
    prepared = _prepare_quietly(path)
    assert prepared.icc_profile == icc
    assert prepared.exif is not None
    image = imageio.to_pil(prepared.rgb, prepared.mode, prepared.alpha, prepared.icc_profile, prepared.exif)
    assert image.info["icc_profile"] == icc
    assert image.info["exif"] == prepared.exif
    assert image.getexif().get(0x010F) == "aecodec test camera"


# ---------------------------------------------------------------------------------------
# to_pil
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "with_alpha", "expected"),
    [("RGB", False, "RGB"), ("L", False, "L"), ("RGBA", True, "RGBA"), ("LA", True, "LA")],
)
def test_to_pil_restores_the_recorded_mode(rgb, alpha_plane, mode, with_alpha, expected):
    source = rgb if mode.startswith("RGB") else np.repeat(_gray(rgb)[:, :, None], 3, axis=2)
    image = imageio.to_pil(source, mode, alpha_plane if with_alpha else None)
    assert image.mode == expected
    assert image.size == (W, H)
    if with_alpha:
        np.testing.assert_array_equal(np.asarray(image.getchannel("A")), alpha_plane)
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), source)


# ---------------------------------------------------------------------------------------
# deflate / inflate / alpha payloads
# ---------------------------------------------------------------------------------------


def test_deflate_inflate_round_trip():
    data = bytes(range(256)) * 40 + b"tail"
    payload = imageio.deflate(data)
    assert payload != data and len(payload) < len(data)
    assert imageio.inflate(payload, "test data", len(data)) == data


def test_inflate_accepts_exactly_the_limit_and_refuses_one_byte_more():
    data = b"x" * 1000
    payload = imageio.deflate(data)
    assert imageio.inflate(payload, "test data", 1000) == data
    with pytest.raises(FormatError, match="test data"):
        imageio.inflate(payload, "test data", 999)


def test_inflate_refuses_a_zip_bomb():
    bomb = zlib.compress(bytes(10 << 20), 9)
    assert len(bomb) < 20_000
    with pytest.raises(FormatError, match="ICC profile"):
        imageio.inflate(bomb, "ICC profile", 1 << 20)


def test_inflate_refuses_garbage_and_truncated_streams():
    with pytest.raises(FormatError, match="not valid deflate"):
        imageio.inflate(b"definitely not zlib", "test data", 1000)
    payload = imageio.deflate(bytes(range(256)) * 4)
    with pytest.raises(FormatError, match="truncated"):
        imageio.inflate(payload[: len(payload) // 2], "test data", 10_000)
    with pytest.raises(FormatError):
        imageio.inflate(b"", "test data", 10_000)


def test_alpha_round_trip(alpha_plane):
    payload = imageio.encode_alpha(alpha_plane)
    decoded = imageio.decode_alpha(payload, W, H)
    assert decoded.shape == (H, W) and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, alpha_plane)


def test_alpha_round_trip_of_a_non_contiguous_plane(alpha_plane):
    view = alpha_plane[:, ::-1]
    np.testing.assert_array_equal(imageio.decode_alpha(imageio.encode_alpha(view), W, H), view)


@pytest.mark.parametrize(("width", "height"), [(W, H + 1), (W - 1, H), (W + 1, H), (1, 1), (H, W - 1)])
def test_decode_alpha_refuses_the_wrong_size(alpha_plane, width, height):
    payload = imageio.encode_alpha(alpha_plane)
    with pytest.raises(FormatError, match="alpha"):
        imageio.decode_alpha(payload, width, height)


@pytest.mark.parametrize("payload", [b"", b"\x00" * 10, b"garbage that is not zlib", b"x\x9c\x01\x02\x03"])
def test_decode_alpha_refuses_garbage(payload):
    with pytest.raises(FormatError, match="alpha"):
        imageio.decode_alpha(payload, W, H)


# ---------------------------------------------------------------------------------------
# open_image
# ---------------------------------------------------------------------------------------


def _one_line_input_error(path) -> str:
    with pytest.raises(InputError) as info:
        imageio.open_image(path)
    message = str(info.value)
    assert message and "\n" not in message
    assert str(path) in message
    return message


def test_open_image_missing_file(tmp_path):
    assert "no such file" in _one_line_input_error(tmp_path / "missing.png")


def test_open_image_directory(tmp_path):
    assert "directory" in _one_line_input_error(tmp_path)


def test_open_image_text_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n" * 20)
    assert "not an image" in _one_line_input_error(path)


def test_open_image_truncated_png(rgb, tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(synthetic_photo(64, 64)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    _one_line_input_error(path)


def test_open_image_loads_the_pixels_and_closes_the_file(rgb, tmp_path):
    path = tmp_path / "ok.png"
    Image.fromarray(rgb).save(path)
    image = imageio.open_image(path)
    path.unlink()  # the pixels must already be in memory
    np.testing.assert_array_equal(np.asarray(image), rgb)


# ---------------------------------------------------------------------------------------
# Through the codec (one compression per image, shared by the module)
# ---------------------------------------------------------------------------------------

CW, CH = 64, 48


@pytest.fixture(scope="module")
def codec_inputs() -> dict[str, Image.Image]:
    rgb = synthetic_photo(CW, CH, seed=7)
    alpha = ((np.arange(CW)[None, :] * 4 + np.arange(CH)[:, None] * 3) % 256).astype(np.uint8)
    alpha[:8, :8] = 0
    alpha[-8:, -8:] = 255
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    rgba = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    rgba.info["icc_profile"] = _icc_profile()
    exif = Image.Exif()
    exif[0x010F] = "aecodec test camera"
    rgba.info["exif"] = exif.tobytes()
    return {
        "RGBA": rgba,
        "LA": Image.fromarray(np.dstack([gray, alpha]), "LA"),
        "L": Image.fromarray(gray, "L"),
        "P": Image.fromarray(rgb).quantize(colors=32),
    }


@pytest.fixture(scope="module")
def decoded(codec_inputs) -> dict[str, Image.Image]:
    import aecodec

    return {mode: aecodec.decompress(aecodec.compress(image, quality=90)) for mode, image in codec_inputs.items()}


@pytest.mark.parametrize(
    "mode, colour",
    [("RGBA", lambda image: image.convert("RGB")), ("LA", lambda image: image.getchannel("L"))],
)
def test_codec_keeps_alpha_bit_exact(codec_inputs, decoded, mode, colour):
    out, original = decoded[mode], codec_inputs[mode]
    assert out.mode == mode and out.size == (CW, CH)
    np.testing.assert_array_equal(np.asarray(out.getchannel("A")), np.asarray(original.getchannel("A")))
    assert psnr(np.asarray(colour(out)), np.asarray(colour(original))) > 20


def test_codec_rgba_carries_icc_and_exif(codec_inputs, decoded):
    out = decoded["RGBA"]
    assert out.info.get("icc_profile") == codec_inputs["RGBA"].info["icc_profile"]
    assert out.getexif().get(0x010F) == "aecodec test camera"


def test_codec_gray_comes_back_gray(codec_inputs, decoded):
    out = decoded["L"]
    assert out.mode == "L" and out.size == (CW, CH)
    assert "A" not in out.getbands()
    assert psnr(np.asarray(out), np.asarray(codec_inputs["L"])) > 20


def test_codec_palette_comes_back_rgb(codec_inputs, decoded):
    out = decoded["P"]
    assert out.mode == "RGB" and out.size == (CW, CH)
    assert psnr(np.asarray(out), np.asarray(codec_inputs["P"].convert("RGB"))) > 20


# ---------------------------------------------------------------------------------------
# Every mode Pillow produces, end to end through a file
# ---------------------------------------------------------------------------------------


def _mode_image(mode: str) -> Image.Image:
    rgb = Image.fromarray(synthetic_photo(40, 32, seed=4))
    gradient = np.linspace(0, 1, 40 * 32).reshape(32, 40)
    if mode in ("P", "PA"):
        image = rgb.quantize(64, dither=Image.Dither.NONE)
        if mode == "PA":
            image = image.convert("PA")
            image.putalpha(Image.fromarray((gradient * 255).astype(np.uint8)))
        return image
    if mode == "1":
        return rgb.convert("L").convert("1", dither=Image.Dither.NONE)
    if mode == "I;16":
        return Image.fromarray((gradient * 65535).astype(np.uint16))
    if mode == "I":
        return Image.fromarray((gradient * 65535).astype(np.int32), "I")
    if mode == "F":
        return Image.fromarray(gradient.astype(np.float32), "F")
    if mode in ("LA", "RGBA"):
        image = rgb.convert(mode)
        image.putalpha(Image.fromarray((gradient * 255).astype(np.uint8)))
        return image
    return rgb.convert(mode)


# mode → (what decompress returns, whether a conversion warning is expected)
MODE_OUTCOMES = {
    "1": ("L", False), "L": ("L", False), "LA": ("LA", False), "P": ("RGB", False), "PA": ("RGBA", False),
    "RGB": ("RGB", False), "RGBA": ("RGBA", False), "CMYK": ("RGB", True), "YCbCr": ("RGB", True),
    "I;16": ("L", True), "I": ("L", True), "F": ("L", True),
}


@pytest.mark.parametrize("mode", sorted(MODE_OUTCOMES))
def test_every_mode_round_trips_through_a_file(tmp_path, mode):
    image = _mode_image(mode)
    assert image.mode == mode
    if mode == "PA":  # no common file format stores PA: Pillow hands it over in memory
        path = image
    else:
        path = tmp_path / ("image.tiff" if mode in ("CMYK", "YCbCr", "I;16", "I", "F") else "image.png")
        image.save(path)
    expected_mode, warns = MODE_OUTCOMES[mode]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decoded = aecodec.decompress(aecodec.compress(path, quality=95))
    assert any(issubclass(w.category, AecodecWarning) for w in caught) == warns
    assert decoded.mode == expected_mode and decoded.size == image.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = imageio.prepare(path).rgb  # what was coded: the converted 8-bit colour
    # A two-level image is the hardest case for a transform codec: its edges ring.
    assert psnr(np.asarray(decoded.convert("RGB")), reference) > (20 if mode == "1" else 28)
    if "A" in expected_mode:
        np.testing.assert_array_equal(np.asarray(decoded.getchannel("A")), np.asarray(image.convert("RGBA").getchannel("A")))


def test_a_multi_frame_file_codes_its_first_frame_with_a_warning(tmp_path):
    frames = [Image.fromarray(synthetic_photo(40, 32, seed=s)).quantize(64, dither=Image.Dither.NONE) for s in (1, 2)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.warns(AecodecWarning, match="2 frames"):
        decoded = aecodec.decompress(aecodec.compress(path, quality=95))
    assert psnr(np.asarray(decoded.convert("RGB")), np.asarray(frames[0].convert("RGB"))) > 28
